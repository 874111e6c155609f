"""The ABI check run at import: the extension, the library it loaded and this package must
agree on LOLA_ABI_VERSION (lola.h: bindings refuse a mismatch)."""

from __future__ import annotations

#: The LOLA_ABI_VERSION this Python package was written for.
EXPECTED_ABI_VERSION = 2


def check_abi(library: int, compiled: int, expected: int = EXPECTED_ABI_VERSION) -> None:
    """Raise ImportError unless the three ABI versions are equal.

    Args:
        library: ``lola_abi_version()`` of the liblola actually loaded.
        compiled: LOLA_ABI_VERSION of the lola.h the extension was compiled against.
        expected: the version this Python package was written for.
    """
    if library == compiled == expected:
        return
    raise ImportError(
        f"liblola ABI mismatch: the loaded library has ABI version {library}, the lola._lola "
        f"extension was compiled against ABI {compiled}, and this lola package expects ABI "
        f"{expected}. Reinstall the liblola Python package so that all three come from the "
        f"same build (a wheel carries its own liblola; check LD_LIBRARY_PATH for another one)."
    )
