"""The embedded sink: records go straight into a store in this process."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from runyard.store import ResumeState, Store


class _Writer(Protocol):
    """What ingestion needs of a store: :class:`~runyard.store.Store` and the SQLite writer both have it."""

    def ingest(self, records: Sequence[list[Any]], *, session: str | None = None) -> int: ...

    def session_progress(self, session: str) -> int: ...

    def stored_steps(self, session: str) -> int: ...

    def heartbeat(self, session: str, t: float) -> None: ...

    def stop_requested_at(self, session: str) -> float | None: ...

    def mark_crashed(self, session: str) -> bool: ...

    def close(self) -> None: ...


class LocalSink:
    """Writes records into the store at ``url`` (opened on first use, off the training thread).

    A SQLite store is written through :class:`~runyard.store.writer.SqliteWriter`, without loading SQLAlchemy
    (what keeps the ingester process small and quick to start); PostgreSQL, and a SQLite store that needs a
    migration first, through :class:`~runyard.store.Store`.
    """

    def __init__(self, url: str, crash_timeout: float = 300.0) -> None:
        self.url = url
        self.crash_timeout = crash_timeout
        self._store: Store | None = None
        self._writer: _Writer | None = None

    @property
    def store(self) -> Store:
        if self._store is None:
            from runyard.store import Store  # deferred: SQLAlchemy stays off `import runyard`
            from runyard.store.store import default_blob_location

            self._store = Store.open(
                self.url, crash_timeout=self.crash_timeout, default_blobs=default_blob_location(self.url)
            )
        return self._store

    @property
    def writer(self) -> _Writer:
        if self._writer is None:
            from runyard.store.writer import NeedsMigration, SqliteWriter, sqlite_file

            path = sqlite_file(self.url)
            if path is not None:
                try:
                    self._writer = SqliteWriter(path)
                except NeedsMigration:
                    pass  # Store.open migrates it
            if self._writer is None:
                self._writer = self.store
        return self._writer

    def ingest(self, records: Sequence[list[Any]], *, session: str) -> int:
        return self.writer.ingest(records, session=session)

    def progress(self, session: str) -> int:
        return self.writer.session_progress(session)

    def stored_steps(self, session: str) -> int:
        """How many steps the store holds for the session's run (read back, for what finish() reports)."""
        return self.writer.stored_steps(session)

    def heartbeat(self, session: str, t: float) -> None:
        self.writer.heartbeat(session, t)

    def stop_requested_at(self, session: str) -> float | None:
        return self.writer.stop_requested_at(session)

    def mark_crashed(self, session: str) -> None:
        self.writer.mark_crashed(session)

    def resume_state(self, entity: str, project: str, run_id: str) -> ResumeState | None:
        return self.store.resume_state(entity, project, run_id)

    def server_url(self) -> str | None:
        """The address of the server that serves this store (``runyard ui`` records it), or None.

        A SQLite store is read with the standard library: no SQLAlchemy in the training process for it.
        """
        from runyard.store.server_address import read_sqlite_file
        from runyard.store.writer import sqlite_file

        path = sqlite_file(self.url)
        if path is not None:
            return read_sqlite_file(path)
        return self.store.server_url()

    def close(self) -> None:
        if self._writer is not None and self._writer is not self._store:
            self._writer.close()
        self._writer = None
        if self._store is not None:
            self._store.close()
            self._store = None
