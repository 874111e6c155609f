"""lola.Batch: one decode step for many contexts of one model (``lola_batch_*``), every weight
matrix read once for all of them. Each context keeps its own cache, position and logits; the
results are bitwise equal to feeding each context its token with ``Context.feed``."""

from __future__ import annotations

from typing import Sequence

import numpy as np

from ._handle import Closable
from ._native import _lola
from .context import Context
from .model import Model


class Batch(Closable):
    """The activations of one decode step for up to ``max_contexts`` contexts of ``model``,
    made once and reused (a step allocates nothing). ``n_threads``: the threads of its matrix
    products.

        with lola.Batch(model, max_contexts=len(ctxs)) as batch:
            batch.decode(ctxs, [c.logits.argmax() for c in ctxs])

    Use it from one thread at a time; while :meth:`decode` runs, the contexts it was given are
    locked for it.

    Raises:
        InvalidArgumentError: ``max_contexts`` outside [1, 65536], ``n_threads`` outside
            [1, 1024].
    """

    def __init__(self, model: Model, max_contexts: int, n_threads: int = 2) -> None:
        self.model = model
        self.max_contexts = int(max_contexts)
        self._native = _lola.Batch(model._native, self.max_contexts, int(n_threads))

    def __repr__(self) -> str:
        state = " (closed)" if self.closed else ""
        return f"<lola.Batch max_contexts={self.max_contexts}{state}>"

    def decode(self, contexts: Sequence[Context], tokens: Sequence[int]) -> None:
        """Feeds ``tokens[i]`` to ``contexts[i]``, one token each, in one step; afterwards each
        context's ``logits`` are its token's.

        Raises (every check comes first, and an error feeds no context; the message names
        ``contexts[i]``): InvalidArgumentError for a token out of range, a context of another
        model, the same context twice, or more contexts than ``max_contexts``;
        SizeMismatchError when ``tokens`` and ``contexts`` differ in length; NullHandleError for
        a closed context or batch."""
        natives = [c._native for c in contexts]
        self._native.decode(natives, np.asarray(tokens, dtype=np.int32).reshape(-1))
