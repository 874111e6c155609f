"""lola.Sampler: turns logits into a token (penalty, top-k, top-p, min-p, temperature)."""

from __future__ import annotations

from typing import Optional, Sequence

import numpy as np

from ._native import _lola
from ._arrays import tokens_array
from ._handle import Closable
from ._params import fill


class Sampler(Closable):
    """A seeded token sampler (``lola_sampler``) with its token history.

    Keyword arguments (each defaults to the C library's default): ``temperature`` (<= 0:
    greedy), ``top_k``, ``top_p``, ``min_p``, ``repeat_penalty``, ``penalty_last_n``, ``seed``.
    The same seed gives the same tokens on every platform. One thread at a time.

    Raises:
        InvalidArgumentError: a value out of its range (lola.h lists them).
    """

    def __init__(self, **params) -> None:
        self.params = _lola.SamplerParams()
        fill(self.params, params)
        self._native = _lola.Sampler(self.params)

    @classmethod
    def greedy(cls) -> "Sampler":
        """A sampler that always picks the largest logit (lowest id on ties)."""
        return cls(temperature=0.0)

    def sample(self, logits: np.ndarray) -> int:
        """Draw a token from a ``(n_vocab,)`` float32 array and record it in the history.

        Raises:
            NonFiniteError: a logit is NaN.
        """
        return self._native.sample(logits)

    def accept(self, tokens: Sequence[int]) -> None:
        """Add tokens to the history (e.g. the prompt, for the repetition penalty)."""
        self._native.accept(tokens_array(tokens))

    def reset(self, seed: Optional[int] = None) -> None:
        """Clear the history and reseed (with ``seed``, else the seed it was created with)."""
        self._native.reset(self.params.seed if seed is None else seed)
