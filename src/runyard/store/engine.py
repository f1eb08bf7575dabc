"""Engines for the two backends, set up so several processes can share one store.

SQLite: WAL (readers never block the writer), a 30 s busy timeout, ``synchronous=NORMAL`` (durable at
checkpoints, safe against application crashes), foreign keys on. pysqlite's own transaction handling is
turned off and we emit BEGIN ourselves (SQLAlchemy's documented recipe): write transactions start with
``BEGIN IMMEDIATE``, taking the write lock up front. A deferred transaction that reads and then writes can
meet another writer halfway and fail with "database is locked" at once, busy timeout or not; taking the lock
first means writers simply queue.

PostgreSQL: ``postgresql://`` URLs are driven by psycopg 3.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import URL, Connection, Engine, make_url
from sqlalchemy.pool import StaticPool

from runyard.errors import StoreError
from runyard.settings import postgres_driver_message
from runyard.store.sqlite_setup import BUSY_TIMEOUT_S, configure

__all__ = ["WRITE_OPTION", "create_engine", "dialect_insert", "is_sqlite", "normalize_url", "sqlite_path"]

WRITE_OPTION = "runyard_write"
"""Execution option marking a connection whose transactions write (SQLite: ``BEGIN IMMEDIATE``)."""


def normalize_url(url: str | URL) -> URL:
    """Parse a store URL; plain PostgreSQL URLs get the psycopg 3 driver."""
    try:
        parsed = make_url(url)
    except sa.exc.ArgumentError as exc:
        raise StoreError(f"not a database URL: {url!r}") from exc
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.get_backend_name() not in ("sqlite", "postgresql"):
        raise StoreError(f"unsupported store backend {parsed.get_backend_name()!r}: use sqlite:/// or postgresql://")
    return parsed


def is_sqlite(url: URL) -> bool:
    return url.get_backend_name() == "sqlite"


def sqlite_path(url: URL) -> Path | None:
    """The database file of a SQLite URL; None for an in-memory database."""
    database = url.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database)


def create_engine(url: URL) -> Engine:
    """Create the engine for a normalized store URL (creating a SQLite file's folder)."""
    if not is_sqlite(url):
        try:
            return sa.create_engine(url, pool_pre_ping=True)
        except ImportError as exc:  # psycopg is an optional dependency (runyard[postgres])
            if (exc.name or "").split(".")[0] != "psycopg" and "psycopg" not in str(exc):
                raise
            raise StoreError(f"{postgres_driver_message()} ({exc})") from None
    path = sqlite_path(url)
    kwargs: dict[str, Any] = {"connect_args": {"timeout": BUSY_TIMEOUT_S, "check_same_thread": False}}
    if path is None:
        # One shared connection, or every checkout would see its own empty in-memory database.
        kwargs["poolclass"] = StaticPool
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
    engine = sa.create_engine(url, **kwargs)
    event.listen(engine, "connect", _sqlite_on_connect)
    event.listen(engine, "begin", _sqlite_on_begin)
    return engine


def _sqlite_on_connect(dbapi_connection: Any, connection_record: Any) -> None:
    configure(dbapi_connection)


def _sqlite_on_begin(conn: Connection) -> None:
    if conn.get_execution_options().get(WRITE_OPTION):
        conn.exec_driver_sql("BEGIN IMMEDIATE")
    else:
        conn.exec_driver_sql("BEGIN")


def dialect_insert(conn: Connection, table: sa.Table) -> Any:
    """An INSERT with ``on_conflict_do_nothing``/``on_conflict_do_update`` for the connection's backend."""
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert(table)
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert(table)
