"""What a training process needs of a SQLite store to log an artifact, read with the standard library only.

Opening a :class:`~runyard.store.Store` loads SQLAlchemy: a second or more on a busy machine, with the GIL held
in long stretches, which a training loop sharing the process feels. Logging an artifact needs only the blob
location (recorded, or the default beside the file, recorded now) and the collection's type; both are one
query. ``None`` from either means "ask the Store" (a store not created yet, or of an older schema).
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from runyard.store.sqlite_setup import BUSY_TIMEOUT_S

__all__ = ["blob_location", "collection_type"]

_BLOBS = "blobs"


def _connect(path: Path) -> sqlite3.Connection | None:
    if not path.is_file():
        return None
    try:
        return sqlite3.connect(path, timeout=BUSY_TIMEOUT_S)
    except sqlite3.Error:
        return None


def blob_location(path: Path) -> str | None:
    """The store's blob location; when none is recorded, the folder ``blobs/`` beside the file, recorded now."""
    from runyard.store.blobs import blob_url

    conn = _connect(path)
    if conn is None:
        return None
    try:
        row = conn.execute("SELECT value FROM store_settings WHERE key = ?", (_BLOBS,)).fetchone()
        if row is not None:
            return str(row[0])
        default = blob_url(str(path.parent / "blobs"))
        Path(path.parent / "blobs").mkdir(parents=True, exist_ok=True)
        with conn:
            conn.execute("INSERT OR IGNORE INTO store_settings (key, value) VALUES (?, ?)", (_BLOBS, default))
        row = conn.execute("SELECT value FROM store_settings WHERE key = ?", (_BLOBS,)).fetchone()
        return None if row is None else str(row[0])
    except (sqlite3.Error, OSError):
        return None
    finally:
        conn.close()


def collection_type(path: Path, entity: str, project: str, name: str) -> tuple[bool, str | None]:
    """``(answered, type)``: the type of the collection ``name`` (None when there is none yet); ``answered`` is
    False when the file could not say (no such tables yet)."""
    conn = _connect(path)
    if conn is None:
        return False, None
    try:
        row = conn.execute(
            "SELECT t.name FROM artifact_collections c JOIN artifact_types t ON t.id = c.type_id "
            "JOIN projects p ON p.id = c.project_id JOIN entities e ON e.id = p.entity_id "
            "WHERE e.name = ? AND p.name = ? AND c.name = ?",
            (entity, project, name),
        ).fetchone()
    except sqlite3.Error:
        return False, None
    finally:
        conn.close()
    return True, None if row is None else str(row[0])
