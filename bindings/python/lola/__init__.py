"""liblola for Python: LoLA (sparse-caching linear attention) inference.

    import lola
    with lola.Model("model.gguf") as model, model.create_context(sparse_capacity=64) as ctx:
        ctx.feed(model.tokenize("The capital of France is"))
        print(ctx.generate_text(32))

Classes: :class:`Model`, :class:`Context`, :class:`Sampler`, :class:`Layer`; errors derive
from :class:`LolaError`. See docs/bindings/python.md.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any, List

from ._abi import EXPECTED_ABI_VERSION, check_abi
from .enums import Attention, Device, FeatureMap, Memory, Mixing, Scoring
from .errors import *  # noqa: F401,F403
from .errors import __all__ as _error_names

# The classes over the native extension load it (and check its ABI, see _native.py) on first
# use, not at `import lola`: the enums and error classes then import where the extension is
# not built, e.g. from a source tree with PYTHONPATH=bindings/python. (The LoLCATs converter is
# not in this package: it is tools/convert, which never imports lola.)
_LAZY = {"Model": "model", "describe": "model", "Context": "context", "Generated": "context",
         "Layer": "layer", "Sampler": "sampler"}
_NATIVE = {"__version__": "version", "abi_version": "abi_version",
           "set_log_enabled": "set_log_enabled"}

if TYPE_CHECKING:
    from .context import Context, Generated
    from .layer import Layer
    from .model import Model, describe
    from .sampler import Sampler


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    elif name in _NATIVE:
        from ._native import _lola

        value = getattr(_lola, _NATIVE[name])
        if name == "__version__":
            value = value()
    else:
        raise AttributeError(f"module 'lola' has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> List[str]:
    return sorted(set(globals()) | set(_LAZY) | set(_NATIVE))


__all__ = ["Model", "Context", "Generated", "Sampler", "Layer", "describe", "check_abi",
           "abi_version", "set_log_enabled", "Attention", "Device", "FeatureMap", "Memory",
           "Mixing", "Scoring", "EXPECTED_ABI_VERSION", *_error_names]
