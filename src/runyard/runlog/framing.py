"""Record framing: ``<length:u32 LE><crc32:u32 LE><payload>``, after a file magic.

The framing is what makes the run log safe to kill at any moment: a record is either whole and checksummed, or it
is the torn last record of a file whose writer died mid-write, which readers detect and drop. A checksum that fails
before the end of the file is real damage and is reported, never skipped silently.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Iterator

from runyard.errors import RunLogError

FILE_MAGIC = b"RUNYARD-RUNLOG-1\n"
HEADER = struct.Struct("<II")
MAX_RECORD = 256 * 1024 * 1024

_pack_header = HEADER.pack
_crc32 = zlib.crc32


def encode_frame(payload: bytes) -> bytes:
    """Frame one payload: its length and CRC-32, then the payload itself."""
    return _pack_header(len(payload), _crc32(payload)) + payload


def decode_frames(buf: bytes | memoryview, start: int = 0) -> Iterator[tuple[int, bytes]]:
    """Yield ``(end_offset, payload)`` for each whole record in ``buf`` from ``start``.

    Stops quietly before an incomplete record (one still being written, or torn by a crash). Raises
    :class:`RunLogError` when a complete record fails its checksum and more data follows it, because that means
    the file was damaged, not torn. A bad checksum on the very last record is treated as torn and dropped.
    """
    view = memoryview(buf)
    size = len(view)
    pos = start
    hsize = HEADER.size
    while pos + hsize <= size:
        length, crc = HEADER.unpack_from(view, pos)
        end = pos + hsize + length
        if length > MAX_RECORD:
            if end >= size:
                return  # a torn header at the tail
            raise RunLogError(f"record at offset {pos} claims {length} bytes; the run log is damaged")
        if end > size:
            return
        payload = bytes(view[pos + hsize : end])
        if _crc32(payload) != crc:
            if end == size:
                return  # the torn last record of a killed writer
            raise RunLogError(
                f"record at offset {pos} fails its checksum and is followed by more data; the run log is damaged"
            )
        yield end, payload
        pos = end
