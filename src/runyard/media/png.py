"""A PNG encoder in the standard library (zlib): arrays are stored as images without Pillow."""

from __future__ import annotations

import struct
import zlib
from typing import Any

__all__ = ["encode_png", "png_size"]

_COLOR_TYPES = {1: 0, 2: 4, 3: 2, 4: 6}  # channels -> PNG colour type (grey, grey+alpha, RGB, RGBA)
_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def encode_png(pixels: Any, level: int = 6) -> bytes:
    """PNG bytes of ``pixels``, a C-contiguous uint8 NumPy array of shape (H, W, C) with C in 1..4."""
    import numpy as np

    h, w, c = pixels.shape
    rows = np.empty((h, w * c + 1), dtype=np.uint8)
    rows[:, 0] = 0  # filter "none" on every row: fast, and zlib does most of the work
    rows[:, 1:] = pixels.reshape(h, w * c)
    header = struct.pack(">IIBBBBB", w, h, 8, _COLOR_TYPES[c], 0, 0, 0)
    return b"".join(
        (
            _SIGNATURE,
            _chunk(b"IHDR", header),
            _chunk(b"IDAT", zlib.compress(rows.tobytes(), level)),
            _chunk(b"IEND", b""),
        )
    )


def png_size(data: bytes) -> tuple[int, int] | None:
    """``(width, height)`` of PNG bytes, or None when ``data`` is not a PNG."""
    if len(data) >= 24 and data.startswith(_SIGNATURE) and data[12:16] == b"IHDR":
        w, h = struct.unpack(">II", data[16:24])
        return int(w), int(h)
    return None
