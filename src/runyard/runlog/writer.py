"""Appending records to a run log.

Each record goes to the kernel with one ``os.write`` on an ``O_APPEND`` descriptor before ``append`` returns, so a
record survives the process being killed the moment after. (Surviving a power cut would need an fsync per record,
which costs milliseconds; ``sync()`` offers it at finish.)

A write that fails (a full disk, a file over its size limit) is undone: a short write is truncated away, so the
log still ends with its last whole record and the records written after room comes back follow it directly.
"""

from __future__ import annotations

import errno as errnos
import os
from pathlib import Path

from runyard.errors import RunLogWriteError
from runyard.runlog.framing import FILE_MAGIC, encode_frame

_write = os.write


class RunLogWriter:
    """An open run log, appended to by exactly one process."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_EXCL, 0o644)
        self.closed = False
        self.failed_writes = 0
        """Appends that failed (each raised :class:`~runyard.errors.RunLogWriteError`)."""
        self.last_failure: RunLogWriteError | None = None
        try:
            self.append_frame(FILE_MAGIC, what="the run log's first line")
        except RunLogWriteError:
            os.close(self._fd)
            self.path.unlink(missing_ok=True)
            raise

    def append(self, payload: bytes) -> None:
        """Frame ``payload`` and hand it to the kernel."""
        self.append_frame(encode_frame(payload))

    def append_frame(self, frame: bytes, *, what: str = "the record") -> None:
        """Hand an already framed record to the kernel (see :func:`encode_frame`); undo it if that fails."""
        try:
            written = _write(self._fd, frame)
        except OSError as exc:
            raise self.failed(exc, 0, what) from None
        if written != len(frame):
            self.complete(frame, written, what)

    def complete(self, frame: bytes, written: int, what: str) -> None:
        """Finish a write that stopped after ``written`` bytes, or undo it and raise.

        The kernel reports a full disk as a short write when part of the bytes fit; writing the rest then fails
        with the reason (``ENOSPC``, ``EFBIG``...). A write cut short for another reason (a signal) just goes on.
        """
        view = memoryview(frame)
        while written < len(frame):
            try:
                n = _write(self._fd, view[written:])
            except OSError as exc:
                raise self.failed(exc, written, what) from None
            if n <= 0:
                raise self.failed(OSError(errnos.EIO, "the write made no progress"), written, what)
            written += n

    def failed(self, exc: OSError, written: int, what: str) -> RunLogWriteError:
        """Undo a write that failed with ``exc`` after ``written`` bytes; return the error to raise.

        The file is truncated back to where the write began, so the log ends with its last whole record again.
        """
        undone = True
        if written:
            try:
                os.ftruncate(self._fd, os.fstat(self._fd).st_size - written)
            except OSError:
                undone = False  # readers skip the partial frame as damage; it holds no acknowledged record
        code = exc.errno or errnos.EIO
        reason = exc.strerror or str(exc)
        hint = {
            errnos.ENOSPC: "free some disk space",
            errnos.EDQUOT: "free some space within your disk quota",
            errnos.EFBIG: "raise the file size limit (ulimit -f)",
        }.get(code, "fix the cause")
        error = RunLogWriteError(
            f"runyard: could not write {what} to the run log {self.path}: {reason}. It was not logged; everything "
            f"logged before it is kept{'' if undone else ' (a partial record is left, which readers skip)'}. "
            f"To go on, {hint}: later calls are written as usual once there is room."
        )
        error.errno = code
        error.filename = str(self.path)
        self.failed_writes += 1
        self.last_failure = error
        return error

    def sync(self) -> None:
        """Flush the file to stable storage."""
        if not self.closed:
            os.fsync(self._fd)

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            os.close(self._fd)


__all__ = ["RunLogWriter", "encode_frame"]
