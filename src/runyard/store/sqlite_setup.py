"""How every runyard connection to a SQLite store is set up, and the lock taken to create or migrate one.

Shared by the SQLAlchemy engine (:mod:`runyard.store.engine`) and the SQLAlchemy-free writer of the ingester
process (:mod:`runyard.store.writer`), so that both treat the file alike. No SQLAlchemy here.
"""

from __future__ import annotations

import contextlib
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

__all__ = ["BUSY_TIMEOUT_S", "configure", "creation_lock"]

BUSY_TIMEOUT_S = 30.0


def configure(dbapi_connection: Any) -> None:
    """Autocommit at the driver level (callers emit BEGIN themselves), busy timeout, WAL, foreign keys."""
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
        _ensure_wal(cursor)
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.execute("PRAGMA foreign_keys = ON")
    finally:
        cursor.close()


def _ensure_wal(cursor: Any) -> None:
    # WAL is a property of the file: once set it stays. Switching a fresh file needs a moment of exclusive
    # access, which SQLite refuses at once (without its busy handler) while another connection is opening the
    # same fresh file, so retry for as long as the busy timeout allows.
    deadline = time.monotonic() + BUSY_TIMEOUT_S
    delay = 0.005
    while True:
        try:
            row = cursor.execute("PRAGMA journal_mode").fetchone()
            if row and str(row[0]).lower() == "wal":
                return
            cursor.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(delay)
            delay = min(delay * 2, 0.2)


@contextlib.contextmanager
def creation_lock(path: Path) -> Iterator[None]:
    """Hold the store's schema lock (``lockf`` on ``<db file>.lock``) while creating or migrating it."""
    import fcntl

    lock_path = path.with_name(path.name + ".lock")
    # lockf (POSIX record locks), not flock: a forked child does not inherit it, so a fork taken while this
    # process migrates cannot keep the store locked after the parent lets go.
    with open(lock_path, "a+b") as fh:
        fcntl.lockf(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.lockf(fh, fcntl.LOCK_UN)
