"""The write side of a SQLite store without SQLAlchemy: what an embedded run's ingester process uses.

The ingester process (:mod:`runyard.sinks.daemon`) only ever ingests batches, records heartbeats, marks its run
crashed and checks for stop requests. Doing that through :class:`~runyard.store.Store` would load SQLAlchemy
first: ~23 MB of memory and ~150 ms before the first batch lands, every run. :class:`SqliteWriter` runs the same
write path (:mod:`runyard.store.ingest`, written as plain SQL) on a ``sqlite3`` connection set up as the
engine's are (:mod:`runyard.store.sqlite_setup`), so the result is the same rows.

A fresh store is created from ``sqlite_schema.sql`` (generated from the schema; a test keeps it current). A
store at another revision raises :class:`NeedsMigration`: the caller opens a :class:`~runyard.store.Store`
instead, which migrates it.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

from runyard.errors import StoreError
from runyard.records import KIND_FILE, Record
from runyard.store import ingest
from runyard.store.history import OpenBlockCache
from runyard.store.losses import stored_steps
from runyard.store.sql import Sql, SqliteSql
from runyard.store.sqlite_setup import BUSY_TIMEOUT_S, configure, creation_lock

__all__ = ["NeedsMigration", "SqliteWriter", "sqlite_file"]

_SCHEMA = Path(__file__).with_name("sqlite_schema.sql")
_T = TypeVar("_T")


class NeedsMigration(StoreError):
    """The store's schema is not the one this writer writes: open it with ``Store.open``, which migrates."""


def sqlite_file(url: str) -> Path | None:
    """The database file of a plain ``sqlite:///path`` URL; None for anything else (PostgreSQL, in-memory,
    URI filenames, query options), which the writer leaves to :class:`~runyard.store.Store`."""
    prefix = "sqlite:///"
    if not url.startswith(prefix) or "?" in url:
        return None
    database = url[len(prefix) :]
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database)


def _head() -> tuple[str, str]:
    """The schema script and the revision its first line names."""
    script = _SCHEMA.read_text()
    first = script.split("\n", 1)[0]
    return script, first.rsplit("revision ", 1)[1].split()[0]


class SqliteWriter:
    """Ingests into the SQLite store at ``path``; the methods match :class:`~runyard.store.Store`'s."""

    def __init__(self, path: Path, *, cache_points: int = 500_000) -> None:
        """Open (creating when missing) the store file. Raises :class:`NeedsMigration` for another revision."""
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._connection = sqlite3.connect(path, timeout=BUSY_TIMEOUT_S, check_same_thread=False)
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open the store at {path}: {exc}") from exc
        try:
            configure(self._connection)
            self._ensure_schema()
        except BaseException:
            self._connection.close()
            raise
        self._sql = SqliteSql(self._connection)
        self._cache = OpenBlockCache(cache_points)
        self._blobs: Any = None  # the store's blob store, once a batch holds a file (False: it has none)

    def _file_blobs(self, records: Sequence[Record]) -> Sequence[Record]:
        """``records`` with file contents moved to the store's blob store, when it has one (as Store.ingest does)."""
        if not any(len(r) == 3 and r[1] == KIND_FILE for r in records):
            return records
        if self._blobs is None:
            row = self._connection.execute("SELECT value FROM store_settings WHERE key = 'blobs'").fetchone()
            if row is None:
                self._blobs = False
            else:
                from runyard.store.blobs import open_blobs

                self._blobs = open_blobs(row[0])
        if self._blobs is False:
            return records
        # Only for a store with blobs and a batch with files: this module otherwise keeps SQLAlchemy unloaded.
        from runyard.store.run_files import blob_records

        return blob_records(records, self._blobs)

    def ingest(self, records: Sequence[Record], *, session: str | None = None) -> int:
        """As :meth:`runyard.store.Store.ingest`."""
        sid = ingest.session_of(records, session)
        if not records:
            return self.session_progress(sid)
        records = self._file_blobs(records)
        try:
            last_seq, staged = self._write(lambda sql: ingest.apply_batch(sql, records, sid, time.time(), self._cache))
        except sqlite3.Error as exc:
            raise StoreError(f"could not ingest session {sid!r}: {exc}") from exc
        except (KeyError, TypeError, ValueError, OverflowError) as exc:
            raise StoreError(f"malformed record in a batch of session {sid!r}: {exc!r}") from exc
        self._cache.install(staged)
        return last_seq

    def heartbeat(self, session: str, t: float) -> None:
        """As :meth:`runyard.store.Store.heartbeat`."""
        try:
            self._write(lambda sql: ingest.heartbeat(sql, session, t))
        except sqlite3.Error as exc:
            raise StoreError(f"could not record a heartbeat for session {session!r}: {exc}") from exc

    def mark_crashed(self, session: str) -> bool:
        """As :meth:`runyard.store.Store.mark_crashed`."""
        try:
            return self._write(lambda sql: ingest.mark_crashed(sql, session))
        except sqlite3.Error as exc:
            raise StoreError(f"could not mark session {session!r} crashed: {exc}") from exc

    def session_progress(self, session: str) -> int:
        """As :meth:`runyard.store.Store.session_progress`."""
        return ingest.session_progress(self._sql, session)

    def stored_steps(self, session: str) -> int:
        """As :meth:`runyard.store.Store.stored_steps`."""
        return stored_steps(self._sql, session)

    def stop_requested_at(self, session: str) -> float | None:
        """As :meth:`runyard.store.Store.stop_requested_at`."""
        return ingest.stop_requested_at(self._sql, session)

    def close(self) -> None:
        self._connection.close()

    def _write(self, work: Callable[[Sql], _T]) -> _T:
        # BEGIN IMMEDIATE, as the engine's write transactions: take the write lock before the first read.
        self._connection.execute("BEGIN IMMEDIATE")
        try:
            result = work(self._sql)
        except BaseException:
            _rollback(self._connection)
            raise
        self._connection.execute("COMMIT")
        return result

    def _ensure_schema(self) -> None:
        script, head = _head()
        if self._revision() == head:
            return
        with creation_lock(self.path):
            revision = self._revision()
            if revision == head:
                return
            tables = self._connection.execute("SELECT count(*) FROM sqlite_master WHERE type = 'table'").fetchone()
            if revision is not None or (tables and tables[0]):
                raise NeedsMigration(f"the store at {self.path} is at revision {revision}, not {head}")
            # One transaction: a crash leaves an empty file, never half a schema.
            self._connection.execute("BEGIN IMMEDIATE")
            try:
                for statement in _statements(script):
                    self._connection.execute(statement)
                self._connection.execute("INSERT INTO alembic_version (version_num) VALUES (?)", (head,))
            except BaseException:
                _rollback(self._connection)
                raise
            self._connection.execute("COMMIT")

    def _revision(self) -> str | None:
        try:
            row: Any = self._connection.execute("SELECT version_num FROM alembic_version").fetchone()
        except sqlite3.OperationalError:
            return None  # no such table: an empty store
        return None if row is None else str(row[0])


def _rollback(connection: sqlite3.Connection) -> None:
    # SQLite may have rolled back already (a full disk, an interrupt): keep the error that got us here.
    try:
        connection.execute("ROLLBACK")
    except sqlite3.Error:
        pass


def _statements(script: str) -> list[str]:
    body = "\n".join(line for line in script.splitlines() if not line.startswith("--"))
    return [statement.strip() for statement in body.split(";") if statement.strip()]
