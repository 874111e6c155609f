"""The ctypes mirror of liblola's C API, generated from capi/lola.h when it is imported.

Nothing of the header is typed here by hand: the constants (every `#define LOLA_*` and enum
value, also without their `LOLA_` prefix: `ERR_IO`, `ATTENTION_FULL`), the structs (as
`ctypes.Structure` classes named after them: `lola_context_params`, ...; the usual ones also as
`ContextParams`, `AttentionParams`, ...) and every `LOLA_API` function's signature are read from
the header, so a changed header changes the mirror. The tests of tests/python and the benchmark
bench/llamacpp share this one module. Above it: thin helpers (Library, Model, Context) that raise
LolaError (status, message) on every non-zero status. This is not the product binding (that is
bindings/python); it exists so the tests can check the C library against independent references.

The header: $LOLA_HEADER, else capi/lola.h of this source tree.
"""

from __future__ import annotations

import ctypes as C
import os
import re

import numpy as np

HEADER = os.environ.get("LOLA_HEADER") or os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "..", "capi", "lola.h")

_SCALARS = {
    "size_t": C.c_size_t, "int32_t": C.c_int32, "int64_t": C.c_int64, "uint32_t": C.c_uint32,
    "uint64_t": C.c_uint64, "float": C.c_float, "double": C.c_double, "bool": C.c_bool,
    "int": C.c_int, "char": C.c_char, "void": None,
}


def _c_int(literal: str) -> int:
    """The value of a C integer literal (decimal, hex or octal, with a sign and suffixes)."""
    digits = literal.strip().rstrip("uUlL")
    sign, digits = (-1, digits[1:].strip()) if digits.startswith("-") else (1, digits)
    if digits[:2] in ("0x", "0X"):
        return sign * int(digits, 16)
    return sign * int(digits, 8 if len(digits) > 1 and digits[0] == "0" else 10)


def _strip_comments(text: str) -> str:
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    return re.sub(r"//[^\n]*", " ", text)


class Header:
    """What lola.h declares: constants, enums, opaque handles, function-pointer types, structs
    and functions, as ctypes objects."""

    def __init__(self, path: str = HEADER):
        self.path = os.path.abspath(path)
        with open(self.path, encoding="utf-8") as f:
            text = _strip_comments(f.read())
        self.constants: dict[str, int] = {}
        self.enums: dict[str, dict[str, int]] = {}
        for m in re.finditer(r"^\s*#\s*define\s+(LOLA_\w+)(.*)$", text, re.M):
            name, value = m.group(1), m.group(2).strip()
            if name == "LOLA_API" or not value:  # the export macro, the include guard
                continue
            number = re.fullmatch(r"\(?\s*(-?\s*(?:0[xX][0-9a-fA-F]+|\d+)[uUlL]*)\s*\)?", value)
            if not number:
                raise ValueError(f"{self.path}: cannot read the value of {name}: {value!r}")
            self.constants[name] = _c_int(number.group(1))
        for m in re.finditer(r"typedef\s+enum\s+(\w+)\s*\{(.*?)\}\s*\1\s*;", text, re.S):
            values, nxt = {}, 0
            for item in filter(None, (x.strip() for x in m.group(2).split(","))):
                name, _, value = (t.strip() for t in item.partition("="))
                nxt = _c_int(value) if value else nxt
                values[name] = nxt
                nxt += 1
            self.enums[m.group(1)] = values
            self.constants.update(values)
        self.types: dict[str, object] = dict(_SCALARS)
        for name in self.enums:
            self.types[name] = C.c_int
        self.opaque = set(re.findall(r"typedef\s+struct\s+(\w+)\s+\1\s*;", text))
        for m in re.finditer(r"typedef\s+([\w\s\*]+?)\s*\(\s*\*\s*(\w+)\s*\)\s*\((.*?)\)\s*;", text, re.S):
            res = self._type(m.group(1))
            args = [self._param(p)[0] for p in self._split(m.group(3))]
            self.types[m.group(2)] = C.CFUNCTYPE(res, *args)
        self.structs: dict[str, type] = {}
        for m in re.finditer(r"typedef\s+struct\s+(\w+)\s*\{(.*?)\}\s*\1\s*;", text, re.S):
            fields = []
            for decl in filter(None, (d.strip() for d in m.group(2).split(";"))):
                arr = re.match(r"(.*?)\s*\[\s*(\d+)\s*\]$", decl)
                ctype, name = self._param(arr.group(1) if arr else decl)
                fields.append((name, ctype * int(arr.group(2)) if arr else ctype))
            cls = type(m.group(1), (C.Structure,), {"_fields_": fields})
            self.structs[m.group(1)] = cls
            self.types[m.group(1)] = cls
        self.functions: dict[str, tuple] = {}
        for m in re.finditer(r"LOLA_API\s+([\w\s\*]+?)\s*\b(lola_\w+)\s*\((.*?)\)\s*;", text, re.S):
            params = [] if m.group(3).strip() == "void" else [self._param(p)[0] for p in self._split(m.group(3))]
            self.functions[m.group(2)] = (self._type(m.group(1)), params)

    @staticmethod
    def _split(params: str) -> list[str]:
        return [p.strip() for p in params.split(",") if p.strip() and p.strip() != "void"]

    def _type(self, spec: str):
        spec = spec.replace("const", " ").strip()
        stars = spec.count("*")
        base = spec.replace("*", " ").split()[-1]
        if base in self.opaque:
            return C.c_void_p if stars == 1 else C.POINTER(C.c_void_p)
        if base == "char" and stars == 1:
            return C.c_char_p
        if base == "void" and stars >= 1:
            return C.c_void_p if stars == 1 else C.POINTER(C.c_void_p)
        if base not in self.types:
            raise ValueError(f"{self.path}: unknown type {spec!r}")
        t = self.types[base]
        for _ in range(stars):
            t = C.POINTER(t)
        return t

    def _param(self, decl: str):
        m = re.match(r"(.*?[\s\*])(\w+)$", decl.strip())
        if not m:
            raise ValueError(f"{self.path}: cannot read the declaration {decl!r}")
        return self._type(m.group(1)), m.group(2)


_H = Header()
for _name, _value in _H.constants.items():
    globals()[_name] = _value
    globals()[_name[len("LOLA_"):]] = _value
OK = _H.constants["LOLA_OK"]
ABI_VERSION = _H.constants["LOLA_ABI_VERSION"]
for _name, _cls in _H.structs.items():
    globals()[_name] = _cls
# The structs the helpers below use, by shorter names.
AttentionParams = _H.structs["lola_attention_params"]
ModelParams = _H.structs["lola_model_params"]
ModelInfo = _H.structs["lola_model_info"]
ContextParams = _H.structs["lola_context_params"]
ContextInfo = _H.structs["lola_context_info"]
HeadState = _H.structs["lola_head_state"]
SpecialTokens = _H.structs["lola_special_tokens"]
ChatMessage = _H.structs["lola_chat_message"]


def _struct_dict(s):
    out = {}
    for name, _ in s._fields_:
        v = getattr(s, name)
        out[name] = v.decode() if isinstance(v, bytes) else v
    return out


def _bytes(n: int):
    """A byte buffer for the size-query calls (Library.sized) of n bytes (at least 1)."""
    return C.create_string_buffer(max(n, 1)), n


class LolaError(RuntimeError):
    def __init__(self, status, message, call):
        self.status = status
        self.message = message
        self.call = call
        super().__init__(f"{call}: status {status}: {message}")


_P = C.c_void_p


class Library:
    """liblola loaded from a path (default: the environment variable LOLA_LIBRARY)."""

    def __init__(self, path: str | None = None):
        path = path or os.environ.get("LOLA_LIBRARY")
        if not path:
            raise RuntimeError("LOLA_LIBRARY is not set (path to liblola.so)")
        self.path = os.path.abspath(path)
        self.dll = C.CDLL(self.path)
        missing = []
        for name, (res, args) in _H.functions.items():
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

    def filled(self, name: str, cls, *args) -> dict:
        """The info struct `cls` (struct_size set to its size) filled by the lola function
        `name`(*args, &struct), as a dict."""
        s = cls()
        s.struct_size = C.sizeof(cls)
        self.check(getattr(self.dll, name)(*args, C.byref(s)), name)
        return _struct_dict(s)

    def sized(self, name: str, alloc, *args):
        """The size-query convention: `name`(*args, NULL, 0, &n) tells n, alloc(n) gives a
        (buffer, capacity) for it, `name`(*args, buffer, capacity, &n) fills it. Returns
        (buffer, n)."""
        fn = getattr(self.dll, name)
        n = C.c_size_t(0)
        self.check(fn(*args, None, 0, C.byref(n)), name)
        buf, capacity = alloc(n.value)
        self.check(fn(*args, buf, capacity, C.byref(n)), name)
        return buf, n.value

    def load_model(self, path, memory_budget: int = 0) -> "Model":
        return Model(self, path, memory_budget)


class _Owned:
    """An object owning one liblola handle: close() (also at the end of a `with` block, and at
    garbage collection) releases it with the lola_*_free function named by `_free`, once."""

    _free = ""
    handle = _P()

    def close(self):
        if self.handle:
            getattr(self.lib.dll, self._free)(self.handle)
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


class Model(_Owned):
    _free = "lola_model_free"

    def __init__(self, lib: Library, path, memory_budget: int = 0):
        self.lib = lib
        self.handle = _P()
        params = ModelParams()
        lib.check(lib.dll.lola_model_params_init(C.byref(params)), "lola_model_params_init")
        params.memory_budget = memory_budget
        lib.check(lib.dll.lola_model_load(os.fsencode(str(path)), C.byref(params),
                                          C.byref(self.handle)), "lola_model_load")

    def info(self) -> dict:
        return self.lib.filled("lola_model_get_info", ModelInfo, self.handle)

    def context(self, **overrides) -> "Context":
        return Context(self, **overrides)

    # -- text
    def tokenize(self, text, add_special: bool = False, parse_special: bool = False) -> list:
        """Token ids of text (str, encoded as UTF-8, or bytes taken as they are)."""
        data = text.encode() if isinstance(text, str) else bytes(text)
        flags = ((TOKENIZE_ADD_SPECIAL if add_special else 0) |
                 (TOKENIZE_PARSE_SPECIAL if parse_special else 0))
        out, n = self.lib.sized("lola_tokenize", lambda n: ((C.c_int32 * max(n, 1))(), n),
                                self.handle, data, len(data), flags)
        return list(out[:n])

    def detokenize(self, tokens, special: bool = False) -> bytes:
        """The bytes of token ids (special: render special tokens as their text)."""
        ids = (C.c_int32 * max(len(tokens), 1))(*tokens)
        flags = DETOKENIZE_SPECIAL if special else 0
        buf, n = self.lib.sized("lola_detokenize", _bytes, self.handle, ids, len(tokens), flags)
        return buf.raw[:n]

    def token_to_piece(self, token: int, special: bool = False) -> bytes:
        flags = DETOKENIZE_SPECIAL if special else 0
        buf, n = self.lib.sized("lola_token_to_piece", _bytes, self.handle, token, flags)
        return buf.raw[:n]

    def special_tokens(self) -> dict:
        return self.lib.filled("lola_model_special_tokens", SpecialTokens, self.handle)

    def token_is_eog(self, token: int) -> bool:
        return bool(self.lib.dll.lola_token_is_eog(self.handle, token))

    def apply_chat_template(self, messages, add_assistant: bool = True) -> str:
        """messages: a list of (role, content) pairs or {"role": ..., "content": ...} dicts."""
        pairs = [(m["role"], m["content"]) if isinstance(m, dict) else m for m in messages]
        arr = (ChatMessage * max(len(pairs), 1))(
            *[ChatMessage(r.encode(), c.encode()) for r, c in pairs])
        buf, n = self.lib.sized("lola_chat_apply_template",
                                lambda n: (C.create_string_buffer(n + 1), n + 1),  # and the NUL
                                self.handle, arr, len(pairs), add_assistant)
        return buf.raw[:n].decode()



class Context(_Owned):
    """One lola_context. Keyword overrides are fields of lola_context_params (batch_size,
    n_threads, gate_logit) or of the lola_attention_params it points at (attention, chunk_size,
    sparse_capacity, feature_map, feature_dim, mixing, scoring, seed, eps,
    performer_orthogonal); the rest keep the *_init defaults."""

    _free = "lola_context_free"

    def __init__(self, model: Model, _handle=None, **overrides):
        self.model = model           # keeps the Python model object (and its handle) alive
        self.lib = model.lib
        if _handle is not None:
            self.handle = _handle
            return
        params = ContextParams()
        self.lib.check(self.lib.dll.lola_context_params_init(C.byref(params)),
                       "lola_context_params_init")
        attention = AttentionParams()
        self.lib.check(self.lib.dll.lola_attention_params_init(C.byref(attention)),
                       "lola_attention_params_init")
        own = {n for n, _ in ContextParams._fields_} - {"struct_size", "attention"}
        shared = {n for n, _ in AttentionParams._fields_} - {"struct_size"}
        for key, value in overrides.items():
            if key in own:
                setattr(params, key, value)
            elif key in shared:
                setattr(attention, key, value)
            else:
                raise TypeError(f"unknown lola_context_params / lola_attention_params field {key!r}")
        params.attention = C.pointer(attention)  # `attention` lives through the create call
        # the fields as given (MODEL_DEFAULT unresolved); "attention" is the lola_attention value
        self.params = {**_struct_dict(params), **_struct_dict(attention)}
        del self.params["struct_size"]
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
        return self.lib.filled("lola_context_get_info", ContextInfo, self.handle)

    def head_state(self, layer: int, head: int) -> dict:
        return self.lib.filled("lola_context_get_head_state", HeadState, self.handle, layer, head)

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

