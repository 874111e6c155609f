"""lola_engine.py: liblola's side of compare.py, over the one ctypes mirror of the C API
(tests/python/lola_ctypes.py, generated from capi/lola.h when imported: no struct, constant or
signature is typed here). Found through a path relative to this file."""

from __future__ import annotations

import ctypes as C
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests",
                                "python"))
import lola_ctypes as L  # noqa: E402

Library = L.Library
LOLA_ATTENTION_LOLA = L.ATTENTION_LOLA
LOLA_ATTENTION_FULL = L.ATTENTION_FULL


class LolaEngine:
    """One liblola model and context; feed() takes int32 token arrays. Raises L.LolaError
    (status and liblola's message) when a call fails."""

    def __init__(self, lib_path: str, model_path: str, attention: int, threads: int,
                 chunk: int = 64, sparse: int = 64):
        lib = L.Library(lib_path)
        self.version = lib.version()
        model = L.Model(lib, model_path)  # the context keeps it alive
        self.model_info = model.info()
        self.n_vocab = self.model_info["n_vocab"]
        self._context = model.context(n_threads=threads, attention=attention, chunk_size=chunk,
                                      sparse_capacity=sparse)
        # the scalar settings (a pointer field such as layer_attention is not a setting to log)
        self.params = {k: (None if isinstance(v, float) and np.isnan(v) else v)
                       for k, v in self._context.params.items()
                       if isinstance(v, (int, float, str, bool))}
        self._lib = lib
        self._ptr = C.POINTER(C.c_float)()
        self._rows = C.c_size_t(0)
        self._vocab = C.c_size_t(0)

    def reset(self):
        self._context.reset()

    def feed(self, tokens: np.ndarray, all_logits: bool = False):
        self._context.feed(tokens, all_logits=all_logits)

    def logits(self) -> np.ndarray:
        """A view of the last row of the logits (valid until the next feed)."""
        self._lib.check(self._lib.dll.lola_context_logits(
            self._context.handle, C.byref(self._ptr), C.byref(self._rows),
            C.byref(self._vocab)), "lola_context_logits")
        rows, vocab = self._rows.value, self._vocab.value
        full = np.ctypeslib.as_array(self._ptr, shape=(rows * vocab,))
        return full[(rows - 1) * vocab:]

    def state_bytes(self) -> int:
        return int(self._context.info()["state_bytes"])

    def close(self):
        self._context.close()
