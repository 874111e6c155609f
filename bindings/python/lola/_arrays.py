"""Argument conversion shared by the wrappers: token sequences to int32 arrays."""

from __future__ import annotations

import numpy as np

from .errors import InvalidArgumentError

_I32 = np.iinfo(np.int32)


def tokens_array(tokens) -> np.ndarray:
    """A 1-D int32 array of token ids from a list, tuple, range or integer numpy array. Floats
    and values outside int32 are refused rather than silently truncated."""
    arr = np.asarray(tokens)
    if arr.dtype == np.int32:
        return arr
    if arr.size == 0:
        return arr.astype(np.int32)
    if arr.dtype.kind not in "iu":
        raise TypeError(f"token ids must be integers, got an array of {arr.dtype}")
    if arr.min() < _I32.min or arr.max() > _I32.max:
        raise InvalidArgumentError("a token id is outside the int32 range")
    return arr.astype(np.int32)
