"""The store: runs, their config and summary, and their history, in SQLite or PostgreSQL.

``Store.open(url)`` is the one way in. Writes arrive only as run-log record batches (:meth:`Store.ingest`),
the same records the SDK writes, so a live run, a replayed run log and a run synced over HTTP all take the
same path. Reads return frozen dataclasses and plain dicts.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from runyard.errors import StoreError
from runyard.records import Record
from runyard.store import reads
from runyard.store.engine import WRITE_OPTION, create_engine, normalize_url
from runyard.store.history import OpenBlockCache
from runyard.store.ingest import apply_batch, heartbeat, mark_crashed, session_of
from runyard.store.migrate import ensure_schema
from runyard.store.models import ProjectRecord, ResumeState, RunRecord

__all__ = ["Store"]


class Store:
    """A handle on one store database. Thread-safe; open one per process (engines do not survive a fork)."""

    def __init__(self, engine: Engine, *, crash_timeout: float = 300.0, cache_points: int = 500_000) -> None:
        """Wrap an engine whose schema is already current; use :meth:`open` instead."""
        self.engine = engine
        self.crash_timeout = crash_timeout
        self._write_engine = engine.execution_options(**{WRITE_OPTION: True})
        self._cache = OpenBlockCache(cache_points)

    @classmethod
    def open(cls, url: str, *, crash_timeout: float = 300.0) -> Store:
        """Open (creating and migrating when needed) the store at ``url``.

        ``sqlite:///path/runyard.db`` (the folder is created) or ``postgresql://user@host/db``. A run whose
        heartbeat is older than ``crash_timeout`` seconds, and which never exited, reads ``crashed``.
        """
        engine = create_engine(normalize_url(url))
        try:
            ensure_schema(engine)
        except sa.exc.SQLAlchemyError as exc:
            engine.dispose()
            raise StoreError(f"cannot open the store at {_safe(url)}: {exc}") from exc
        except BaseException:
            engine.dispose()
            raise
        return cls(engine, crash_timeout=crash_timeout)

    def close(self) -> None:
        """Release the store's connections. The store must not be used afterwards."""
        self.engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- writes ---------------------------------------------------------------------------------------------

    def ingest(self, records: Sequence[Record], *, session: str | None = None) -> int:
        """Apply a batch of one session's ``[seq, kind, body]`` records in one transaction.

        Records already applied (seq at or below the session's progress) are skipped, so replaying a batch is
        harmless. A batch that does not begin with the session's ``start`` record needs ``session=``. Raises
        :class:`~runyard.errors.IngestGapError` (applying nothing) when a seq is skipped. Returns the
        session's last applied seq.
        """
        sid = session_of(records, session)
        if not records:
            return self.session_progress(sid)
        try:
            with self._write_engine.begin() as conn:
                last_seq, staged = apply_batch(conn, records, sid, time.time(), self._cache)
        except sa.exc.SQLAlchemyError as exc:
            raise StoreError(f"could not ingest session {sid!r}: {exc}") from exc
        except (KeyError, TypeError, ValueError, OverflowError) as exc:
            # A record body not shaped as runyard.records says: retrying cannot help, so say which session.
            raise StoreError(f"malformed record in a batch of session {sid!r}: {exc!r}") from exc
        self._cache.install(staged)
        return last_seq

    def heartbeat(self, session: str, t: float) -> None:
        """Record that a session's process is alive at unix time ``t``, between batches of records.

        Ingesting any record refreshes the heartbeat too; this is for a live run with nothing new to send.
        A session the store has not seen yet is ignored.
        """
        try:
            with self._write_engine.begin() as conn:
                heartbeat(conn, session, t)
        except sa.exc.SQLAlchemyError as exc:
            raise StoreError(f"could not record a heartbeat for session {session!r}: {exc}") from exc

    def mark_crashed(self, session: str) -> bool:
        """Store the session's run as crashed now: its process is known to be dead.

        Only a run still running, and whose latest session this is (not superseded by a resume), is marked.
        Data or a heartbeat arriving later makes it running again. Returns whether the run was marked.
        """
        try:
            with self._write_engine.begin() as conn:
                return mark_crashed(conn, session)
        except sa.exc.SQLAlchemyError as exc:
            raise StoreError(f"could not mark session {session!r} crashed: {exc}") from exc

    def session_progress(self, session: str) -> int:
        """The last applied seq of a session (0 when the store has never seen it)."""
        with self.engine.connect() as conn:
            return reads.session_progress(conn, session)

    # -- reads ----------------------------------------------------------------------------------------------

    def get_run(self, entity: str, project: str, run_id: str) -> RunRecord | None:
        """One run, or None."""
        with self.engine.connect() as conn:
            return reads.get_run(conn, entity, project, run_id, time.time(), self.crash_timeout)

    def list_runs(self, entity: str, project: str) -> list[RunRecord]:
        """A project's runs, newest first."""
        with self.engine.connect() as conn:
            return reads.list_runs(conn, entity, project, time.time(), self.crash_timeout)

    def list_projects(self, entity: str | None = None) -> list[ProjectRecord]:
        """Projects (of one entity, or all), most recently active first."""
        with self.engine.connect() as conn:
            return reads.list_projects(conn, entity)

    def resume_state(self, entity: str, project: str, run_id: str) -> ResumeState | None:
        """What a resumed session needs to continue the run, or None if the run does not exist."""
        with self.engine.connect() as conn:
            return reads.resume_state(conn, entity, project, run_id)

    def history_keys(self, entity: str, project: str, run_id: str) -> list[str]:
        """The run's history keys, sorted: flattened, with ``_runtime`` and ``_timestamp`` (not ``_step``)."""
        with self.engine.connect() as conn:
            pk = reads.run_pk(conn, entity, project, run_id)
            return [] if pk is None else reads.history_keys(conn, pk)

    def series(self, entity: str, project: str, run_id: str, key: str) -> tuple[list[int], list[Any]]:
        """All ``(steps, values)`` of one history key; empty lists when the run or key is unknown."""
        with self.engine.connect() as conn:
            pk = reads.run_pk(conn, entity, project, run_id)
            return ([], []) if pk is None else reads.series_points(conn, pk, key)

    def history(
        self,
        entity: str,
        project: str,
        run_id: str,
        keys: Sequence[str] | None = None,
        min_step: int | None = None,
        max_step: int | None = None,
    ) -> Iterator[dict[str, Any]]:
        """The run's history rows in step order, decoded block by block as the iterator advances.

        Each row is ``{"_step": s, key: value, ...}``. With ``keys``, only rows holding at least one of them
        are returned, with ``_step`` and those keys only. An unknown run has no rows.
        """
        with self.engine.connect() as conn:
            pk = reads.run_pk(conn, entity, project, run_id)
        if pk is None:
            return iter(())
        return reads.history(self.engine, pk, keys, min_step, max_step)


def _safe(url: str) -> str:
    """The URL without its password, for error messages."""
    try:
        return sa.engine.make_url(url).render_as_string(hide_password=True)
    except sa.exc.ArgumentError:
        return "<invalid url>"
