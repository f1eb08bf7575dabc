"""Storing the files a run sends (``file`` records) inside :func:`runyard.store.ingest.apply_batch`'s transaction.

Read back, with the files derived from the run's data, by :mod:`runyard.store.run_files`. No SQLAlchemy: the
ingester process of a SQLite store runs this on a plain sqlite3 connection.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from runyard.store.blob_refs import BlobRef
from runyard.store.sql import Sql
from runyard.store.stream_writes import text_safe

__all__ = ["file_of", "upsert_files"]


def file_of(body: Mapping[str, Any]) -> tuple[str, bytes | BlobRef]:
    """``(name, content)`` of a file record (runyard.records.FileBody); text content is stored as UTF-8.

    A body ``{"name", "blob": key, "size"}`` (content already in the blob store, see
    :func:`runyard.store.run_files.blob_records`) gives a :class:`~runyard.store.blob_refs.BlobRef`.
    """
    name = body["name"]
    if not isinstance(name, str) or not name:
        raise ValueError(f"a file record needs a non-empty name, not {name!r}")
    if "blob" in body:
        size = body["size"]
        if type(size) is not int or size < 0:
            raise ValueError(f"file {name!r}: a blob file needs its size (an integer >= 0), not {size!r}")
        return text_safe(name), BlobRef(body["blob"], size)
    content = body["content"]
    if isinstance(content, str):
        content = content.encode()
    if not isinstance(content, (bytes, bytearray, memoryview)):
        raise TypeError(f"file {name!r}: content must be bytes, not {type(content).__name__}")
    return text_safe(name), bytes(content)


_UPSERT = (
    "INSERT INTO run_files (run_pk, name, content, blob_key, size, updated_at)"
    " VALUES (:run_pk, :name, :content, :blob_key, :size, :t)"
    " ON CONFLICT (run_pk, name) DO UPDATE SET content = excluded.content, blob_key = excluded.blob_key,"
    " size = excluded.size, updated_at = excluded.updated_at"
)


def upsert_files(sql: Sql, run_pk: int, files: Mapping[str, bytes | BlobRef], now: float) -> None:
    """Store files of a run, replacing any of the same name; a :class:`BlobRef` is stored as its blob key."""
    if files:
        sql.many(_UPSERT, [{"run_pk": run_pk, "name": name, "t": now, **_stored(c)} for name, c in files.items()])


def _stored(content: bytes | BlobRef) -> dict[str, Any]:
    """The content, blob key and size columns of a file: inline bytes, or a blob the content is in."""
    if isinstance(content, BlobRef):
        return {"content": None, "blob_key": content.key, "size": content.size}
    return {"content": content, "blob_key": None, "size": len(content)}
