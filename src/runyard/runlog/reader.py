"""Reading a run log, from the start or by tailing it while its writer is still appending."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import msgpack

from runyard.errors import RunLogError
from runyard.runlog.framing import FILE_MAGIC, decode_frames

_CHUNK = 1024 * 1024


class RunLogReader:
    """Reads whole records from a run log, resuming where the last call stopped.

    The reader never returns part of a record: bytes of a record still being written (or torn by a crash) stay
    unread until they are complete.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._fd: int | None = None
        self.offset = 0
        self._buf = b""

    def _open(self) -> int:
        if self._fd is None:
            self._fd = os.open(self.path, os.O_RDONLY)
            magic = os.pread(self._fd, len(FILE_MAGIC), 0)
            if len(magic) < len(FILE_MAGIC) and FILE_MAGIC.startswith(magic):
                os.close(self._fd)
                self._fd = None
                return -1  # the writer has not finished writing the magic yet
            if magic != FILE_MAGIC:
                os.close(self._fd)
                self._fd = None
                raise RunLogError(f"{self.path} is not a runyard run log")
            self.offset = len(FILE_MAGIC)
        return self._fd

    def read(self, max_bytes: int = _CHUNK) -> list[list[Any]]:
        """Return the whole records appended since the last call (possibly none)."""
        fd = self._open()
        if fd < 0:
            return []
        data = self._buf + os.pread(fd, max_bytes, self.offset + len(self._buf))
        records: list[list[Any]] = []
        consumed = 0
        unpackb = msgpack.unpackb
        for end, payload in decode_frames(data):
            records.append(unpackb(payload, raw=False, strict_map_key=False))
            consumed = end
        self.offset += consumed
        self._buf = data[consumed:]
        return records

    def read_all(self) -> list[list[Any]]:
        """Read every remaining whole record."""
        out: list[list[Any]] = []
        while True:
            batch = self.read()
            if not batch:
                return out
            out.extend(batch)

    @property
    def pending_bytes(self) -> int:
        """Bytes after the last whole record: a record being written, or a torn one."""
        return len(self._buf)

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def read_all(path: str | os.PathLike[str]) -> list[list[Any]]:
    """Every whole record of a run log (a torn last record is dropped)."""
    reader = RunLogReader(path)
    try:
        return reader.read_all()
    finally:
        reader.close()
