"""The exceptions of liblola: one class per ``lola_status`` of lola.h.

Every failing call raises a subclass of :class:`LolaError` carrying the status code and the
C library's message (``lola_last_error_message()``, read on the calling thread right after the
call). Where a built-in exception means the same thing the class also derives from it, so
``except ValueError`` or ``except OSError`` keep working.
"""

from __future__ import annotations

from typing import Dict, Type

__all__ = [
    "LolaError", "InvalidArgumentError", "NullHandleError", "NullPointerError",
    "SizeMismatchError", "BufferTooSmallError", "NonFiniteError", "OutOfMemoryError",
    "CorruptDataError", "VersionMismatchError", "IncompatibleError", "UnsupportedError",
    "InternalError", "LolaIOError", "AbortedError", "error_class",
]


class LolaError(Exception):
    """Base of every liblola error.

    Attributes:
        status: the ``lola_status`` value (an int, e.g. 13 for ``LOLA_ERR_IO``).
        status_name: its name, e.g. ``"LOLA_ERR_IO"``.
        message: the C library's message for the failed call.
    """

    status_name = "LOLA_ERR_UNKNOWN"

    def __init__(self, message: str, status: int = -1) -> None:
        self.message = message
        self.status = status
        self.status_name = _NAMES.get(status, type(self).status_name)
        super().__init__(f"{self.status_name}: {message}")

    def __reduce__(self):  # keep .status through pickling (multiprocessing)
        return (type(self), (self.message, self.status))


class InvalidArgumentError(LolaError, ValueError):
    """LOLA_ERR_INVALID_ARGUMENT: a parameter value is out of its documented range."""


class NullHandleError(LolaError, ValueError):
    """LOLA_ERR_NULL_HANDLE: a required handle was missing; in Python, an object used after
    ``close()``."""


class NullPointerError(LolaError, ValueError):
    """LOLA_ERR_NULL_POINTER: a required array or output was missing."""


class SizeMismatchError(LolaError, ValueError):
    """LOLA_ERR_SIZE_MISMATCH: an array's length or shape does not match the object's shapes."""


class BufferTooSmallError(LolaError):
    """LOLA_ERR_BUFFER_TOO_SMALL: an output buffer was too small (the binding sizes its buffers,
    so this means a bug)."""


class NonFiniteError(LolaError, ValueError):
    """LOLA_ERR_NON_FINITE: an input array holds NaN or infinity."""


class OutOfMemoryError(LolaError, MemoryError):
    """LOLA_ERR_OUT_OF_MEMORY: an allocation failed or the model's memory budget was exceeded."""


class CorruptDataError(LolaError, ValueError):
    """LOLA_ERR_CORRUPT_DATA: a file or state blob is truncated, altered or not liblola's."""


class VersionMismatchError(LolaError):
    """LOLA_ERR_VERSION_MISMATCH: a blob or struct from an unsupported format version."""


class IncompatibleError(LolaError, ValueError):
    """LOLA_ERR_INCOMPATIBLE: a valid state blob saved by an object with another configuration."""


class UnsupportedError(LolaError):
    """LOLA_ERR_UNSUPPORTED: the operation does not apply (e.g. no logits yet, no tokenizer,
    a device this build lacks)."""


class InternalError(LolaError):
    """LOLA_ERR_INTERNAL: a bug in liblola; please report the message."""


class LolaIOError(LolaError, OSError):
    """LOLA_ERR_IO: a file could not be opened, read or mapped."""

    def __init__(self, message: str, status: int = -1) -> None:
        LolaError.__init__(self, message, status)


class AbortedError(LolaError):
    """LOLA_ERR_ABORTED: the call was stopped by :meth:`lola.Context.request_abort`."""


_BY_STATUS: Dict[int, Type[LolaError]] = {
    1: InvalidArgumentError, 2: NullHandleError, 3: NullPointerError, 4: SizeMismatchError,
    5: BufferTooSmallError, 6: NonFiniteError, 7: OutOfMemoryError, 8: CorruptDataError,
    9: VersionMismatchError, 10: IncompatibleError, 11: UnsupportedError, 12: InternalError,
    13: LolaIOError, 14: AbortedError,
}
_NAMES: Dict[int, str] = {
    1: "LOLA_ERR_INVALID_ARGUMENT", 2: "LOLA_ERR_NULL_HANDLE", 3: "LOLA_ERR_NULL_POINTER",
    4: "LOLA_ERR_SIZE_MISMATCH", 5: "LOLA_ERR_BUFFER_TOO_SMALL", 6: "LOLA_ERR_NON_FINITE",
    7: "LOLA_ERR_OUT_OF_MEMORY", 8: "LOLA_ERR_CORRUPT_DATA", 9: "LOLA_ERR_VERSION_MISMATCH",
    10: "LOLA_ERR_INCOMPATIBLE", 11: "LOLA_ERR_UNSUPPORTED", 12: "LOLA_ERR_INTERNAL",
    13: "LOLA_ERR_IO", 14: "LOLA_ERR_ABORTED",
}
for _status, _cls in _BY_STATUS.items():
    _cls.status = _status
    _cls.status_name = _NAMES[_status]


def error_class(status: int) -> Type[LolaError]:
    """The exception class of a ``lola_status`` value (:class:`LolaError` for unknown ones)."""
    return _BY_STATUS.get(status, LolaError)
