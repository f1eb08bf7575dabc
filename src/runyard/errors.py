"""The one exception tree of runyard.

::

    Error                      base of everything runyard raises on purpose
    ├── UsageError             the API was called in a way it cannot honour (say what to do instead)
    │   ├── ConfigError        a config key was changed without ``allow_val_change``
    │   ├── FilterError        a run filter or sort order is malformed (``Api().runs(filters=...)``)
    │   ├── ConflictError      the object is not in a state that allows the change (stopping a finished run)
    │   ├── TooLargeError      a value is over the size the store keeps (a saved workspace over 1 MiB)
    │   ├── ResumeError        ``init(resume=...)`` could not be honoured
    │   └── UnsupportedError   a W&B feature runyard does not provide (``init(fork_from=...)``, ``require("x")``)
    ├── RunLogError            a run log is unreadable beyond a torn last record
    ├── RunLogWriteError       a record could not be appended to the run log (also an OSError: disk full...)
    └── CommError              the store or a runyard server could not be reached or answered with an error
        ├── RemoteError        a runyard server refused a request or could not be reached (``status``, ``retryable``)
        │   └── AuthenticationError  an API key was refused
        └── StoreError         the store could not be opened or written
            ├── IngestGapError the records arrived out of sequence for a session
            └── NotFoundError  the run (or other object) asked for does not exist

The names are W&B's where W&B has one (``wandb.errors.CommError``, ``UsageError``, ``UnsupportedError``,
``AuthenticationError``), so ``except wandb.errors.CommError`` written for W&B catches what runyard raises in
the same situation: W&B's ``Api().run(path)`` for a missing run raises ``CommError``, runyard's raises
``NotFoundError``, a ``CommError``; a server that refuses the key raises ``AuthenticationError`` in both.

Background I/O never raises into the training loop: it retries, counts, warns once and reports at ``finish()``.
"""

from __future__ import annotations


class Error(Exception):
    """Base class of every error runyard raises on purpose.

    Attributes:
        message: the error's message (W&B's ``Error.message``).
    """

    @property
    def message(self) -> str:
        return str(self.args[0]) if self.args else ""


class UsageError(Error):
    """The API was called in a way it cannot honour."""


class ConfigError(UsageError):
    """A config key was changed to a different value without ``allow_val_change=True``."""


class SweepConfigError(UsageError):
    """A sweep config is invalid; the message names the key (``parameters.lr.min``) and what to change."""


class FilterError(UsageError):
    """A run filter (W&B's MongoDB-style ``filters`` dict) or a sort order is malformed.

    The message names the operator or field at fault and what is allowed instead.
    """


class ConflictError(UsageError):
    """The object asked for exists but its state does not allow the change: stopping a run that is not running."""


class TooLargeError(UsageError):
    """A value is larger than the store keeps; the message says the limit."""


class ResumeError(UsageError):
    """``init(resume=...)`` could not be honoured (the run is missing, or exists when it must not)."""


class UnsupportedError(UsageError):
    """A W&B feature that runyard does not provide was asked for; the message says what to do instead."""


class RunLogError(Error):
    """A run log file is damaged beyond a torn last record."""


class RunLogWriteError(Error, OSError):
    """A record could not be appended to the run log: the disk is full, the file is over its size limit...

    An ``OSError`` too, with the ``errno`` of the failed write (``ENOSPC``, ``EFBIG``...). The run log is left as
    it was before the call: nothing of the call was logged, everything before it is kept, and later calls are
    written as usual once there is room again.
    """

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class CommError(Error):
    """The store could not be reached, or refused the request (W&B: an error talking to its server).

    Args:
        msg: what went wrong.
        exc: the lower-level exception, if any (W&B's ``CommError.exc``).
    """

    def __init__(self, msg: str = "", exc: BaseException | None = None) -> None:
        super().__init__(msg)
        self.exc = exc


class RemoteError(CommError):
    """A runyard server refused a request (a batch over its limits, an unknown endpoint) or could not be reached.

    Args:
        msg: what went wrong and what to do.
        exc: the lower-level exception, if any (a refused connection, a timeout).
        status: the HTTP status of the answer; None when no answer came (unreachable, timed out).
        retryable: whether the same request may succeed later (the server restarting, a timeout); a refused key
            or a malformed request is not.
    """

    def __init__(
        self, msg: str = "", exc: BaseException | None = None, *, status: int | None = None, retryable: bool = False
    ) -> None:
        super().__init__(msg, exc)
        self.status = status
        self.retryable = retryable


class AuthenticationError(RemoteError):
    """An API key was refused (HTTP 401 or 403 from a runyard server); never retryable."""

    def __init__(self, msg: str = "", exc: BaseException | None = None, *, status: int | None = 401) -> None:
        super().__init__(msg, exc, status=status, retryable=False)


class StoreError(CommError):
    """The store could not be opened, migrated or written."""


class IngestGapError(StoreError):
    """A batch of records skipped sequence numbers; ingesting it would silently lose data."""


class NotFoundError(StoreError):
    """The run (or other object) an edit names does not exist in the store."""
