"""Fixtures of the Python binding's tests: the tiny test model that tests/ writes (a random
2-layer Llama whose 97-token vocabulary holds the printable ASCII characters, one token each,
and "<|endoftext|>" = EOS). ctest passes its path in LOLA_TEST_MODEL."""

import os

import pytest


@pytest.fixture(scope="session")
def tiny_model_path():
    """Path of the tiny test model (LOLA_TEST_MODEL); the test is skipped when it is unset."""
    path = os.environ.get("LOLA_TEST_MODEL")
    if not path:
        pytest.skip("LOLA_TEST_MODEL is not set (ctest sets it)")
    if not os.path.exists(path):
        pytest.fail(f"LOLA_TEST_MODEL={path} does not exist (build the lola_test_model target)")
    return path


@pytest.fixture(scope="module")
def model(tiny_model_path):
    """The tiny model, loaded once per test file."""
    import lola
    with lola.Model(tiny_model_path) as m:
        yield m
