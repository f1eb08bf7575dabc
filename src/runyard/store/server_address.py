"""The address of the server that serves a store, kept in the store so that run URLs name it.

``runyard ui`` and ``runyard server`` record the address they serve at (or the one ``--url`` gives, for a
server behind a proxy) in the ``store_settings`` table; ``run.url`` (SDK and ``Api``) builds on it. A store no
server has served has none, and runs then have no URL.

Reading it from a SQLite file needs no SQLAlchemy (:func:`read_sqlite_file`): the training process asks for
``run.url`` without loading the store's dependencies.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

__all__ = ["SERVER_URL_SETTING", "read", "read_sqlite_file", "record"]

SERVER_URL_SETTING = "server_url"
"""The ``store_settings`` key of the server's address (``http://host:port``, no trailing slash)."""


def record(engine: Engine, url: str) -> None:
    """Record ``url`` as the address of the server of the store behind ``engine`` (replacing an older one)."""
    from runyard.store.engine import WRITE_OPTION, dialect_insert
    from runyard.store.schema import store_settings

    value = url.rstrip("/")
    with engine.execution_options(**{WRITE_OPTION: True}).begin() as conn:
        stmt = dialect_insert(conn, store_settings).values(key=SERVER_URL_SETTING, value=value)
        conn.execute(stmt.on_conflict_do_update(index_elements=[store_settings.c.key], set_={"value": value}))


def read(engine: Engine) -> str | None:
    """The recorded address, or None."""
    import sqlalchemy as sa

    from runyard.store.schema import store_settings

    with engine.connect() as conn:
        found = conn.execute(
            sa.select(store_settings.c.value).where(store_settings.c.key == SERVER_URL_SETTING)
        ).scalar()
    return str(found) if found else None


def read_sqlite_file(path: Path) -> str | None:
    """The address recorded in the SQLite store at ``path`` (read-only, stdlib only); None when there is none."""
    if not path.is_file():
        return None
    try:
        conn = sqlite3.connect(f"{path.absolute().as_uri()}?mode=ro", uri=True, timeout=5)
        try:
            row = conn.execute("SELECT value FROM store_settings WHERE key = ?", (SERVER_URL_SETTING,)).fetchone()
        finally:
            conn.close()
    except sqlite3.Error:  # a store being created, or of an older schema: no address yet
        return None
    return str(row[0]) if row and row[0] else None
