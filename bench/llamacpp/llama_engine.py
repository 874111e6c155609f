"""llama_engine.py: llama.cpp's side of compare.py, through llama-cpp-python's low-level bindings (imported only where used)."""

from __future__ import annotations

import ctypes as C
import os

import numpy as np



def llama_backend():
    import llama_cpp
    if not getattr(llama_backend, "done", False):
        llama_cpp.llama_backend_init()
        llama_backend.done = True
    return llama_cpp


class LlamaEngine:
    """One llama.cpp model and context (CPU only, its default context parameters except
    n_ctx and the thread counts). feed() evaluates tokens in batches of n_batch, logits for
    the last token only, positions following what the context holds."""

    def __init__(self, model_path: str, n_ctx: int, threads: int, flash_attn: str = "default"):
        ll = llama_backend()
        self.ll = ll
        mp = ll.llama_model_default_params()
        mp.n_gpu_layers = 0
        self.model = ll.llama_model_load_from_file(os.fsencode(model_path), mp)
        if not self.model:
            raise RuntimeError(f"llama.cpp could not load {model_path}")
        cp = ll.llama_context_default_params()
        cp.n_ctx = n_ctx
        cp.n_threads = threads
        cp.n_threads_batch = threads
        if flash_attn != "default":
            value = {"on": 1, "off": 0, "auto": -1}[flash_attn]
            if hasattr(cp, "flash_attn_type"):
                cp.flash_attn_type = value
            else:
                cp.flash_attn = value == 1
        self.ctx = ll.llama_init_from_model(self.model, cp)
        if not self.ctx:
            raise RuntimeError("llama.cpp could not create the context")
        self.n_batch = int(ll.llama_n_batch(self.ctx))
        self.n_ctx = int(ll.llama_n_ctx(self.ctx))
        self.vocab = ll.llama_model_get_vocab(self.model)
        self.n_vocab = int(ll.llama_vocab_n_tokens(self.vocab))
        self.params = {name: (getattr(cp, name) if isinstance(getattr(cp, name),
                                                              (int, float, bool)) else None)
                       for name, _ in cp._fields_}
        self.params = {k: v for k, v in self.params.items() if v is not None}

    def reset(self):
        ll = self.ll
        if hasattr(ll, "llama_get_memory"):
            ll.llama_memory_clear(ll.llama_get_memory(self.ctx), True)
        else:
            ll.llama_kv_self_clear(self.ctx)

    def feed(self, tokens: np.ndarray):
        tokens = np.ascontiguousarray(tokens, dtype=np.int32)
        ptr_type = C.POINTER(self.ll.llama_token)
        for start in range(0, tokens.size, self.n_batch):
            part = tokens[start:start + self.n_batch]
            batch = self.ll.llama_batch_get_one(part.ctypes.data_as(ptr_type), part.size)
            rc = self.ll.llama_decode(self.ctx, batch)
            if rc != 0:
                raise RuntimeError(f"llama_decode returned {rc}")

    def logits(self) -> np.ndarray:
        ptr = self.ll.llama_get_logits_ith(self.ctx, -1)
        return np.ctypeslib.as_array(ptr, shape=(self.n_vocab,))

    def close(self):
        if self.ctx:
            self.ll.llama_free(self.ctx)
            self.ctx = None
        if self.model:
            self.ll.llama_model_free(self.model)
            self.model = None


def llama_tokenize(model_path: str, text: str, special: bool) -> np.ndarray:
    """llama.cpp's tokenizer (vocabulary only), adding BOS/EOS where the model says."""
    ll = llama_backend()
    if not hasattr(llama_tokenize, "model"):
        mp = ll.llama_model_default_params()
        mp.vocab_only = True
        llama_tokenize.model = ll.llama_model_load_from_file(os.fsencode(model_path), mp)
        if not llama_tokenize.model:
            raise RuntimeError(f"llama.cpp could not load the vocabulary of {model_path}")
    vocab = ll.llama_model_get_vocab(llama_tokenize.model)
    data = text.encode("utf-8")
    cap = len(data) + 16
    buf = (ll.llama_token * cap)()
    n = ll.llama_tokenize(vocab, data, len(data), buf, cap, True, special)
    if n < 0:
        raise RuntimeError("llama_tokenize: buffer too small")
    return np.array(buf[:n], dtype=np.int32)


def llama_piece(model_path: str, token: int) -> str:
    ll = llama_backend()
    llama_tokenize(model_path, "", False)  # loads the vocabulary
    vocab = ll.llama_model_get_vocab(llama_tokenize.model)
    buf = C.create_string_buffer(256)
    n = ll.llama_token_to_piece(vocab, int(token), buf, 256, 0, True)
    return buf.raw[:max(n, 0)].decode("utf-8", errors="replace")
