"""liblola for Python: LoLA (sparse-caching linear attention) inference.

    import lola
    with lola.Model("model.gguf") as model, model.create_context(sparse_capacity=64) as ctx:
        ctx.feed(model.tokenize("The capital of France is"))
        print(ctx.generate_text(32))

Classes: :class:`Model`, :class:`Context`, :class:`Sampler`, :class:`Layer`; errors derive
from :class:`LolaError`. See docs/bindings/python.md.
"""

from __future__ import annotations

try:
    from . import _lola
except ImportError as exc:  # a missing or unloadable liblola.so.<ABI>
    raise ImportError(f"lola: cannot load the native extension lola._lola: {exc}") from exc

from ._abi import EXPECTED_ABI_VERSION, check_abi

check_abi(_lola.abi_version(), _lola.COMPILED_ABI_VERSION, EXPECTED_ABI_VERSION)

from .context import Context, Generated  # noqa: E402
from .enums import Attention, Device, FeatureMap, Memory, Mixing, Scoring  # noqa: E402
from .errors import *  # noqa: E402,F401,F403
from .errors import __all__ as _error_names  # noqa: E402
from .layer import Layer  # noqa: E402
from .model import Model, describe  # noqa: E402
from .sampler import Sampler  # noqa: E402

__version__ = _lola.version()
abi_version = _lola.abi_version
set_log_enabled = _lola.set_log_enabled

__all__ = ["Model", "Context", "Generated", "Sampler", "Layer", "describe", "check_abi",
           "abi_version", "set_log_enabled", "Attention", "Device", "FeatureMap", "Memory",
           "Mixing", "Scoring", "EXPECTED_ABI_VERSION", *_error_names]
