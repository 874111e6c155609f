"""The native extension lola._lola, loaded on first use and checked once: the extension, the
liblola it loaded and this package must agree on LOLA_ABI_VERSION (lola.h: bindings refuse a
mismatch). Every module over the extension imports it from here, never directly."""

from __future__ import annotations

try:
    from . import _lola
except ImportError as exc:  # a missing or unloadable liblola.so.<ABI>
    raise ImportError(f"lola: cannot load the native extension lola._lola: {exc}") from exc

from ._abi import EXPECTED_ABI_VERSION, check_abi

check_abi(_lola.abi_version(), _lola.COMPILED_ABI_VERSION, EXPECTED_ABI_VERSION)

__all__ = ["_lola"]
