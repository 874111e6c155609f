"""The lifetime protocol every handle class (and every object owning one) shares: close(),
``with``, ``closed`` and a ``__del__`` fallback. The native object raises NullHandleError once
closed."""

from __future__ import annotations

from typing import Any


class ClosesOnExit:
    """Mixin for anything with an idempotent ``close()``: ``with`` closes it, and so does
    garbage collection as a fallback."""

    def close(self) -> None:  # pragma: no cover - every user defines it
        raise NotImplementedError

    def __exit__(self, *exc) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:  # interpreter shutdown: the module may be half torn down
            pass


class Closable(ClosesOnExit):
    """Mixin: ``self._native`` is the lola._lola object; closing it frees the C object at once
    (unless a call in flight, a context or a logits view still needs it: then with the last)."""

    _native: Any = None

    def close(self) -> None:
        """Free the native object now. Idempotent; later calls on this object raise
        :class:`lola.NullHandleError`."""
        native = self._native
        if native is not None:
            native.close()

    @property
    def closed(self) -> bool:
        """True after :meth:`close`."""
        return self._native is None or self._native.closed

    def __enter__(self):
        if self.closed:
            from .errors import NullHandleError
            raise NullHandleError(f"{type(self).__name__} used after close()")
        return self
