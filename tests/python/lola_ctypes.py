"""A minimal ctypes wrapper of liblola's C API (capi/lola.h), for these tests only.

This is not the product binding: it covers what the tests call, mirrors the structs of lola.h
field by field, and raises LolaError (status, message) on every non-zero status.
"""

from __future__ import annotations

import ctypes as C
import os

import numpy as np

ABI_VERSION = 1

# lola_status
OK = 0
ERR_INVALID_ARGUMENT = 1
ERR_NULL_HANDLE = 2
ERR_NULL_POINTER = 3
ERR_SIZE_MISMATCH = 4
ERR_BUFFER_TOO_SMALL = 5
ERR_NON_FINITE = 6
ERR_OUT_OF_MEMORY = 7
ERR_CORRUPT_DATA = 8
ERR_VERSION_MISMATCH = 9
ERR_INCOMPATIBLE = 10
ERR_UNSUPPORTED = 11
ERR_INTERNAL = 12
ERR_IO = 13
ERR_ABORTED = 14

# lola_attention
ATTENTION_LOLA = 0
ATTENTION_FULL = 1
ATTENTION_WINDOW = 2

# feature maps (LOLA_FEATURE_MAP_AUTO and lola_feature_map)
FEATURE_MAP_AUTO = -1
FEATURE_MAP_HEDGEHOG = 0
FEATURE_MAP_PERFORMER = 1
FEATURE_MAP_ELU1 = 2
FEATURE_MAP_RELU = 3

# lola_mixing
MIXING_LOLA = 0
MIXING_LOLCATS = 1

# lola_scoring
SCORING_SRE = 0
SCORING_RECENCY = 1
SCORING_RANDOM = 2
SCORING_VALUE_NORM = 3

# lola_memory
MEMORY_WINDOW = 0
MEMORY_SPARSE = 1

FEED_ALL_LOGITS = 1

# lola_tokenize / lola_detokenize flags
TOKENIZE_ADD_SPECIAL = 1
TOKENIZE_PARSE_SPECIAL = 2
DETOKENIZE_SPECIAL = 1


class ModelParams(C.Structure):
    _fields_ = [
        ("struct_size", C.c_size_t),
        ("device", C.c_int32),
        ("device_index", C.c_int32),
        ("memory_budget", C.c_uint64),
    ]


class ModelInfo(C.Structure):
    _fields_ = [
        ("struct_size", C.c_size_t),
        ("architecture", C.c_char * 32),
        ("name", C.c_char * 128),
        ("n_layer", C.c_int32),
        ("n_head", C.c_int32),
        ("n_head_kv", C.c_int32),
        ("head_dim", C.c_int32),
        ("n_embd", C.c_int32),
        ("n_ff", C.c_int32),
        ("n_vocab", C.c_int32),
        ("n_ctx_train", C.c_int64),
        ("weight_bytes", C.c_uint64),
        ("has_lola_tensors", C.c_int32),
    ]


class ContextParams(C.Structure):
    _fields_ = [
        ("struct_size", C.c_size_t),
        ("n_threads", C.c_int32),
        ("batch_size", C.c_int32),
        ("attention", C.c_int32),
        ("chunk_size", C.c_int32),
        ("sparse_capacity", C.c_int32),
        ("feature_map", C.c_int32),
        ("feature_dim", C.c_int32),
        ("mixing", C.c_int32),
        ("scoring", C.c_int32),
        ("seed", C.c_uint64),
        ("eps", C.c_float),
        ("performer_orthogonal", C.c_int32),
        ("gate_logit", C.c_float),
    ]


class ContextInfo(C.Structure):
    _fields_ = [
        ("struct_size", C.c_size_t),
        ("n_past", C.c_int64),
        ("n_layer", C.c_int32),
        ("n_state_heads", C.c_int32),
        ("state_bytes", C.c_uint64),
        ("n_window", C.c_int64),
        ("n_sparse", C.c_int64),
        ("n_folded", C.c_int64),
        ("n_evicted", C.c_int64),
    ]


class HeadState(C.Structure):
    _fields_ = [
        ("struct_size", C.c_size_t),
        ("state_head", C.c_int32),
        ("n_window", C.c_int64),
        ("n_sparse", C.c_int64),
        ("n_folded", C.c_int64),
        ("n_evicted", C.c_int64),
        ("bytes", C.c_uint64),
    ]


class SpecialTokens(C.Structure):
    _fields_ = [
        ("struct_size", C.c_size_t),
        ("bos", C.c_int32),
        ("eos", C.c_int32),
        ("eot", C.c_int32),
        ("unk", C.c_int32),
        ("pad", C.c_int32),
    ]


class ChatMessage(C.Structure):
    _fields_ = [("role", C.c_char_p), ("content", C.c_char_p)]


def _struct_dict(s):
    out = {}
    for name, _ in s._fields_:
        v = getattr(s, name)
        out[name] = v.decode() if isinstance(v, bytes) else v
    return out


class LolaError(RuntimeError):
    def __init__(self, status, message, call):
        self.status = status
        self.message = message
        self.call = call
        super().__init__(f"{call}: status {status}: {message}")


_P = C.c_void_p
_SIGNATURES = {
    # name: (restype, argtypes)
    "lola_status_string": (C.c_char_p, [C.c_int]),
    "lola_last_error_message": (C.c_char_p, []),
    "lola_version": (C.c_char_p, []),
    "lola_abi_version": (C.c_int32, []),
    "lola_model_params_init": (C.c_int, [C.POINTER(ModelParams)]),
    "lola_model_load": (C.c_int, [C.c_char_p, C.POINTER(ModelParams), C.POINTER(_P)]),
    "lola_model_free": (None, [_P]),
    "lola_model_get_info": (C.c_int, [_P, C.POINTER(ModelInfo)]),
    "lola_context_params_init": (C.c_int, [C.POINTER(ContextParams)]),
    "lola_context_create": (C.c_int, [_P, C.POINTER(ContextParams), C.POINTER(_P)]),
    "lola_context_free": (None, [_P]),
    "lola_context_clone": (C.c_int, [_P, C.POINTER(_P)]),
    "lola_context_reset": (C.c_int, [_P]),
    "lola_context_feed": (C.c_int, [_P, C.POINTER(C.c_int32), C.c_size_t, C.c_uint32,
                                    C.POINTER(C.c_size_t)]),
    "lola_context_logits": (C.c_int, [_P, C.POINTER(C.POINTER(C.c_float)),
                                      C.POINTER(C.c_size_t), C.POINTER(C.c_size_t)]),
    "lola_context_copy_logits": (C.c_int, [_P, C.c_int64, C.POINTER(C.c_float), C.c_size_t]),
    "lola_context_get_info": (C.c_int, [_P, C.POINTER(ContextInfo)]),
    "lola_context_get_head_state": (C.c_int, [_P, C.c_int32, C.c_int32, C.POINTER(HeadState)]),
    "lola_context_get_positions": (C.c_int, [_P, C.c_int32, C.c_int32, C.c_int32,
                                             C.POINTER(C.c_int64), C.POINTER(C.c_float),
                                             C.c_size_t, C.POINTER(C.c_size_t)]),
    "lola_context_state_size": (C.c_int, [_P, C.POINTER(C.c_size_t)]),
    "lola_context_state_save": (C.c_int, [_P, C.c_void_p, C.c_size_t, C.POINTER(C.c_size_t)]),
    "lola_context_state_restore": (C.c_int, [_P, C.c_void_p, C.c_size_t]),
    "lola_tokenize": (C.c_int, [_P, C.c_char_p, C.c_size_t, C.c_uint32, C.POINTER(C.c_int32),
                                C.c_size_t, C.POINTER(C.c_size_t)]),
    "lola_detokenize": (C.c_int, [_P, C.POINTER(C.c_int32), C.c_size_t, C.c_uint32, C.c_char_p,
                                  C.c_size_t, C.POINTER(C.c_size_t)]),
    "lola_token_to_piece": (C.c_int, [_P, C.c_int32, C.c_uint32, C.c_char_p, C.c_size_t,
                                      C.POINTER(C.c_size_t)]),
    "lola_model_special_tokens": (C.c_int, [_P, C.POINTER(SpecialTokens)]),
    "lola_token_is_eog": (C.c_bool, [_P, C.c_int32]),
    "lola_chat_apply_template": (C.c_int, [_P, C.POINTER(ChatMessage), C.c_size_t, C.c_bool,
                                           C.c_char_p, C.c_size_t, C.POINTER(C.c_size_t)]),
}


class Library:
    """liblola loaded from a path (default: the environment variable LOLA_LIBRARY)."""

    def __init__(self, path: str | None = None):
        path = path or os.environ.get("LOLA_LIBRARY")
        if not path:
            raise RuntimeError("LOLA_LIBRARY is not set (path to liblola.so)")
        self.path = os.path.abspath(path)
        self.dll = C.CDLL(self.path)
        missing = []
        for name, (res, args) in _SIGNATURES.items():
            try:
                fn = getattr(self.dll, name)
            except AttributeError:
                missing.append(name)
                continue
            fn.restype = res
            fn.argtypes = args
        if missing:
            raise RuntimeError(f"{self.path} lacks the C API functions {', '.join(missing)}")
        abi = self.dll.lola_abi_version()
        if abi != ABI_VERSION:
            raise RuntimeError(f"{self.path} has ABI version {abi}, these tests expect "
                               f"{ABI_VERSION}")

    def version(self) -> str:
        return self.dll.lola_version().decode()

    def status_string(self, status: int) -> str:
        return self.dll.lola_status_string(status).decode()

    def last_error(self) -> str:
        return self.dll.lola_last_error_message().decode(errors="replace")

    def check(self, status: int, call: str):
        if status != OK:
            raise LolaError(status, self.last_error(), call)

    def load_model(self, path, memory_budget: int = 0) -> "Model":
        return Model(self, path, memory_budget)


class Model:
    def __init__(self, lib: Library, path, memory_budget: int = 0):
        self.lib = lib
        self.handle = _P()
        params = ModelParams()
        lib.check(lib.dll.lola_model_params_init(C.byref(params)), "lola_model_params_init")
        params.memory_budget = memory_budget
        lib.check(lib.dll.lola_model_load(os.fsencode(str(path)), C.byref(params),
                                          C.byref(self.handle)), "lola_model_load")

    def info(self) -> dict:
        info = ModelInfo()
        info.struct_size = C.sizeof(ModelInfo)
        self.lib.check(self.lib.dll.lola_model_get_info(self.handle, C.byref(info)),
                       "lola_model_get_info")
        return _struct_dict(info)

    def context(self, **overrides) -> "Context":
        return Context(self, **overrides)

    # -- text
    def tokenize(self, text, add_special: bool = False, parse_special: bool = False) -> list:
        """Token ids of text (str, encoded as UTF-8, or bytes taken as they are)."""
        data = text.encode() if isinstance(text, str) else bytes(text)
        flags = ((TOKENIZE_ADD_SPECIAL if add_special else 0) |
                 (TOKENIZE_PARSE_SPECIAL if parse_special else 0))
        n = C.c_size_t(0)
        self.lib.check(self.lib.dll.lola_tokenize(self.handle, data, len(data), flags, None, 0,
                                                  C.byref(n)), "lola_tokenize")
        out = (C.c_int32 * max(n.value, 1))()
        self.lib.check(self.lib.dll.lola_tokenize(self.handle, data, len(data), flags, out,
                                                  n.value, C.byref(n)), "lola_tokenize")
        return list(out[: n.value])

    def detokenize(self, tokens, special: bool = False) -> bytes:
        """The bytes of token ids (special: render special tokens as their text)."""
        ids = (C.c_int32 * max(len(tokens), 1))(*tokens)
        flags = DETOKENIZE_SPECIAL if special else 0
        n = C.c_size_t(0)
        self.lib.check(self.lib.dll.lola_detokenize(self.handle, ids, len(tokens), flags, None,
                                                    0, C.byref(n)), "lola_detokenize")
        buf = C.create_string_buffer(max(n.value, 1))
        self.lib.check(self.lib.dll.lola_detokenize(self.handle, ids, len(tokens), flags, buf,
                                                    n.value, C.byref(n)), "lola_detokenize")
        return buf.raw[: n.value]

    def token_to_piece(self, token: int, special: bool = False) -> bytes:
        flags = DETOKENIZE_SPECIAL if special else 0
        n = C.c_size_t(0)
        self.lib.check(self.lib.dll.lola_token_to_piece(self.handle, token, flags, None, 0,
                                                        C.byref(n)), "lola_token_to_piece")
        buf = C.create_string_buffer(max(n.value, 1))
        self.lib.check(self.lib.dll.lola_token_to_piece(self.handle, token, flags, buf, n.value,
                                                        C.byref(n)), "lola_token_to_piece")
        return buf.raw[: n.value]

    def special_tokens(self) -> dict:
        st = SpecialTokens()
        st.struct_size = C.sizeof(SpecialTokens)
        self.lib.check(self.lib.dll.lola_model_special_tokens(self.handle, C.byref(st)),
                       "lola_model_special_tokens")
        return _struct_dict(st)

    def token_is_eog(self, token: int) -> bool:
        return bool(self.lib.dll.lola_token_is_eog(self.handle, token))

    def apply_chat_template(self, messages, add_assistant: bool = True) -> str:
        """messages: a list of (role, content) pairs or {"role": ..., "content": ...} dicts."""
        pairs = [(m["role"], m["content"]) if isinstance(m, dict) else m for m in messages]
        arr = (ChatMessage * max(len(pairs), 1))(
            *[ChatMessage(r.encode(), c.encode()) for r, c in pairs])
        n = C.c_size_t(0)
        self.lib.check(self.lib.dll.lola_chat_apply_template(
            self.handle, arr, len(pairs), add_assistant, None, 0, C.byref(n)),
            "lola_chat_apply_template")
        buf = C.create_string_buffer(n.value + 1)
        self.lib.check(self.lib.dll.lola_chat_apply_template(
            self.handle, arr, len(pairs), add_assistant, buf, n.value + 1, C.byref(n)),
            "lola_chat_apply_template")
        return buf.raw[: n.value].decode()

    def close(self):
        if self.handle:
            self.lib.dll.lola_model_free(self.handle)
            self.handle = _P()

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class Context:
    """One lola_context. Keyword overrides are fields of lola_context_params (attention,
    chunk_size, sparse_capacity, feature_map, feature_dim, mixing, scoring, batch_size,
    n_threads, seed, eps, performer_orthogonal, gate_logit); the rest keep lola_context_params_init's
    defaults."""

    def __init__(self, model: Model, _handle=None, **overrides):
        self.model = model           # keeps the Python model object (and its handle) alive
        self.lib = model.lib
        if _handle is not None:
            self.handle = _handle
            return
        params = ContextParams()
        self.lib.check(self.lib.dll.lola_context_params_init(C.byref(params)),
                       "lola_context_params_init")
        names = {n for n, _ in ContextParams._fields_} - {"struct_size"}
        for key, value in overrides.items():
            if key not in names:
                raise TypeError(f"unknown lola_context_params field {key!r}")
            setattr(params, key, value)
        self.params = _struct_dict(params)
        self.handle = _P()
        self.lib.check(self.lib.dll.lola_context_create(model.handle, C.byref(params),
                                                        C.byref(self.handle)),
                       "lola_context_create")

    # -- feeding and logits
    def feed(self, tokens, all_logits: bool = False) -> int:
        """Feeds token ids; returns how many were fed. Raises LolaError on any error."""
        arr = np.ascontiguousarray(np.asarray(tokens, dtype=np.int32).reshape(-1))
        n_fed = C.c_size_t(0)
        flags = FEED_ALL_LOGITS if all_logits else 0
        status = self.lib.dll.lola_context_feed(
            self.handle, arr.ctypes.data_as(C.POINTER(C.c_int32)), arr.size, flags,
            C.byref(n_fed))
        self.lib.check(status, "lola_context_feed")
        return n_fed.value

    def logits(self) -> np.ndarray:
        """A copy of the last feed's logits, float32 (n_rows, n_vocab)."""
        ptr = C.POINTER(C.c_float)()
        rows = C.c_size_t(0)
        vocab = C.c_size_t(0)
        self.lib.check(self.lib.dll.lola_context_logits(self.handle, C.byref(ptr), C.byref(rows),
                                                        C.byref(vocab)), "lola_context_logits")
        n = rows.value * vocab.value
        out = np.ctypeslib.as_array(ptr, shape=(n,)).copy() if n else np.zeros(0, np.float32)
        return out.reshape(rows.value, vocab.value)

    def copy_logits(self, row: int = -1) -> np.ndarray:
        n_vocab = self.model.info()["n_vocab"]
        out = np.zeros(n_vocab, dtype=np.float32)
        self.lib.check(self.lib.dll.lola_context_copy_logits(
            self.handle, row, out.ctypes.data_as(C.POINTER(C.c_float)), out.size),
            "lola_context_copy_logits")
        return out

    # -- inspection
    def info(self) -> dict:
        info = ContextInfo()
        info.struct_size = C.sizeof(ContextInfo)
        self.lib.check(self.lib.dll.lola_context_get_info(self.handle, C.byref(info)),
                       "lola_context_get_info")
        return _struct_dict(info)

    def head_state(self, layer: int, head: int) -> dict:
        st = HeadState()
        st.struct_size = C.sizeof(HeadState)
        self.lib.check(self.lib.dll.lola_context_get_head_state(self.handle, layer, head,
                                                                C.byref(st)),
                       "lola_context_get_head_state")
        return _struct_dict(st)

    def get_positions(self, layer: int, head: int, memory: int, with_scores: bool = False):
        """Positions (int64 array) of one memory; with_scores: also the sparse scores."""
        n = C.c_size_t(0)
        self.lib.check(self.lib.dll.lola_context_get_positions(
            self.handle, layer, head, memory, None, None, 0, C.byref(n)),
            "lola_context_get_positions")
        pos = np.zeros(n.value, dtype=np.int64)
        scores = np.zeros(n.value, dtype=np.float32) if with_scores else None
        self.lib.check(self.lib.dll.lola_context_get_positions(
            self.handle, layer, head, memory, pos.ctypes.data_as(C.POINTER(C.c_int64)),
            scores.ctypes.data_as(C.POINTER(C.c_float)) if with_scores else None,
            pos.size, C.byref(n)), "lola_context_get_positions")
        return (pos, scores) if with_scores else pos

    # -- state
    def save(self) -> bytes:
        size = C.c_size_t(0)
        self.lib.check(self.lib.dll.lola_context_state_size(self.handle, C.byref(size)),
                       "lola_context_state_size")
        buf = C.create_string_buffer(size.value)
        written = C.c_size_t(0)
        self.lib.check(self.lib.dll.lola_context_state_save(self.handle, buf, size.value,
                                                            C.byref(written)),
                       "lola_context_state_save")
        return buf.raw[: written.value]

    def restore(self, blob: bytes):
        buf = C.create_string_buffer(bytes(blob), len(blob))
        self.lib.check(self.lib.dll.lola_context_state_restore(self.handle, buf, len(blob)),
                       "lola_context_state_restore")

    def clone(self) -> "Context":
        out = _P()
        self.lib.check(self.lib.dll.lola_context_clone(self.handle, C.byref(out)),
                       "lola_context_clone")
        return Context(self.model, _handle=out)

    def reset(self):
        self.lib.check(self.lib.dll.lola_context_reset(self.handle), "lola_context_reset")

    def close(self):
        if self.handle:
            self.lib.dll.lola_context_free(self.handle)
            self.handle = _P()

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
