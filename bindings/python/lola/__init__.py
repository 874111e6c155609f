"""liblola for Python: LoLA (sparse-caching linear attention) inference.

    import lola
    with lola.Model("model.gguf") as model, model.create_context(sparse_capacity=64) as ctx:
        ctx.feed(model.tokenize("The capital of France is"))
        print(ctx.generate_text(32))

Classes: :class:`Model`, :class:`Context`, :class:`Sampler`, :class:`Layer`; errors derive
from :class:`LolaError`. See docs/bindings/python.md.
"""

from __future__ import annotations

# First the native extension and its ABI check (ImportError on a mismatch): the enums and the
# status codes of the error classes take their values from it.
from ._native import _lola
from ._abi import EXPECTED_ABI_VERSION, check_abi
from .enums import Attention, Device, FeatureMap, Memory, Mixing, Scoring
from .errors import *  # noqa: F401,F403
from .errors import __all__ as _error_names
from .model import Model, describe
from .context import Context, Generated
from .layer import Layer
from .sampler import Sampler

__version__: str = _lola.version()
abi_version = _lola.abi_version
set_log_enabled = _lola.set_log_enabled

__all__ = ["Model", "Context", "Generated", "Sampler", "Layer", "describe", "check_abi",
           "abi_version", "set_log_enabled", "Attention", "Device", "FeatureMap", "Memory",
           "Mixing", "Scoring", "EXPECTED_ABI_VERSION", *_error_names]
