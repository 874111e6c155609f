"""lola.Layer: one standalone LoLA attention layer (``lola_layer``) with numpy in and out."""

from __future__ import annotations

from typing import Any, Dict, Optional, Tuple

import numpy as np

from ._native import _lola
from ._handle import Closable
from ._params import fill_with_attention, resolve_attention
from .enums import Memory


class Layer(Closable):
    """One multi-head attention layer's memory system without a model: per head a sliding
    window, a sparse cache of at most ``sparse_capacity`` pairs chosen by self-recall error,
    and a linear-attention state (lola.h describes the maths).

    Keyword arguments, each defaulting to the C library's value. The layer's shapes and
    weights (lola_layer_params_init): ``n_heads``, ``n_kv_heads``, ``head_dim``,
    ``n_threads``, ``softmax_scale`` (0: 1/sqrt(head_dim)), ``window_factors``
    (``(n_heads,)`` gate logits), ``hedgehog_q`` / ``hedgehog_k`` (``(n_heads, head_dim,
    feature_dim/2)``; feature_dim defaults to twice the last dimension). The attention
    settings, the same keywords as :class:`lola.Context`'s (lola_attention_params_init):
    ``attention`` ("lola", "full", "window"), ``chunk_size`` (default 64), ``sparse_capacity``
    (default 64), ``feature_map`` ("auto": hedgehog with hedgehog weights, else performer;
    "hedgehog", "performer", "elu1", "relu", "precomputed"), ``feature_dim``, ``mixing``
    (default "lola"), ``scoring``, ``performer_orthogonal``, ``seed``, ``eps``.

    Shapes: q ``(T, n_heads, head_dim)``, k and v ``(T, n_kv_heads, head_dim)``, outputs
    ``(T, n_heads, head_dim)``; float32 (other dtypes are converted).

    Raises:
        InvalidArgumentError, NonFiniteError, SizeMismatchError: bad parameters or weights.
        TypeError: an unknown keyword.
    """

    def __init__(self, **params) -> None:
        self.params = _lola.LayerParams()
        attention = fill_with_attention(self.params, params)
        self._native = _lola.Layer(self.params, attention)

    @staticmethod
    def resolve_attention(**attention) -> Dict[str, Any]:
        """The attention settings a layer gets from these keywords (the attention ones of
        :class:`Layer`), every field given: omitted, ``chunk_size`` and ``sparse_capacity``
        are 64 and ``mixing`` is ``Mixing.LOLA`` (lola_attention_params_resolve without a
        model); the rest keep the C defaults. See :meth:`lola.Model.resolve_attention`.

        Raises:
            TypeError: a keyword that is not an attention setting.
        """
        return resolve_attention(None, attention)

    @classmethod
    def _wrap(cls, params, native) -> "Layer":
        layer = cls.__new__(cls)
        layer.params, layer._native = params, native
        return layer

    def __repr__(self) -> str:
        if self.closed:
            return "<lola.Layer (closed)>"
        i = self.info
        return (f"<lola.Layer n_heads={i.n_heads} n_kv_heads={i.n_kv_heads} "
                f"head_dim={i.head_dim} n_tokens={i.n_tokens}>")

    def feed(self, q: np.ndarray, k: np.ndarray, v: np.ndarray, *,
             fq: Optional[np.ndarray] = None, fk: Optional[np.ndarray] = None,
             compute_output: bool = True) -> Optional[np.ndarray]:
        """Feed T tokens and return their attention outputs ``(T, n_heads, head_dim)``.

        The result equals feeding the tokens one at a time. With the "precomputed" feature
        map pass ``fq`` and ``fk`` (``(T, n_heads, feature_dim)``). ``compute_output=False``
        only updates the cache and returns None. Releases the GIL while computing.

        Raises:
            SizeMismatchError: an array's shape does not match the layer.
            NonFiniteError: NaN or infinity in an input (nothing is fed).
            UnsupportedError: fq/fk missing for, or given to, the wrong feature map.
        """
        return self._native.feed(q, k, v, fq, fk, compute_output)

    @property
    def info(self) -> "_lola.LayerInfo":
        """Shapes and totals (``lola_layer_info``), n_tokens and bytes included."""
        return self._native.info()

    def head_state(self, head: int) -> "_lola.HeadState":
        """The cache counts of query head ``head``."""
        return self._native.head_state(head)

    def window_positions(self, head: int) -> np.ndarray:
        """Token positions (int64) in the window of one query head (every position, for the
        full-attention baseline)."""
        return self._native.positions(head, int(Memory.WINDOW))

    def sparse_positions(self, head: int) -> Tuple[np.ndarray, np.ndarray]:
        """Token positions (int64) in the sparse cache of one query head and their scores."""
        return self._native.positions(head, int(Memory.SPARSE))

    def save_state(self) -> bytes:
        """The layer's state as a versioned, checksummed blob."""
        return self._native.save_state()

    def restore_state(self, blob: bytes) -> None:
        """Restore a blob saved by a layer with the same parameters; on any error the layer is
        unchanged (CorruptDataError, VersionMismatchError, IncompatibleError)."""
        self._native.restore_state(blob)

    def clone(self) -> "Layer":
        """An independent deep copy (parameters and cache)."""
        return Layer._wrap(self.params, self._native.clone())

    def reset(self) -> None:
        """Forget every token, keeping the parameters and weights."""
        self._native.reset()
