"""liblola for Python: LoLA (sparse-caching linear attention) inference.

    import lola
    with lola.Model("SmolLM2-135M-Instruct.Q4_1.gguf") as model:
        print(model.complete("The capital of France is", 16, temperature=0)["choices"][0]["text"])
        reply = model.chat([{"role": "user", "content": "Hi!"}], 32, temperature=0)
        print(reply["choices"][0]["message"]["content"])

        with model.create_context(chunk_size=16, sparse_capacity=8) as ctx:   # the cache
            ctx.feed(model.tokenize("The capital of France is Paris. " * 8))
            print(ctx.sparse_positions(layer=0, head=0))

Classes: :class:`Model` (with ``complete``/``chat``, llama-cpp-python's shapes),
:class:`Context`, :class:`Sampler`, :class:`Layer`; errors derive from :class:`LolaError`.
See docs/bindings/python.md.
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
from .completion import CompletionStream
from .layer import Layer
from .sampler import Sampler
from .batch import Batch
from . import eval  # noqa: E402  lola.eval: the evaluation suite (not in __all__)

__version__: str = _lola.version()
abi_version = _lola.abi_version
set_log_enabled = _lola.set_log_enabled


def device_count(device=Device.CUDA) -> int:
    """How many devices of a kind (a :class:`Device`, its int or its name) this process can use:
    1 for the CPU; for CUDA the GPUs the driver reports, 0 without a driver or a GPU."""
    from .enums import to_int
    return _lola.device_count(to_int(Device, device))

__all__ = ["Model", "Context", "Batch", "Generated", "CompletionStream", "Sampler", "Layer", "describe", "check_abi",
           "abi_version", "set_log_enabled", "device_count", "Attention", "Device", "FeatureMap", "Memory",
           "Mixing", "Scoring", "EXPECTED_ABI_VERSION", *_error_names]
