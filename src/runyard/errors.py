"""The one exception tree of runyard.

::

    Error                      base of everything runyard raises on purpose
    ├── UsageError             the API was called in a way it cannot honour (say what to do instead)
    │   ├── ConfigError        a config key was changed without ``allow_val_change``
    │   ├── FilterError        a run filter or sort order is malformed (``Api().runs(filters=...)``)
    │   ├── ConflictError      the object is not in a state that allows the change (stopping a finished run)
    │   └── TooLargeError      a value is over the size the store keeps (a saved workspace over 1 MiB)
    ├── ResumeError            ``init(resume=...)`` could not be honoured
    ├── RunLogError            a run log is unreadable beyond a torn last record
    ├── RemoteError            a runyard server refused a request or could not be reached
    └── StoreError             the store could not be opened or written
        ├── IngestGapError     records arrived out of sequence for a session
        └── NotFoundError      the run (or other object) asked for does not exist

Background I/O never raises into the training loop: it retries, counts, warns once and reports at ``finish()``.
"""

from __future__ import annotations


class Error(Exception):
    """Base class of every error runyard raises on purpose."""


class UsageError(Error):
    """The API was called in a way it cannot honour."""


class ConfigError(UsageError):
    """A config key was changed to a different value without ``allow_val_change=True``."""


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


class RunLogError(Error):
    """A run log file is damaged beyond a torn last record."""


class RemoteError(Error):
    """A runyard server refused a request (a wrong API key, a batch over its limits) or could not be reached.

    Attributes:
        status: the HTTP status of the answer; None when no answer came (unreachable, timed out).
        retryable: whether the same request may succeed later (the server restarting, a timeout); a refused key
            or a malformed request is not.
    """

    def __init__(self, message: str, *, status: int | None = None, retryable: bool = False) -> None:
        super().__init__(message)
        self.status = status
        self.retryable = retryable


class StoreError(Error):
    """The store could not be opened, migrated or written."""


class IngestGapError(StoreError):
    """A batch of records skipped sequence numbers; ingesting it would silently lose data."""


class NotFoundError(StoreError):
    """The run (or other object) an edit names does not exist in the store."""
