"""Exceptions raised by vindex: one class per absl::Status code.

Every class derives from :class:`Error` and from the built-in exception a
Python user would catch for that kind of failure, so both ``except
vindex.Error`` and ``except ValueError`` work. ``str(e)`` is the library's
message unchanged, and ``e.code`` the Status code name (e.g.
``"INVALID_ARGUMENT"``).
"""


class Error(Exception):
    """Base class of every vindex error (and the class of codes not below)."""

    code = "UNKNOWN"


class InvalidArgumentError(Error, ValueError):
    """Bad input: wrong shape or dimension, NaN/Inf, bad k, duplicate ids."""

    code = "INVALID_ARGUMENT"


class OutOfRangeError(Error, ValueError):
    """A value outside the range the call accepts."""

    code = "OUT_OF_RANGE"


class NotFoundError(Error, KeyError):
    """Unknown ids in remove() or get_vectors()."""

    code = "NOT_FOUND"

    def __str__(self):  # KeyError would quote the message.
        return str(self.args[0]) if self.args else ""


class MissingFileError(Error, FileNotFoundError):
    """save() or load() named a path that does not exist."""

    code = "NOT_FOUND"


class PermissionDeniedError(Error, PermissionError):
    """The operating system refused access to a file."""

    code = "PERMISSION_DENIED"


class UnavailableError(Error, OSError):
    """A file operation failed for another operating-system reason."""

    code = "UNAVAILABLE"


class DataLossError(Error, OSError):
    """A saved index is truncated, corrupt or not a vindex file."""

    code = "DATA_LOSS"


class ResourceExhaustedError(Error, MemoryError):
    """Memory (or disk space) ran out; the index is unchanged."""

    code = "RESOURCE_EXHAUSTED"


class FailedPreconditionError(Error):
    """A call out of order (add before train, retrain a non-empty index), or
    a file written by a newer format version."""

    code = "FAILED_PRECONDITION"


class UnimplementedError(Error, NotImplementedError):
    """An operation this index does not support (see Index.capabilities)."""

    code = "UNIMPLEMENTED"


class InternalError(Error):
    """A bug in vindex: please report it with the message."""

    code = "INTERNAL"


__all__ = [
    "Error",
    "InvalidArgumentError",
    "OutOfRangeError",
    "NotFoundError",
    "MissingFileError",
    "PermissionDeniedError",
    "UnavailableError",
    "DataLossError",
    "ResourceExhaustedError",
    "FailedPreconditionError",
    "UnimplementedError",
    "InternalError",
]
