"""Appending records to a run log.

Each record goes to the kernel with one ``os.write`` on an ``O_APPEND`` descriptor before ``append`` returns, so a
record survives the process being killed the moment after. (Surviving a power cut would need an fsync per record,
which costs milliseconds; ``sync()`` offers it at finish.)
"""

from __future__ import annotations

import os
from pathlib import Path
from zlib import crc32

from runyard.runlog.framing import FILE_MAGIC, HEADER, encode_frame

_write = os.write
_pack_header = HEADER.pack


class RunLogWriter:
    """An open run log, appended to by exactly one process."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_EXCL, 0o644)
        _write(self._fd, FILE_MAGIC)
        self.closed = False

    def append(self, payload: bytes) -> None:
        """Frame ``payload`` and hand it to the kernel."""
        _write(self._fd, _pack_header(len(payload), crc32(payload)) + payload)

    def append_frame(self, frame: bytes) -> None:
        """Hand an already framed record to the kernel (see :func:`encode_frame`)."""
        _write(self._fd, frame)

    def sync(self) -> None:
        """Flush the file to stable storage."""
        if not self.closed:
            os.fsync(self._fd)

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            os.close(self._fd)


__all__ = ["RunLogWriter", "encode_frame"]
