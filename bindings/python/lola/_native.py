"""The native extension lola._lola, loaded when the package is imported and checked once: the
extension, the liblola it loaded and this package must agree on LOLA_ABI_VERSION (lola.h:
bindings refuse a mismatch at load). Every module over the extension imports it from here,
never directly: the enums and status codes too, whose values the extension carries from lola.h."""

from __future__ import annotations

try:
    from . import _lola
except ImportError as exc:  # a missing or unloadable liblola.so.<ABI>
    raise ImportError(f"lola: cannot load the native extension lola._lola: {exc}") from exc

from ._abi import EXPECTED_ABI_VERSION, check_abi

check_abi(_lola.abi_version(), _lola.LOLA_ABI_VERSION, EXPECTED_ABI_VERSION)

__all__ = ["_lola"]
