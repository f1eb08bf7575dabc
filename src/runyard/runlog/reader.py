"""Reading a run log, from the start or by tailing it while its writer is still appending.

What a reader promises:

* every whole record is returned once, in file order, **whatever its size**: a record longer than the bytes
  asked for is read whole (one read of exactly the missing bytes), never taken for the end of the log, while
  ordinary records come in batches of about ``max_bytes``, so memory stays bounded;
* damage is skipped, never fatal: the reader finds the next whole frame (see :mod:`runyard.runlog.framing`),
  keeps every intact record before and after, and lists each skipped byte range in :attr:`RunLogReader.damage`;
* where skipped bytes held records (the sequence numbers jump), it inserts one ``gap`` record (see
  :data:`runyard.records.KIND_GAP`) before the next record, so that a store can accept the jump knowingly and
  record it;
* the torn tail a killed writer leaves (the beginning of a frame) is not damage: :meth:`RunLogReader.end`
  reports it apart.

While the writer may still be appending (``final=False``, the live ingester), a frame that is not complete yet is
waited for. Once the writer is gone (``final=True``: ``runyard sync``, or the ingester draining after
``finish()``), a partial frame followed by a whole one is damage too (a write that failed half-way and could not
be undone).
"""

from __future__ import annotations

import os
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgpack

from runyard.errors import RunLogError
from runyard.records import KIND_GAP
from runyard.runlog.framing import (
    DAMAGED,
    FILE_MAGIC,
    FILE_MAGIC_V1,
    FRAME,
    HEADER,
    HEADER_SIZE,
    MAX_RECORD,
    PARTIAL,
    SYNC_U32,
    V1_HEADER,
    probe,
    probe_v1,
    resync,
    resync_v1,
)

_CHUNK = 1024 * 1024
_MASK = 0xFFFFFFFF
_crc32 = zlib.crc32
_BUDGET = "budget"
_MORE = "more"


@dataclass(frozen=True)
class Damage:
    """A byte range of a run log that the reader skipped: it holds no whole record."""

    start: int
    end: int
    at_end: bool = False
    """Nothing whole follows it: the records it held (if any) are the last of the log and cannot be counted."""

    def __str__(self) -> str:
        where = "at the end" if self.at_end else "followed by intact records"
        return f"bytes {self.start}-{self.end} ({self.end - self.start} bytes, {where})"


@dataclass(frozen=True)
class LogEnd:
    """What follows the last whole record once a log has been read to its end."""

    torn_bytes: int
    """The beginning of a record that was being written when its writer died (not damage: it was never
    acknowledged, since ``log()`` returns only after the whole record is written)."""
    damage: Damage | None
    """Damaged bytes with no whole record after them."""


class RunLogReader:
    """Reads whole records from a run log, resuming where the last call stopped."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._fd: int | None = None
        self.version = 0
        self.offset = 0
        """The file offset of the first byte not consumed yet (records returned and damage skipped end here)."""
        self._buf = bytearray()  # the file's bytes from ``offset`` on, as far as read
        self._need = 0  # how long ``_buf`` must be before decoding can go on
        self._tail = 0  # undecoded bytes at the end of the file, when the last read got there
        self.damage: list[Damage] = []
        """Every byte range skipped so far, in file order."""
        self._damaged_from: int | None = None  # start of damage not followed by a whole frame yet
        self._unreported: list[Damage] = []  # damage since the last record returned
        self.last_seq = 0
        """The sequence number of the last record returned."""

    def _open(self) -> int:
        if self._fd is None:
            fd = os.open(self.path, os.O_RDONLY)
            magic = os.pread(fd, len(FILE_MAGIC), 0)
            if len(magic) < len(FILE_MAGIC) and (FILE_MAGIC.startswith(magic) or FILE_MAGIC_V1.startswith(magic)):
                os.close(fd)
                return -1  # the writer has not finished writing the magic yet
            if magic == FILE_MAGIC:
                self.version = 2
            elif magic == FILE_MAGIC_V1:
                self.version = 1
            elif probe(os.pread(fd, _CHUNK, len(FILE_MAGIC)), 0)[0] == FRAME:
                self.version = 2  # a damaged magic before intact records: skip it, say so
                self._note(Damage(0, len(FILE_MAGIC)))
            else:
                os.close(fd)
                raise RunLogError(f"{self.path} is not a runyard run log")
            self._fd = fd
            self.offset = len(magic)
        return self._fd

    def read(self, max_bytes: int = _CHUNK, *, final: bool = False) -> list[list[Any]]:
        """Return the whole records appended since the last call (possibly none).

        Stops once the records returned hold about ``max_bytes``; a single longer record is returned whole.
        ``final`` says the writer is gone: a partial frame with a whole one after it is then damage.
        """
        if self._open() < 0:
            return []
        out: list[list[Any]] = []
        taken = 0
        try:
            while True:
                status, taken = self._decode(out, taken, max_bytes, final)
                if status == _BUDGET:
                    self._tail = 0
                    return out
                missing = self._need - len(self._buf)
                if self._fill(max(missing, max_bytes)) == 0:
                    self._tail = len(self._buf)
                    return out
        finally:
            # Bytes not decoded yet are read again next time, from the file: a writer whose write failed half-way
            # truncates the partial frame away and writes the next record in its place.
            self._buf.clear()

    def read_all(self) -> list[list[Any]]:
        """Read every remaining whole record (the writer is taken to be gone)."""
        out: list[list[Any]] = []
        while True:
            batch = self.read(final=True)
            if not batch:
                return out
            out.extend(batch)

    def end(self) -> LogEnd:
        """What follows the last whole record, once :meth:`read` returned nothing with ``final=True``."""
        damage = None
        if self._damaged_from is not None:
            damage = Damage(self._damaged_from, self.offset + self._tail, at_end=True)
            self._damaged_from = None
            self._tail = 0
            self.offset = damage.end
            self._note(damage)
        elif self.damage and self.damage[-1].at_end:
            damage = self.damage[-1]
        return LogEnd(self._tail, damage)

    @property
    def pending_bytes(self) -> int:
        """Bytes after the last whole record when :meth:`read` last reached the end of the file: a record being
        written, a torn one, or damage not resolved yet."""
        return self._tail

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    # -- internals
    def _fill(self, n: int) -> int:
        assert self._fd is not None
        data = os.pread(self._fd, n, self.offset + len(self._buf))
        self._buf += data
        return len(data)

    def _decode(self, out: list[list[Any]], taken: int, max_bytes: int, final: bool) -> tuple[str, int]:
        """Decode from the buffer into ``out``; consume what was decoded or skipped."""
        buf = self._buf
        v2 = self.version == 2
        look = probe if v2 else probe_v1
        find = resync if v2 else resync_v1
        hsize = HEADER_SIZE if v2 else V1_HEADER.size
        size = len(buf)
        pos = self._whole_frames(out, taken, max_bytes) if v2 and self._damaged_from is None else 0
        taken += pos
        status = _MORE
        need = 0
        while True:
            if taken >= max_bytes:
                status = _BUDGET
                break
            if pos >= size:
                need = pos + 1
                break
            state, end = look(buf, pos)
            if state == FRAME:
                if self._damaged_from is not None:
                    self._note(Damage(self._damaged_from, self.offset + pos))
                    self._damaged_from = None
                try:
                    record = msgpack.unpackb(bytes(buf[pos + hsize : end]), raw=False, strict_map_key=False)
                except Exception:  # a checksummed frame that is not a record: a writer's bug, skipped as damage
                    record = None
                if record is None:
                    self._damaged_from = self.offset + pos
                else:
                    self._emit(out, record)
                    taken += end - pos
                pos = end
                continue
            if state == PARTIAL:
                if final or not v2:  # a whole frame after a partial one: the partial one is damage
                    after, found = find(buf, pos)
                    if found == FRAME:
                        if self._damaged_from is None:
                            self._damaged_from = self.offset + pos
                        pos = after
                        continue
                need = end if end > 0 else pos + hsize
                break
            if self._damaged_from is None:
                self._damaged_from = self.offset + pos
            after, found = find(buf, pos)
            if found == DAMAGED and not v2:
                need = size + 1  # v1 frames have no marker: keep every byte until a whole frame shows up
                break
            pos = after
            if found == DAMAGED:
                need = size + 1
                break
        if pos:
            del buf[:pos]
            self.offset += pos
        self._need = need - pos
        return status, taken

    def _whole_frames(self, out: list[list[Any]], taken: int, max_bytes: int) -> int:
        """The common case, fast: decode the whole, intact v2 frames at the start of the buffer. Returns how many
        bytes they took; :meth:`_decode` handles whatever else comes."""
        buf = self._buf
        size = len(buf)
        unpack_from = HEADER.unpack_from
        unpackb = msgpack.unpackb
        view = memoryview(buf)
        pos = 0
        try:
            while taken + pos < max_bytes and pos + HEADER_SIZE <= size:
                sync, length, inverted, crc = unpack_from(buf, pos)
                end = pos + HEADER_SIZE + length
                if sync != SYNC_U32 or length ^ _MASK != inverted or end > size or length > MAX_RECORD:
                    break
                payload = bytes(view[pos + HEADER_SIZE : end])
                if _crc32(payload) != crc:
                    break
                try:
                    record = unpackb(payload, raw=False, strict_map_key=False)
                except Exception:
                    break
                if type(record) is list and record and type(record[0]) is int and not self._unreported:
                    self.last_seq = record[0]
                    out.append(record)
                else:
                    self._emit(out, record)
                pos = end
        finally:
            view.release()
        return pos

    def _emit(self, out: list[list[Any]], record: Any) -> None:
        seq = record[0] if type(record) is list and record and type(record[0]) is int else None
        if seq is not None:
            if self._unreported and seq > self.last_seq + 1:
                out.append(
                    [
                        seq - 1,
                        KIND_GAP,
                        {
                            "first": self.last_seq + 1,
                            "last": seq - 1,
                            "start": self._unreported[0].start,
                            "end": self._unreported[-1].end,
                        },
                    ]
                )
            self._unreported.clear()
            self.last_seq = seq
        out.append(record)

    def _note(self, damage: Damage) -> None:
        self.damage.append(damage)
        self._unreported.append(damage)


def read_all(path: str | os.PathLike[str]) -> list[list[Any]]:
    """Every whole record of a run log (a torn last record is dropped, damage skipped)."""
    reader = RunLogReader(path)
    try:
        return reader.read_all()
    finally:
        reader.close()
