"""The exceptions of liblola: one class per ``lola_status`` of lola.h.

Every failing call raises a subclass of :class:`LolaError` carrying the status code and the
C library's message (``lola_last_error_message()``, read on the calling thread right after the
call). Where a built-in exception means the same thing the class also derives from it, so
``except ValueError`` or ``except OSError`` keep working.

Each class's ``status`` is the C constant its docstring names, as the compiler read it from
lola.h into the extension, and its ``status_name`` is what ``lola_status_string`` says for it:
no status value is written here (tests/test_constants.py checks the classes against lola.h).
The status attributes are set after the classes, from one table.
"""

from __future__ import annotations

from typing import Dict, Optional, Type

from ._native import _lola

__all__ = [
    "LolaError", "InvalidArgumentError", "NullHandleError", "NullPointerError",
    "SizeMismatchError", "BufferTooSmallError", "NonFiniteError", "OutOfMemoryError",
    "CorruptDataError", "VersionMismatchError", "IncompatibleError", "UnsupportedError",
    "InternalError", "LolaIOError", "AbortedError", "error_class",
]


class LolaError(Exception):
    """Base of every liblola error.

    Attributes:
        status: the ``lola_status`` value, an int (``LolaIOError.status`` is ``LOLA_ERR_IO``).
        status_name: its name, e.g. ``"LOLA_ERR_IO"``.
        message: the C library's message for the failed call.
    """

    status = -1  # no lola_status: raised by the binding itself with no C status
    status_name = "LOLA_ERR_UNKNOWN"  # lola_status_string's name for values it does not know

    def __init__(self, message: str, status: Optional[int] = None) -> None:
        self.message = message
        self.status = type(self).status if status is None else status
        self.status_name = _BY_STATUS.get(self.status, type(self)).status_name
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

    def __init__(self, message: str, status: Optional[int] = None) -> None:
        LolaError.__init__(self, message, status)


class AbortedError(LolaError):
    """LOLA_ERR_ABORTED: the call was stopped by :meth:`lola.Context.request_abort`."""


# The status of each class: the C constant of its name, as the extension carries it from lola.h.
_STATUS_OF: Dict[Type[LolaError], int] = {
    InvalidArgumentError: _lola.LOLA_ERR_INVALID_ARGUMENT,
    NullHandleError: _lola.LOLA_ERR_NULL_HANDLE,
    NullPointerError: _lola.LOLA_ERR_NULL_POINTER,
    SizeMismatchError: _lola.LOLA_ERR_SIZE_MISMATCH,
    BufferTooSmallError: _lola.LOLA_ERR_BUFFER_TOO_SMALL,
    NonFiniteError: _lola.LOLA_ERR_NON_FINITE,
    OutOfMemoryError: _lola.LOLA_ERR_OUT_OF_MEMORY,
    CorruptDataError: _lola.LOLA_ERR_CORRUPT_DATA,
    VersionMismatchError: _lola.LOLA_ERR_VERSION_MISMATCH,
    IncompatibleError: _lola.LOLA_ERR_INCOMPATIBLE,
    UnsupportedError: _lola.LOLA_ERR_UNSUPPORTED,
    InternalError: _lola.LOLA_ERR_INTERNAL,
    LolaIOError: _lola.LOLA_ERR_IO,
    AbortedError: _lola.LOLA_ERR_ABORTED,
}
_BY_STATUS: Dict[int, Type[LolaError]] = {}
for _cls, _status in _STATUS_OF.items():
    _cls.status, _cls.status_name = _status, _lola.status_string(_status)
    _BY_STATUS[_status] = _cls


def error_class(status: int) -> Type[LolaError]:
    """The exception class of a ``lola_status`` value (:class:`LolaError` for unknown ones)."""
    return _BY_STATUS.get(status, LolaError)
