"""A run file's reference to its content in the blob store (:mod:`runyard.store.blobs`), and blob key checks.

Apart from :mod:`runyard.store.blobs` so that the write path (:mod:`runyard.store.file_writes`) can carry blob
references without loading what the blob store itself needs (hashlib alone is ~3.6 MB in the ingester process).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["BlobRef", "check_key"]

_KEY = re.compile(r"[0-9a-f]{64}")


def check_key(key: str) -> str:
    """``key`` itself when it is a blob key (64 lowercase hex digits); raises ValueError otherwise."""
    if not isinstance(key, str) or not _KEY.fullmatch(key):
        raise ValueError(f"not a blob key (64 lowercase hex digits): {key!r}")
    return key


@dataclass(frozen=True)
class BlobRef:
    """A run file whose bytes are in the blob store: the blob's key (the content's SHA-256, hex) and size."""

    key: str
    size: int

    def __post_init__(self) -> None:
        check_key(self.key)
