"""Reading .safetensors files with numpy alone (no torch, bfloat16 included).

Format: an 8-byte little-endian header length N, N bytes of JSON mapping each tensor name to
{"dtype", "shape", "data_offsets": [begin, end]} (offsets relative to the byte after the
header), optionally "__metadata__", then the data. Tensors are memory-mapped and only read
when asked for, so an 8B model's shards cost no memory until each tensor is converted.
"""

from __future__ import annotations

import json
import os
import struct

import numpy as np

from .safe_pt import CheckpointError, bf16_to_f32

_DTYPES = {
    "F64": np.dtype("<f8"), "F32": np.dtype("<f4"), "F16": np.dtype("<f2"),
    "BF16": np.dtype("<u2"), "I64": np.dtype("<i8"), "I32": np.dtype("<i4"),
    "I16": np.dtype("<i2"), "I8": np.dtype("i1"), "U8": np.dtype("u1"), "BOOL": np.dtype("?"),
}

_MAX_HEADER = 100 << 20


class SafetensorsFile:
    """The tensors of one .safetensors file: names, shapes, and arrays read on demand."""

    def __init__(self, path):
        self.path = str(path)
        size = os.path.getsize(self.path)
        with open(self.path, "rb") as f:
            head = f.read(8)
            if len(head) != 8:
                raise CheckpointError(f"{self.path}: too short for a safetensors file")
            (n,) = struct.unpack("<Q", head)
            if n > _MAX_HEADER or 8 + n > size:
                raise CheckpointError(f"{self.path}: header length {n} is not plausible")
            try:
                header = json.loads(f.read(n))
            except (UnicodeDecodeError, json.JSONDecodeError) as e:
                raise CheckpointError(f"{self.path}: header is not JSON: {e}") from None
        if not isinstance(header, dict):
            raise CheckpointError(f"{self.path}: header is not a JSON object")
        self.metadata = header.pop("__metadata__", None) or {}
        self._start = 8 + n
        self._size = size
        self._entries = {}
        for name, e in header.items():
            try:
                dtype = _DTYPES[e["dtype"]]
                shape = tuple(int(s) for s in e["shape"])
                begin, end = (int(x) for x in e["data_offsets"])
            except (KeyError, TypeError, ValueError):
                raise CheckpointError(
                    f"{self.path}: tensor '{name}' has an unsupported or malformed entry "
                    f"{e!r:.120}") from None
            count = int(np.prod(shape, dtype=np.int64)) if shape else 1
            if end - begin != count * dtype.itemsize or begin < 0 or self._start + end > size:
                raise CheckpointError(
                    f"{self.path}: tensor '{name}' of shape {shape} {e['dtype']} has data "
                    f"offsets [{begin}, {end}] that do not fit")
            self._entries[name] = (e["dtype"], dtype, shape, begin)
        self._map = None

    def names(self):
        return list(self._entries)

    def shape(self, name):
        return self._entries[name][2]

    def dtype_name(self, name):
        return self._entries[name][0]

    def get(self, name) -> np.ndarray:
        """The tensor as a numpy array: float types as float32 (f64 kept), others as stored."""
        kind, dtype, shape, begin = self._entries[name]
        if self._map is None:
            self._map = np.memmap(self.path, dtype=np.uint8, mode="r")
        count = int(np.prod(shape, dtype=np.int64)) if shape else 1
        raw = self._map[self._start + begin: self._start + begin + count * dtype.itemsize]
        arr = raw.view(dtype).reshape(shape)
        if kind == "BF16":
            return bf16_to_f32(arr)
        if kind == "F16":
            return arr.astype(np.float32)
        return arr


class SafetensorsFolder:
    """Every tensor of the *.safetensors files of a folder (a sharded checkpoint) by name."""

    def __init__(self, folder):
        self.folder = str(folder)
        files = sorted(f for f in os.listdir(self.folder) if f.endswith(".safetensors"))
        if not files:
            raise CheckpointError(f"{self.folder}: no *.safetensors files")
        index = os.path.join(self.folder, "model.safetensors.index.json")
        if os.path.isfile(index):
            with open(index, encoding="utf-8") as f:
                wanted = sorted(set(json.load(f).get("weight_map", {}).values()))
            missing = [w for w in wanted if w not in files]
            if missing:
                raise CheckpointError(f"{self.folder}: shards named by the index are missing: "
                                      f"{', '.join(missing)}")
            files = wanted
        self._where = {}
        for name in files:
            st = SafetensorsFile(os.path.join(self.folder, name))
            for t in st.names():
                if t in self._where:
                    raise CheckpointError(f"{self.folder}: tensor '{t}' is in two shards")
                self._where[t] = st

    def names(self):
        return list(self._where)

    def __contains__(self, name):
        return name in self._where

    def shape(self, name):
        return self._where[name].shape(name)

    def dtype_name(self, name):
        return self._where[name].dtype_name(name)

    def get(self, name):
        if name not in self._where:
            raise CheckpointError(f"{self.folder}: tensor '{name}' is missing")
        return self._where[name].get(name)
