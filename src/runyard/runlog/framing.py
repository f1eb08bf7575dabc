"""Record framing, version 2: every record can be found again after damage.

A run log starts with a file magic, then one frame per record::

    <sync u32 LE> <length u32 LE> <~length u32 LE> <crc32 of payload u32 LE> <payload: length bytes>

The *sync marker* (the same four bytes before every record) lets a reader that met damage find the next
record: it searches forward for the marker and accepts a frame there only when its header is consistent (the
length and its bitwise complement agree) and its payload passes its CRC-32, so a false match in damaged bytes
or inside a payload has odds of about 2**-96. The header is checked before the length is trusted: a damaged
length field is never taken for a record still being written, and never makes a reader skip intact records.

What a reader meets at some offset is one of:

* a whole frame (:data:`FRAME`);
* the beginning of a frame that is not complete yet (:data:`PARTIAL`): fewer than 16 bytes that are a prefix
  of a valid header, or a consistent header whose payload ends past the end of the data. While the writer
  lives it is a record being written; once it is gone it is the *torn tail* a kill leaves, which is expected
  and is not damage;
* damage (:data:`DAMAGED`): anything else. Readers skip to the next whole frame and report the byte range.

Version 1 logs (``RUNYARD-RUNLOG-1``: ``<length><crc32><payload>`` frames, no marker) are still read; see
:mod:`runyard.runlog.reader`.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Iterator

FILE_MAGIC = b"RUNYARD-RUNLOG-2\n"
FILE_MAGIC_V1 = b"RUNYARD-RUNLOG-1\n"
MAGICS = (FILE_MAGIC, FILE_MAGIC_V1)

SYNC = b"\x9fRY\xa7"
SYNC_U32: int = struct.unpack("<I", SYNC)[0]
HEADER = struct.Struct("<IIII")  # sync, length, ~length, crc32(payload)
HEADER_SIZE = HEADER.size
V1_HEADER = struct.Struct("<II")  # length, crc32(payload)
MAX_RECORD = 256 * 1024 * 1024
"""No record is longer: a header claiming more is damage (the SDK refuses records over 25 MiB long before)."""

_MASK = 0xFFFFFFFF
_pack_header = HEADER.pack
_crc32 = zlib.crc32

FRAME = "frame"
PARTIAL = "partial"
DAMAGED = "damaged"


def encode_frame(payload: bytes) -> bytes:
    """Frame one payload: the sync marker, its length twice (plain and inverted), its CRC-32, the payload."""
    n = len(payload)
    return _pack_header(SYNC_U32, n, n ^ _MASK, _crc32(payload)) + payload


def probe(buf: bytes | bytearray | memoryview, pos: int) -> tuple[str, int]:
    """What lies at ``pos`` of ``buf``: ``(FRAME, end)``, ``(PARTIAL, end)`` (``end`` is where the frame would end,
    or ``-1`` while its header is incomplete), or ``(DAMAGED, pos)``."""
    size = len(buf)
    if pos + HEADER_SIZE > size:
        head = bytes(buf[pos : pos + 4])
        if not SYNC.startswith(head):
            return DAMAGED, pos
        if pos + 12 <= size:
            length, inverted = struct.unpack_from("<II", buf, pos + 4)
            if length ^ _MASK != inverted or length > MAX_RECORD:
                return DAMAGED, pos
        return PARTIAL, -1
    sync, length, inverted, crc = HEADER.unpack_from(buf, pos)
    if sync != SYNC_U32 or length ^ _MASK != inverted or length > MAX_RECORD:
        return DAMAGED, pos
    end = pos + HEADER_SIZE + length
    if end > size:
        return PARTIAL, end
    if _crc32(memoryview(buf)[pos + HEADER_SIZE : end]) != crc:
        return DAMAGED, pos
    return FRAME, end


def resync(buf: bytes | bytearray | memoryview, pos: int) -> tuple[int, str]:
    """The first offset after ``pos`` where a frame may start, and what is there: ``FRAME`` (a whole frame: the
    damage ends there), ``PARTIAL`` (a consistent header whose frame is not complete yet) or ``DAMAGED`` (no
    candidate in ``buf``; the offset is where a marker split by the end of ``buf`` could still begin)."""
    data = bytes(buf) if not isinstance(buf, (bytes, bytearray)) else buf
    at = pos + 1
    while True:
        found = data.find(SYNC, at)
        if found < 0:
            return max(pos + 1, len(data) - (len(SYNC) - 1)), DAMAGED
        state, _ = probe(data, found)
        if state != DAMAGED:
            return found, state
        at = found + 1


def decode_frames(buf: bytes | bytearray | memoryview, start: int = 0) -> Iterator[tuple[int, bytes]]:
    """Yield ``(end_offset, payload)`` for each whole frame in ``buf`` from ``start``, skipping damage.

    Stops before a partial frame at the end. For the byte ranges that were skipped, and for v1 logs, use
    :class:`runyard.runlog.RunLogReader`.
    """
    pos = start
    size = len(buf)
    while pos < size:
        state, end = probe(buf, pos)
        if state == FRAME:
            yield end, bytes(memoryview(buf)[pos + HEADER_SIZE : end])
            pos = end
        elif state == PARTIAL:
            return
        else:
            pos, found = resync(buf, pos)
            if found != FRAME:
                return


# -- version 1 -------------------------------------------------------------------------------------------------
_ARRAY3 = 0x93  # msgpack's fixarray of 3 items: the first byte of every record, [seq, kind, body]


def probe_v1(buf: bytes | bytearray | memoryview, pos: int) -> tuple[str, int]:
    """As :func:`probe`, for a version 1 log. Without a marker, a damaged length claiming bytes past the end looks
    like a partial frame; readers tell them apart by looking for a whole frame after it (:func:`resync_v1`)."""
    size = len(buf)
    if pos + V1_HEADER.size > size:
        return PARTIAL, -1
    length, crc = V1_HEADER.unpack_from(buf, pos)
    if length > MAX_RECORD:
        return DAMAGED, pos
    end = pos + V1_HEADER.size + length
    if end > size:
        return PARTIAL, end
    if _crc32(memoryview(buf)[pos + V1_HEADER.size : end]) != crc:
        return DAMAGED, pos
    return FRAME, end


def resync_v1(buf: bytes | bytearray | memoryview, pos: int) -> tuple[int, str]:
    """As :func:`resync`, for a version 1 log: the first whole frame after ``pos`` whose payload starts as every
    record does and passes its CRC-32 (``DAMAGED`` with ``pos + 1`` when there is none yet)."""
    data = bytes(buf) if not isinstance(buf, (bytes, bytearray)) else buf
    hsize = V1_HEADER.size
    at = pos + 1 + hsize
    while True:
        found = data.find(_ARRAY3, at)
        if found < 0:
            return pos + 1, DAMAGED
        state, _ = probe_v1(data, found - hsize)
        if state == FRAME:
            return found - hsize, FRAME
        at = found + 1
