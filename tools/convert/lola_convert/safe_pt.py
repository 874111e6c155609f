"""Reading PyTorch ``.pt`` checkpoints without running their pickle code, and without torch.

A ``torch.save`` file (PyTorch >= 1.6) is a zip archive: ``<dir>/data.pkl`` is a pickle of the
saved object in which every tensor is a call ``torch._utils._rebuild_tensor_v2(storage, offset,
size, stride, ...)`` and every storage a persistent id ``('storage', torch.FloatStorage, key,
location, numel)`` whose bytes are the member ``<dir>/data/<key>``.

A pickle may call any importable function, so loading one with ``pickle``/``torch.load`` runs
whatever the file's author wrote. ``load`` uses an unpickler that knows only the handful of
globals a state dict needs (tensor and parameter rebuilders, storage types, OrderedDict) and
maps each to a local numpy implementation; any other global raises ``UnsafePickleError`` naming
it, before anything is called. Tensors come back as numpy arrays (bfloat16 widened to float32).
"""

from __future__ import annotations

import collections
import io
import pickle
import zipfile

import numpy as np


class CheckpointError(ValueError):
    """A checkpoint that cannot be read: not a torch zip file, corrupt, or unsupported."""


class UnsafePickleError(CheckpointError):
    """The pickle names a global outside the allowed set; nothing it names was called."""


# storage class name -> numpy dtype of one element as stored (bfloat16 is read as uint16)
_STORAGE_DTYPES = {
    "FloatStorage": np.dtype("<f4"),
    "DoubleStorage": np.dtype("<f8"),
    "HalfStorage": np.dtype("<f2"),
    "BFloat16Storage": np.dtype("<u2"),
    "LongStorage": np.dtype("<i8"),
    "IntStorage": np.dtype("<i4"),
    "ShortStorage": np.dtype("<i2"),
    "CharStorage": np.dtype("i1"),
    "ByteStorage": np.dtype("u1"),
    "BoolStorage": np.dtype("?"),
}


class _StorageType:
    """Stands for torch.<X>Storage in the pickle: a name and its element dtype."""

    def __init__(self, name):
        self.name = name
        self.dtype = _STORAGE_DTYPES[name]
        self.bf16 = name == "BFloat16Storage"


class _Storage:
    """One storage's elements, read from the archive member when the pickle asks for it."""

    def __init__(self, storage_type, data: np.ndarray):
        self.type = storage_type
        self.data = data


class _TensorType:
    """Stands for torch.Tensor / torch.nn.Parameter as a type argument."""


def bf16_to_f32(raw: np.ndarray) -> np.ndarray:
    """bfloat16 bit patterns (uint16) to float32: the 16 bits are float32's upper half."""
    return (raw.astype(np.uint32) << 16).view(np.float32)


def _rebuild_tensor(storage, storage_offset, size, stride, *_ignored):
    if not isinstance(storage, _Storage):
        raise CheckpointError("a tensor's storage is not a storage of this archive")
    size = tuple(int(s) for s in size)
    stride = tuple(int(s) for s in stride)
    offset = int(storage_offset)
    data = storage.data
    if len(size) != len(stride) or any(s < 0 for s in size) or any(s < 0 for s in stride):
        raise CheckpointError(f"a tensor has an invalid size {size} or stride {stride}")
    n = int(np.prod(size, dtype=np.int64)) if size else 1
    if n > 0:
        last = offset + sum((d - 1) * s for d, s in zip(size, stride))
        if offset < 0 or last >= data.size:
            raise CheckpointError(
                f"a tensor of size {size} at offset {offset} reaches past its storage of "
                f"{data.size} elements")
        item = data.itemsize
        view = np.lib.stride_tricks.as_strided(
            data[offset:], shape=size, strides=tuple(s * item for s in stride), writeable=False)
        arr = np.array(view)  # a contiguous copy owned by the caller
    else:
        arr = np.zeros(size, dtype=data.dtype)
    return bf16_to_f32(arr) if storage.type.bf16 else arr


def _rebuild_parameter(data, requires_grad=False, backward_hooks=None, *_state):
    return data


def _rebuild_from_type_v2(func, new_type, args, state):
    if new_type is not _TensorType:
        raise UnsafePickleError("a tensor subclass other than torch.Tensor/Parameter is refused")
    return func(*args)


def _ordered_dict(*args):
    return collections.OrderedDict(*args)


# (module, name) -> what it means here. Nothing else may appear in a checkpoint's pickle.
_ALLOWED = {
    ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor,
    ("torch._utils", "_rebuild_tensor"): _rebuild_tensor,
    ("torch._utils", "_rebuild_parameter"): _rebuild_parameter,
    ("torch._utils", "_rebuild_parameter_with_state"): _rebuild_parameter,
    ("torch._tensor", "_rebuild_from_type_v2"): _rebuild_from_type_v2,
    ("torch", "Tensor"): _TensorType,
    ("torch.nn.parameter", "Parameter"): _TensorType,
    ("collections", "OrderedDict"): _ordered_dict,
}
for _name in _STORAGE_DTYPES:
    _ALLOWED[("torch", _name)] = _StorageType(_name)


class _RestrictedUnpickler(pickle.Unpickler):
    def __init__(self, file, archive: zipfile.ZipFile, prefix: str, path: str):
        super().__init__(file)
        self._archive = archive
        self._prefix = prefix
        self._path = path
        self._storages = {}

    def find_class(self, module, name):
        target = _ALLOWED.get((module, name))
        if target is None:
            raise UnsafePickleError(
                f"{self._path}: refusing to load: its pickle calls '{module}.{name}', which is "
                f"not one of the tensor-rebuilding globals a checkpoint needs (nothing was "
                f"executed)")
        return target

    def persistent_load(self, pid):
        if not (isinstance(pid, tuple) and len(pid) >= 5 and pid[0] == "storage"):
            raise CheckpointError(f"{self._path}: unsupported persistent id {pid!r:.80}")
        storage_type, key, _location, numel = pid[1], str(pid[2]), pid[3], int(pid[4])
        if not isinstance(storage_type, _StorageType):
            raise CheckpointError(f"{self._path}: storage {key} has an unknown type")
        if key not in self._storages:
            member = f"{self._prefix}data/{key}"
            try:
                raw = self._archive.read(member)
            except KeyError:
                raise CheckpointError(f"{self._path}: storage member '{member}' is missing") from None
            need = numel * storage_type.dtype.itemsize
            if len(raw) < need:
                raise CheckpointError(
                    f"{self._path}: storage '{member}' has {len(raw)} bytes, {need} needed")
            data = np.frombuffer(raw, dtype=storage_type.dtype, count=numel)
            self._storages[key] = _Storage(storage_type, data)
        return self._storages[key]


def load(path) -> object:
    """The object saved in a torch zip checkpoint, with tensors as numpy arrays.

    Raises CheckpointError (not a zip checkpoint, missing members, bad shapes) or
    UnsafePickleError (a global outside the allowed set). Never imports torch.
    """
    path = str(path)
    if not zipfile.is_zipfile(path):
        raise CheckpointError(
            f"{path}: not a zip-format torch checkpoint (files saved by torch < 1.6 or with "
            f"_use_new_zipfile_serialization=False are not supported; re-save them with a "
            f"recent torch)")
    with zipfile.ZipFile(path) as archive:
        pkls = [n for n in archive.namelist() if n.endswith("data.pkl")]
        if len(pkls) != 1:
            raise CheckpointError(f"{path}: expected one data.pkl in the archive, found {len(pkls)}")
        prefix = pkls[0][: -len("data.pkl")]
        order = f"{prefix}byteorder"
        if order in archive.namelist() and archive.read(order).strip() != b"little":
            raise CheckpointError(f"{path}: big-endian checkpoints are not supported")
        data = archive.read(pkls[0])
        try:
            return _RestrictedUnpickler(io.BytesIO(data), archive, prefix, path).load()
        except CheckpointError:
            raise
        except (pickle.UnpicklingError, EOFError, TypeError, ValueError, IndexError,
                AttributeError) as e:
            raise CheckpointError(f"{path}: corrupt pickle: {e}") from None
