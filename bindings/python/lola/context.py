"""lola.Context: one inference stream over a model: feed tokens, read logits, inspect and save
the LoLA cache, generate text."""

from __future__ import annotations

import codecs
from typing import Dict, Iterator, NamedTuple, Optional, Sequence, Tuple

import numpy as np

from ._native import _lola
from ._arrays import tokens_array
from ._handle import Closable
from ._params import fill_with_attention, layer_attention
from .enums import Memory
from .model import Model
from .sampler import Sampler


class Generated(NamedTuple):
    """One step of :meth:`Context.generate`.

    ``text`` is the decoded text this token completes: empty while a UTF-8 character is
    split across tokens, several characters when it finishes one. The texts of all steps
    join to the generated text. The very last item may have ``token=None``: it carries the
    replacement character of bytes left incomplete when generation stopped.
    """

    token: Optional[int]
    text: str


class Context(Closable):
    """An inference stream over a :class:`lola.Model` (``lola_context``): every attention
    layer of the model runs as a LoLA layer (or a baseline) with its own cache.

    The parameters are keyword arguments; each omitted one keeps the C library's default.
    The context's own (lola_context_params_init): ``n_threads``, ``batch_size``,
    ``gate_logit`` (NaN: the model's gates, or g = 0.5). The attention settings, the same
    keywords as :class:`lola.Layer`'s (lola_attention_params_init): ``attention`` ("lola",
    "full", "window"), ``chunk_size`` (C: chunk and window unit), ``sparse_capacity``
    (lambda), ``feature_map`` ("auto", "hedgehog", "performer", "elu1", "relu"),
    ``feature_dim``, ``mixing`` ("lola", "lolcats"), ``scoring`` ("sre", "recency", "random",
    "value_norm"), ``performer_orthogonal``, ``seed``, ``eps``; omitted, ``chunk_size``,
    ``sparse_capacity`` and ``mixing`` are the model's (:meth:`lola.Model.resolve_attention`
    shows them) and ``feature_map`` is hedgehog when the model carries LoLA tensors, else
    performer. ``layer_attention``: None (default), every layer computes ``attention``; or one
    entry per layer of the model, each an attention ("lola", "full", "window") or None for
    ``attention``'s: a hybrid, e.g. a few layers kept as full attention (their cache grows).

    The context keeps its model alive. Use it from one thread at a time (calls from several
    threads are serialised by a lock); contexts on one model run in parallel, the GIL being
    released while they compute.

    Raises:
        InvalidArgumentError: a parameter out of range (the feature map "precomputed" too).
        TypeError: an unknown keyword.
    """

    def __init__(self, model: Model, **params) -> None:
        params = dict(params)
        kinds = layer_attention(params)
        native_params = _lola.ContextParams()
        attention = fill_with_attention(native_params, params)
        self.model = model
        self._native = _lola.Context(model._native, native_params, attention, kinds)

    @classmethod
    def _wrap(cls, model: Model, native: "_lola.Context") -> "Context":
        ctx = cls.__new__(cls)
        ctx.model = model
        ctx._native = native
        return ctx

    def __repr__(self) -> str:
        if self.closed:
            return "<lola.Context (closed)>"
        return f"<lola.Context n_past={self.n_past}>"

    # ---- feeding and logits -------------------------------------------------------------
    def feed(self, tokens: Sequence[int], *, all_logits: bool = False) -> int:
        """Feed token ids (a list or an integer numpy array): a prompt is processed in
        batches, one token is a decode step. Returns the number of tokens fed.

        Computes the logits of the last token (of every token with ``all_logits``). Any
        earlier :attr:`logits` view becomes stale. Releases the GIL while computing.

        Raises:
            InvalidArgumentError: empty input or an id outside ``[0, n_vocab)`` (nothing fed).
            AbortedError: :meth:`request_abort` stopped it; the tokens before were fed.
        """
        return self._native.feed(tokens_array(tokens), all_logits)

    @property
    def logits(self) -> np.ndarray:
        """The last fed token's logits, ``(n_vocab,)`` float32, as a read-only zero-copy view
        of the library's buffer.

        Lifetime: its values are the current ones until the next call that mutates this
        context (feed, generate, reset, restore_state); after that it shows the newer logits
        in the same memory, and :meth:`is_current` returns False for it. The view keeps the
        native memory alive (also through close()): liblola keeps the buffer in place, and a
        feed that would move it (``all_logits`` with more rows than any earlier feed) raises
        ``BufferError`` while views exist, as Python refuses to resize a buffer with exports.
        Use :meth:`logits_copy` for values to keep.

        Raises:
            UnsupportedError: nothing fed since creation, reset or restore.
        """
        return self._native.logits(False)

    @property
    def all_logits(self) -> np.ndarray:
        """``(n_rows, n_vocab)`` view of every row of the last feed (one row unless it used
        ``all_logits=True``); the same lifetime as :attr:`logits`."""
        return self._native.logits(True)

    @staticmethod
    def is_current(view: np.ndarray) -> bool:
        """True while a view from :attr:`logits` / :attr:`all_logits` (or a slice of one)
        still shows its context's current logits."""
        base = getattr(view, "base", None)
        while isinstance(base, np.ndarray):
            base = base.base
        return isinstance(base, _lola.LogitsOwner) and base.valid

    def logits_copy(self, row: int = -1) -> np.ndarray:
        """A copy of one row of the logits (-1: the last), ``(n_vocab,)`` float32."""
        return self._native.copy_logits(row)

    # ---- state queries ------------------------------------------------------------------
    @property
    def info(self) -> "_lola.ContextInfo":
        """Totals (``lola_context_info``): n_past, n_layer, n_state_heads, state_bytes and the
        window / sparse / folded / evicted counts summed over layers and query heads."""
        return self._native.info()

    @property
    def n_past(self) -> int:
        """Tokens fed so far."""
        return self._native.info().n_past

    def head_state(self, layer: int, head: int) -> "_lola.HeadState":
        """The cache of query head ``head`` of layer ``layer``: n_window, n_sparse, n_folded,
        n_evicted, bytes, state_head."""
        return self._native.head_state(layer, head)

    def window_positions(self, layer: int, head: int) -> np.ndarray:
        """Token positions (int64, ascending) in the sliding window of one head."""
        return self._native.positions(layer, head, int(Memory.WINDOW))

    def sparse_positions(self, layer: int, head: int) -> Tuple[np.ndarray, np.ndarray]:
        """Token positions (int64, ascending) held in the sparse cache of one head, and their
        latest scores (float32)."""
        return self._native.positions(layer, head, int(Memory.SPARSE))

    def cache_counts(self) -> Dict[str, np.ndarray]:
        """Per layer and query head counts as int64 arrays of shape ``(n_layer, n_head)``:
        ``n_window``, ``n_sparse``, ``n_folded``, ``n_evicted``."""
        n_layer, n_head = self.model.info.n_layer, self.model.info.n_head
        keys = ("n_window", "n_sparse", "n_folded", "n_evicted")
        out = {k: np.zeros((n_layer, n_head), dtype=np.int64) for k in keys}
        for layer in range(n_layer):
            for head in range(n_head):
                state = self._native.head_state(layer, head)
                for k in keys:
                    out[k][layer, head] = getattr(state, k)
        return out

    # ---- state: save, restore, clone, reset ---------------------------------------------
    def save_state(self) -> bytes:
        """The context's state as a checksummed blob carrying the model's fingerprint."""
        return self._native.save_state()

    def restore_state(self, blob: bytes) -> None:
        """Restore a blob from :meth:`save_state`; validated completely before the context
        changes. Logits are unavailable until the next feed.

        Raises:
            CorruptDataError, VersionMismatchError, IncompatibleError (another model or other
            LoLA parameters).
        """
        self._native.restore_state(blob)

    def clone(self) -> "Context":
        """An independent deep copy (cheap: the LoLA state is fixed-size)."""
        return Context._wrap(self.model, self._native.clone())

    def reset(self) -> None:
        """Forget every token."""
        self._native.reset()

    def request_abort(self) -> None:
        """Ask a running (or the next) feed of this context to stop with AbortedError.
        Thread-safe: call it from any thread."""
        self._native.request_abort()

    # ---- generation ---------------------------------------------------------------------
    def generate(self, max_tokens: int, sampler: Optional[Sampler] = None, *,
                 special: bool = False) -> Iterator[Generated]:
        """Generate up to ``max_tokens`` tokens after what was fed, streaming.

        Each step samples from the current logits, stops at an end-of-generation token
        (which is recorded in the sampler's history but neither fed nor yielded), else feeds
        the token and yields a :class:`Generated` (token, text). Feed the prompt first.

        Args:
            max_tokens: the most tokens to generate.
            sampler: a :class:`Sampler`; greedy when omitted.
            special: render special tokens as text in the pieces.

        Raises:
            UnsupportedError: the context has no logits (nothing fed).
        """
        own = sampler is None
        used = Sampler.greedy() if sampler is None else sampler
        native, native_sampler = self._native, used._native
        decoder = codecs.getincrementaldecoder("utf-8")("replace")
        flags = _lola.LOLA_DETOKENIZE_SPECIAL if special else 0
        try:
            for _ in range(max_tokens):
                token, piece = native.generate_step(native_sampler, flags)
                if piece is None:
                    break
                yield Generated(token, decoder.decode(piece))
            tail = decoder.decode(b"", final=True)
            if tail:
                yield Generated(None, tail)
        finally:
            if own:
                used.close()

    def generate_text(self, max_tokens: int, sampler: Optional[Sampler] = None, *,
                      special: bool = False) -> str:
        """The text of :meth:`generate`, joined."""
        return "".join(g.text for g in self.generate(max_tokens, sampler, special=special))
