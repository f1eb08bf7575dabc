"""Storing the files a run sends (``file`` records) inside :func:`runyard.store.ingest.apply_batch`'s transaction.

Read back, with the files derived from the run's data, by :mod:`runyard.store.run_files`. No SQLAlchemy: the
ingester process of a SQLite store runs this on a plain sqlite3 connection.

A file's name comes from whoever sent it, and every reader writes the file to its own disk under that name
(``run.file(name).download(root)``, the wandb client's ``restore``). Every name is therefore made safe here,
on the one path all stored files take (:func:`safe_file_name`), so that no name reaches outside the folder
it is downloaded into, on any system.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote

from runyard.store.blob_refs import BlobRef
from runyard.store.sql import Sql

__all__ = ["file_of", "safe_file_name", "upsert_files"]


_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_DRIVE = re.compile(r"^[^/\\]:")  # what ntpath reads as a drive: any one character, then ":"
_DOTS = re.compile(r"^[. ]+$")  # ".", "..", and what Windows reads as them ("...", ".. ")


def safe_file_name(name: str) -> str:
    """A run file's name as stored: a relative POSIX path that stays inside any folder it is written into.

    The wandb client's own rule for upload paths (``util.make_file_path_upload_safe``), applied to whatever
    arrives: leading slashes go (``/etc/x`` is ``etc/x``), ``.`` and ``..`` segments become ``_`` and ``__``
    (so do segments of only dots and spaces, which Windows reads as them); further, backslashes are
    separators (``..\\x`` is ``__/x``), a drive (``C:``) is no longer one (``C_``), control characters
    (NUL...) become ``_``, and empty segments go. A name that would escape only once percent-decoded
    (``%2e%2e/x``, for a reader that decodes names) is decoded first. Any other name is kept as it is.

    Raises:
        ValueError: nothing is left of the name (``""``, ``"/"``).
    """
    decoded = name
    for _ in range(3):  # %252e: decoded twice by a careless reader
        step = unquote(decoded)
        if step == decoded:
            break
        decoded = step
    if decoded != name and _escapes(decoded):
        name = decoded
    if not _escapes(name):
        return name
    parts = [part for part in _CONTROL.sub("_", name).replace("\\", "/").split("/") if part]
    if parts and _DRIVE.match(parts[0]):
        parts[0] = parts[0][0] + "_" + parts[0][2:]
    parts = ["_" * len(part) if _DOTS.match(part) else part for part in parts]
    if not parts:
        raise ValueError(f"a run file's name must name a file inside the run, not {name!r}")
    return "/".join(parts)


def _escapes(name: str) -> bool:
    """Whether ``name`` is not already a plain relative path (see :func:`safe_file_name`)."""
    if not name or name.startswith("/") or "\\" in name or _CONTROL.search(name) or _DRIVE.match(name):
        return True
    return any(not part or _DOTS.match(part) for part in name.split("/"))


def file_of(body: Mapping[str, Any]) -> tuple[str, bytes | BlobRef]:
    """``(name, content)`` of a file record (runyard.records.FileBody); text content is stored as UTF-8. The
    name is made safe (:func:`safe_file_name`).

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
        return safe_file_name(name), BlobRef(body["blob"], size)
    content = body["content"]
    if isinstance(content, str):
        content = content.encode()
    if not isinstance(content, (bytes, bytearray, memoryview)):
        raise TypeError(f"file {name!r}: content must be bytes, not {type(content).__name__}")
    return safe_file_name(name), bytes(content)


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
