"""The store: runs, their config and summary, and their history, in SQLite or PostgreSQL.

``Store.open(url)`` is the one way in. Writes arrive only as run-log record batches (:meth:`Store.ingest`),
the same records the SDK writes, so a live run, a replayed run log and a run synced over HTTP all take the
same path. Reads return frozen dataclasses and plain dicts.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from runyard.errors import ConflictError, FilterError, NotFoundError, StoreError, UsageError
from runyard.records import KIND_FILE, STATE_RUNNING, Record
from runyard.store import (
    api_keys,
    groups,
    keys,
    killed_marks,
    queries,
    reads,
    run_edits,
    run_files,
    run_marks,
    sampling,
    server_address,
    streams,
    workspaces,
)
from runyard.store.blobs import BlobStore, blob_url, open_blobs
from runyard.store.engine import WRITE_OPTION, create_engine, dialect_insert, normalize_url
from runyard.store.file_writes import file_of, upsert_files
from runyard.store.filters import AllOf, Condition, Field, Node, Order, parse_filter, parse_order
from runyard.store.history import OpenBlockCache
from runyard.store.identity import store_identity
from runyard.store.ingest import apply_batch, heartbeat, mark_crashed, session_of, session_progress, stop_requested_at
from runyard.store.losses import LostRecords, lost_records, stored_steps
from runyard.store.media.reads import MediaStore
from runyard.store.migrate import ensure_schema
from runyard.store.models import (
    ConsoleLine,
    FileInfo,
    ProjectKeys,
    ProjectRecord,
    ResumeState,
    RunGroup,
    RunRecord,
    SystemSample,
    WorkspaceRecord,
)
from runyard.store.patterns import compile_pattern
from runyard.store.sampling import Bucket, BucketColumns
from runyard.store.schema import projects as projects_table
from runyard.store.schema import store_settings
from runyard.store.server_state.room import Doc, ServerState, save_doc
from runyard.store.sql import SqlaSql

__all__ = ["BLOBS_SETTING", "Store", "default_blob_location"]

BLOBS_SETTING = "blobs"
"""The ``store_settings`` key of the store's blob location (a normalised URL, see runyard.store.blobs)."""


class Store:
    """A handle on one store database. Thread-safe; open one per process (engines do not survive a fork)."""

    def __init__(
        self,
        engine: Engine,
        *,
        crash_timeout: float = 300.0,
        cache_points: int = 500_000,
        blobs: BlobStore | None = None,
    ) -> None:
        """Wrap an engine whose schema is already current; use :meth:`open` instead."""
        self.engine = engine
        self.crash_timeout = crash_timeout
        self.blobs = blobs
        """Where run files' bytes go (None: inline in the database); see :mod:`runyard.store.blobs`."""
        self._write_engine = engine.execution_options(**{WRITE_OPTION: True})
        self._cache = OpenBlockCache(cache_points)
        self._identity: str | None = None
        self.media = MediaStore(engine, self.file_content)
        """Media keys, references, histograms over time and paged tables (see :mod:`runyard.store.media`)."""
        from runyard.store.artifacts.room import Artifacts

        self.artifacts = Artifacts(self)
        """Artifacts: versions, aliases, files, lineage, retention and blob gc (:mod:`runyard.store.artifacts`)."""
        from runyard.store.accounts.room import Accounts

        self.accounts = Accounts(self)
        """Users, teams, API keys, browser sessions, invitations (:class:`runyard.store.accounts.room.Accounts`)."""
        from runyard.store.sweeps.room import Sweeps

        self.sweeps = Sweeps(self)
        """Sweeps, their controller and agents (:class:`runyard.store.sweeps.room.Sweeps`)."""
        self.server_state = ServerState(self)
        """What a server keeps between requests, shared by its replicas (:mod:`runyard.store.server_state`)."""

    @classmethod
    def open(
        cls, url: str, *, crash_timeout: float = 300.0, blobs: str | None = None, default_blobs: str | None = None
    ) -> Store:
        """Open (creating and migrating when needed) the store at ``url``.

        ``sqlite:///path/runyard.db`` (the folder is created) or ``postgresql://user@host/db``. A run whose
        heartbeat is older than ``crash_timeout`` seconds, and which never exited, reads ``crashed``.

        ``blobs`` is where run files' bytes go (a folder path, ``file:///abs/path`` or ``s3://bucket/prefix``;
        see :mod:`runyard.store.blobs`). The first store opened with it records it, and every later open
        without it uses the recorded one; opening with another location raises
        :class:`~runyard.errors.StoreError`. A store that never had one keeps files in the database, unless
        ``default_blobs`` names where its blobs go when no location is recorded (the embedded store, ``runyard
        ui`` and ``runyard demo`` pass :func:`default_blob_location`: a folder beside the SQLite file).
        """
        engine = create_engine(normalize_url(url))
        try:
            ensure_schema(engine)
            location = _blob_location(engine, url, blobs)
            if location is None and blobs is None and default_blobs is not None:
                blobs = default_blobs
                location = _blob_location(engine, url, blobs)
            blob_store = None if location is None else open_blobs(location, create=blobs is not None)
        except sa.exc.SQLAlchemyError as exc:
            engine.dispose()
            raise StoreError(f"cannot open the store at {_safe(url)}: {exc}") from exc
        except BaseException:
            engine.dispose()
            raise
        return cls(engine, crash_timeout=crash_timeout, blobs=blob_store)

    def close(self) -> None:
        """Release the store's connections. The store must not be used afterwards."""
        self.engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- writes ---------------------------------------------------------------------------------------------

    def ingest(self, records: Sequence[Record], *, session: str | None = None, save: Doc | None = None) -> int:
        """Apply a batch of one session's ``[seq, kind, body]`` records in one transaction.

        Records already applied (seq at or below the session's progress) are skipped, so replaying a batch is
        harmless. A batch that does not begin with the session's ``start`` record needs ``session=``. Raises
        :class:`~runyard.errors.IngestGapError` (applying nothing) when a seq is skipped. Returns the
        session's last applied seq.

        ``save``: a server-state document written in the same transaction
        (:func:`~runyard.store.server_state.room.save_doc`): a :class:`~runyard.store.server_state.StaleDocError`
        from it applies nothing, so the records and the document that says they were sent move together.
        """
        sid = session_of(records, session)
        if not records:
            return self.session_progress(sid)
        records = run_files.blob_records(records, self.blobs)  # file contents to the blob store, first
        try:
            with self._write_engine.begin() as conn:
                last_seq, staged = apply_batch(SqlaSql(conn), records, sid, time.time(), self._cache)
                if save is not None:
                    save_doc(SqlaSql(conn), save)
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
                heartbeat(SqlaSql(conn), session, t)
        except sa.exc.SQLAlchemyError as exc:
            raise StoreError(f"could not record a heartbeat for session {session!r}: {exc}") from exc

    def mark_crashed(self, session: str) -> bool:
        """Store the session's run as crashed now: its process is known to be dead.

        Only a run still running, and whose latest session this is (not superseded by a resume), is marked.
        Data or a heartbeat arriving later makes it running again. Returns whether the run was marked.
        """
        try:
            with self._write_engine.begin() as conn:
                return mark_crashed(SqlaSql(conn), session)
        except sa.exc.SQLAlchemyError as exc:
            raise StoreError(f"could not mark session {session!r} crashed: {exc}") from exc

    def session_progress(self, session: str) -> int:
        """The last applied seq of a session (0 when the store has never seen it)."""
        with self.engine.connect() as conn:
            return session_progress(SqlaSql(conn), session)

    def stored_steps(self, session: str) -> int:
        """How many steps (history rows) the store holds for the run of ``session``, all sessions together."""
        with self.engine.connect() as conn:
            return stored_steps(SqlaSql(conn), session)

    def identity(self) -> str:
        """The store's own id (recorded on first use): names this store whatever URL reaches it."""
        if self._identity is None:
            try:
                with self._write_engine.begin() as conn:
                    self._identity = store_identity(SqlaSql(conn))
            except sa.exc.SQLAlchemyError as exc:
                raise StoreError(f"could not read the store's id: {exc}") from exc
        return self._identity

    # -- reads ----------------------------------------------------------------------------------------------

    def get_run(self, entity: str, project: str, run_id: str) -> RunRecord | None:
        """One run, or None."""
        with self.engine.connect() as conn:
            return reads.get_run(conn, entity, project, run_id, time.time(), self.crash_timeout)

    def list_runs(self, entity: str, project: str) -> list[RunRecord]:
        """A project's runs, newest first."""
        with self.engine.connect() as conn:
            return reads.list_runs(conn, entity, project, time.time(), self.crash_timeout)

    def list_projects(
        self, entity: str | None = None, *, search: str | None = None, readable: frozenset[str] | None = None
    ) -> list[ProjectRecord]:
        """Projects (of one entity, or all), most recently active first.

        With ``search``, only projects whose name contains it (ignoring case). ``readable`` narrows the list
        to what a reader may see (see :func:`runyard.server.access.readable_entities`; None: everything): the
        projects of those entities, public projects, and projects holding a public run, each counting only
        the runs the reader may read.
        """
        with self.engine.connect() as conn:
            found = reads.list_projects(conn, entity, readable=readable)
        if search:
            needle = search.casefold()
            found = [p for p in found if needle in p.name.casefold()]
        return found

    def get_project(self, entity: str, project: str, *, readable: frozenset[str] | None = None) -> ProjectRecord | None:
        """One project, or None (also when ``readable`` leaves it out, see :meth:`list_projects`)."""
        with self.engine.connect() as conn:
            found = reads.list_projects(conn, entity, project, readable=readable)
        return found[0] if found else None

    def project_keys(self, entity: str, project: str, *, public_only: bool = False) -> ProjectKeys:
        """Every flattened config, summary, history and system key that any run of the project has, sorted.

        History keys leave out ``_step``, ``_runtime``, ``_timestamp`` and ``system/*``. With ``public_only``,
        the keys of its public runs only (what an outsider may see). Raises
        :class:`~runyard.errors.NotFoundError` when the project does not exist.
        """
        with self.engine.connect() as conn:
            project_id = self._project_pk(conn, entity, project)
            if public_only:
                return keys.public_project_keys(conn, project_id)
            return keys.project_keys(conn, project_id)

    def session_entity(self, session: str) -> str | None:
        """The entity of the run ``session`` writes (None: no such session): who may send its records."""
        with self.engine.connect() as conn:
            return reads.session_entity(conn, session)

    def visibility_of(self, entity: str, project: str, run_id: str | None = None) -> tuple[str, str] | None:
        """``(project visibility, run visibility)`` of a run, or of the project alone (run visibility ``""``)
        when ``run_id`` is None; None when it does not exist. One indexed lookup: what access checks read."""
        with self.engine.connect() as conn:
            return reads.visibility_of(conn, entity, project, run_id)

    def public_run_ids(self, entity: str, project: str, run_ids: Sequence[str]) -> set[str]:
        """Which of ``run_ids`` name public runs of the project."""
        with self.engine.connect() as conn:
            return reads.public_run_ids(conn, entity, project, run_ids)

    def run_keys(self, entity: str, project: str, run_id: str) -> tuple[list[str], list[str]]:
        """``(history keys, system keys)`` of one run, sorted, history as :meth:`project_keys` lists it.

        Raises :class:`~runyard.errors.NotFoundError` when the run does not exist.
        """
        with self.engine.connect() as conn:
            pk = reads.run_pk(conn, entity, project, run_id)
            if pk is None:
                raise NotFoundError(f"no run {entity}/{project}/{run_id}")
            return keys.run_keys(conn, pk)

    def get_workspace(self, entity: str, project: str, username: str) -> WorkspaceRecord:
        """``username``'s saved workspace of the project (empty settings, ``updated_at`` None when never saved).

        Raises :class:`~runyard.errors.NotFoundError` when the project does not exist.
        """
        with self.engine.connect() as conn:
            return workspaces.get_workspace(conn, self._project_pk(conn, entity, project), username)

    def save_workspace(self, entity: str, project: str, username: str, settings: Mapping[str, Any]) -> WorkspaceRecord:
        """Replace ``username``'s workspace of the project with ``settings`` (a JSON object of at most 1 MiB).

        Raises :class:`~runyard.errors.NotFoundError` when the project does not exist and
        :class:`~runyard.errors.UsageError` when the settings are not a JSON object or are too large.
        """
        try:
            with self._write_engine.begin() as conn:
                project_id = self._project_pk(conn, entity, project)
                return workspaces.save_workspace(conn, project_id, username, settings, time.time())
        except sa.exc.SQLAlchemyError as exc:
            raise StoreError(f"could not save the workspace of {entity}/{project}: {exc}") from exc

    def _project_pk(self, conn: sa.Connection, entity: str, project: str) -> int:
        project_id = queries.project_pk(conn, entity, project)
        if project_id is None:
            raise NotFoundError(f"no project {entity}/{project}")
        return project_id

    def lost_records(self, entity: str, project: str, run_id: str) -> list[LostRecords]:
        """Records of the run that a damaged run log lost (empty when none were, or the run does not exist)."""
        with self.engine.connect() as conn:
            pk = reads.run_pk(conn, entity, project, run_id)
            return [] if pk is None else lost_records(SqlaSql(conn), pk)

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

    # -- run data: metadata, console output, system metrics, files; edits from runyard.Api -------------------
    # (storage of where and how a run ran: store/streams.py, store/run_files.py, store/run_edits.py)

    def console(
        self,
        entity: str,
        project: str,
        run_id: str,
        *,
        start: int = 0,
        limit: int | None = None,
        search: str | None = None,
    ) -> list[ConsoleLine]:
        """The run's console lines numbered ``start`` and on, in order (at most ``limit``); [] for an unknown run.

        Line numbers run 0, 1, 2... across all the run's sessions, so a reader following a live run asks for
        ``start=`` the number after the last line it has. With ``search``, only lines containing it (ignoring
        case) are returned.
        """
        with self.engine.connect() as conn:
            pk = reads.run_pk(conn, entity, project, run_id)
            if pk is None:
                return []
            if search:
                return streams.search_console(conn, pk, search, start, limit)
            return streams.console_lines_of(conn, pk, start, limit)

    def console_count(self, entity: str, project: str, run_id: str) -> int:
        """How many console lines the run has (0 for an unknown run)."""
        with self.engine.connect() as conn:
            pk = reads.run_pk(conn, entity, project, run_id)
            return 0 if pk is None else streams.console_count(conn, pk)

    def system_history(
        self, entity: str, project: str, run_id: str, keys: Sequence[str] | None = None
    ) -> list[dict[str, Any]]:
        """The run's system-metrics samples in time order: ``{"_timestamp": t, "_runtime": r, key: v...}``.

        With ``keys`` (``system/...`` names), rows hold only those keys and samples with none of them are
        left out. An unknown run has no rows.
        """
        with self.engine.connect() as conn:
            pk = reads.run_pk(conn, entity, project, run_id)
            return [] if pk is None else streams.system_history(conn, pk, keys)

    def system_samples(
        self, entity: str, project: str, run_id: str, *, after: float | None = None
    ) -> list[SystemSample]:
        """The run's system-metrics samples taken after unix time ``after`` (all for None), in time order.

        A reader following a live run passes the time of the last sample it has. An unknown run has none.
        """
        with self.engine.connect() as conn:
            pk = reads.run_pk(conn, entity, project, run_id)
            return [] if pk is None else streams.system_samples_of(conn, pk, after)

    def files(self, entity: str, project: str, run_id: str) -> list[FileInfo]:
        """The run's files by name: those it sent, and ``output.log``, ``config.yaml``, ``runyard-summary.json``
        and ``runyard-metadata.json`` derived from its data (see :mod:`runyard.store.run_files`)."""
        with self.engine.connect() as conn:
            pk = reads.run_pk(conn, entity, project, run_id)
            return [] if pk is None else run_files.list_files(conn, pk)

    def file_content(self, entity: str, project: str, run_id: str, name: str) -> bytes | None:
        """The content of one of the run's files (stored or derived), or None."""
        with self.engine.connect() as conn:
            pk = reads.run_pk(conn, entity, project, run_id)
            content = None if pk is None else run_files.file_content(conn, pk, name)
        # A file in the blob store is read after the connection is released (it may be large, or far away).
        return run_files.read_content(content, self.blobs, f"file {name!r} of run {entity}/{project}/{run_id}")

    def file_stream(self, entity: str, project: str, run_id: str, name: str) -> tuple[int, Iterator[bytes]] | None:
        """As :meth:`file_content`, but the size and the content in chunks, read as they are iterated (a file in
        the blob store is never held in memory whole); None when the run has no such file.

        A blob that cannot be read raises :class:`~runyard.errors.StoreError` here, before the first chunk.
        """
        with self.engine.connect() as conn:
            pk = reads.run_pk(conn, entity, project, run_id)
            content = None if pk is None else run_files.file_content(conn, pk, name)
        return run_files.stream_content(content, self.blobs, f"file {name!r} of run {entity}/{project}/{run_id}")

    def put_file(
        self,
        entity: str,
        project: str,
        run_id: str,
        name: str,
        content: bytes | None = None,
        *,
        blob: tuple[str, int] | None = None,
    ) -> str:
        """Store one file of an existing run, replacing any of the same name, without touching anything else.

        For a file that arrives outside the run's sessions (a wandb client's upload after the run ended, or
        ``wandb.Api().run(path).upload_file()``): the run keeps its state and exit code. ``content`` is the
        bytes; or ``blob=(key, size)`` names content already in the store's blob store. The name is made
        safe as every stored file name is (see :func:`runyard.store.file_writes.safe_file_name`); returns it.

        Raises :class:`~runyard.errors.NotFoundError` when the run does not exist, and
        :class:`~runyard.errors.UsageError` for a name that names no file (``""``, ``"/"``).
        """
        body: dict[str, Any] = {"name": name}
        if blob is not None:
            body.update(blob=blob[0], size=blob[1])
        else:
            body["content"] = content if content is not None else b""
        (record,) = run_files.blob_records([[0, KIND_FILE, body]], self.blobs)
        try:
            stored_name, stored = file_of(record[2])
        except ValueError as exc:
            raise UsageError(str(exc)) from None
        try:
            with self._write_engine.begin() as conn:
                pk = reads.run_pk(conn, entity, project, run_id)
                if pk is None:
                    raise NotFoundError(f"no run {entity}/{project}/{run_id}")
                upsert_files(SqlaSql(conn), pk, {stored_name: stored}, time.time())
        except sa.exc.SQLAlchemyError as exc:
            raise StoreError(f"could not store file {name!r} of run {entity}/{project}/{run_id}: {exc}") from exc
        return stored_name

    def update_run(
        self,
        entity: str,
        project: str,
        run_id: str,
        *,
        name: str | None = None,
        notes: str | None = None,
        tags: Sequence[str] | None = None,
        config: dict[str, Any] | None = None,
        summary: dict[str, Any] | None = None,
        metadata: dict[str, Any] | None = None,
        visibility: str | None = None,
    ) -> RunRecord:
        """Edit a run (``runyard.Api``'s ``run.update()``, the web app); returns the run as it now is.

        Only the fields given (not None) change. ``config``, ``summary`` and ``metadata`` replace the stored
        dicts wholesale: pass the full edited dict. ``visibility`` is ``"private"`` or ``"public"``. Raises
        :class:`~runyard.errors.NotFoundError` when the run does not exist.
        """
        try:
            with self._write_engine.begin() as conn:
                pk = reads.run_pk(conn, entity, project, run_id)
                if pk is None or run_edits.lock_run(conn, pk) is None:
                    raise NotFoundError(f"no run {entity}/{project}/{run_id}")
                run_edits.update_run(
                    conn,
                    pk,
                    name=name,
                    notes=notes,
                    tags=tags,
                    config=config,
                    summary=summary,
                    metadata=metadata,
                    visibility=visibility,
                )
                found = reads.get_run(conn, entity, project, run_id, time.time(), self.crash_timeout)
        except sa.exc.SQLAlchemyError as exc:
            raise StoreError(f"could not update run {entity}/{project}/{run_id}: {exc}") from exc
        if found is None:  # cannot happen: the row was locked
            raise NotFoundError(f"no run {entity}/{project}/{run_id}")
        return found

    def set_project_visibility(self, entity: str, project: str, visibility: str) -> ProjectRecord:
        """Make a project ``"private"`` (members of its entity) or ``"public"`` (anyone, read-only); returns it.

        Raises :class:`~runyard.errors.NotFoundError` when the project does not exist and
        :class:`~runyard.errors.UsageError` for another word.
        """
        if visibility not in run_edits.VISIBILITIES:
            raise UsageError(f"visibility must be 'private' or 'public', not {visibility!r}")
        try:
            with self._write_engine.begin() as conn:
                project_id = self._project_pk(conn, entity, project)
                conn.execute(
                    sa.update(projects_table).where(projects_table.c.id == project_id).values(visibility=visibility)
                )
        except sa.exc.SQLAlchemyError as exc:
            raise StoreError(f"could not change the visibility of {entity}/{project}: {exc}") from exc
        found = self.get_project(entity, project)
        if found is None:  # deleted meanwhile
            raise NotFoundError(f"no project {entity}/{project}")
        return found

    def delete_run(self, entity: str, project: str, run_id: str) -> bool:
        """Delete a run and all its data (sessions, history, console, system metrics, files).

        The project's last activity moves to now; the run id is free for a new run. Returns False when there
        was no such run. A process still writing the run gets store errors for its later batches.
        """
        try:
            with self._write_engine.begin() as conn:
                pk = reads.run_pk(conn, entity, project, run_id)
                project_id = None if pk is None else run_edits.lock_run(conn, pk)
                if pk is None or project_id is None:
                    return False
                series_ids = run_edits.delete_run(conn, pk, project_id, time.time())
        except sa.exc.SQLAlchemyError as exc:
            raise StoreError(f"could not delete run {entity}/{project}/{run_id}: {exc}") from exc
        # SQLite may give a deleted series' id to a new one: no cached block of the old one may survive.
        self._cache.discard(dict.fromkeys(series_ids))
        return True

    def request_stop(self, entity: str, project: str, run_id: str) -> RunRecord:
        """Ask a running run to stop; returns the run with its ``stop_requested_at``.

        The run's ingester notices the request within about a second and interrupts the training process,
        which receives KeyboardInterrupt and ends the run ``killed``. Asking again while the run still runs
        (its script caught the interrupt) interrupts it again, like a second Ctrl-C.

        Raises :class:`~runyard.errors.NotFoundError` when the run does not exist and
        :class:`~runyard.errors.ConflictError` when it is not running (as read: a run whose heartbeat is stale
        reads crashed).
        """
        try:
            with self._write_engine.begin() as conn:
                pk = reads.run_pk(conn, entity, project, run_id)
                if pk is None or run_edits.lock_run(conn, pk) is None:
                    raise NotFoundError(f"no run {entity}/{project}/{run_id}")
                now = time.time()
                found = reads.get_run(conn, entity, project, run_id, now, self.crash_timeout)
                if found is None or found.state != STATE_RUNNING:
                    state = "gone" if found is None else found.state
                    raise ConflictError(f"run {entity}/{project}/{run_id} is {state}, not running: nothing to stop")
                run_edits.request_stop(conn, pk, now)
                found = reads.get_run(conn, entity, project, run_id, now, self.crash_timeout)
        except sa.exc.SQLAlchemyError as exc:
            raise StoreError(f"could not request run {entity}/{project}/{run_id} to stop: {exc}") from exc
        if found is None:  # cannot happen: the row was locked
            raise NotFoundError(f"no run {entity}/{project}/{run_id}")
        return found

    def mark_killed(
        self, entity: str, project: str, run_id: str, *, by: str | None = None, reason: str | None = None
    ) -> RunRecord:
        """End a run whose stop does not land as ``killed`` now (exit code 255); returns the ended run.

        For a run whose process cannot be reached: its ingester is gone (no heartbeat), or it runs on a
        host this store's stop does not reach. ``by`` (who) and ``reason`` are kept with the time in the
        run's ``metadata["marked_killed"]``. A run stored as running qualifies, also one that reads crashed
        because its heartbeat is stale. If its process sends data again, the run reads running again, as a
        crashed run does, and the mark stays with ``revived_at`` added (:mod:`runyard.store.killed_marks`).

        Raises :class:`~runyard.errors.NotFoundError` when the run does not exist and
        :class:`~runyard.errors.ConflictError` when it has already ended.
        """
        try:
            with self._write_engine.begin() as conn:
                pk = reads.run_pk(conn, entity, project, run_id)
                if pk is None or run_edits.lock_run(conn, pk) is None:
                    raise NotFoundError(f"no run {entity}/{project}/{run_id}")
                now = time.time()
                if not killed_marks.mark_killed(conn, pk, now, by=by, reason=reason):
                    found = reads.get_run(conn, entity, project, run_id, now, self.crash_timeout)
                    state = "gone" if found is None else found.state
                    raise ConflictError(
                        f"run {entity}/{project}/{run_id} has already ended ({state}): only a running run can be"
                        " marked killed"
                    )
                found = reads.get_run(conn, entity, project, run_id, now, self.crash_timeout)
        except sa.exc.SQLAlchemyError as exc:
            raise StoreError(f"could not mark run {entity}/{project}/{run_id} killed: {exc}") from exc
        if found is None:  # cannot happen: the row was locked
            raise NotFoundError(f"no run {entity}/{project}/{run_id}")
        return found

    def stop_requested(self, session: str) -> bool:
        """Whether someone asked the run of ``session`` to stop (:meth:`request_stop`) while it runs."""
        return self.stop_requested_at(session) is not None

    def stop_requested_at(self, session: str) -> float | None:
        """When someone last asked the run of ``session`` to stop (:meth:`request_stop`) while it runs, or None.

        The session's ingester polls this about once a second (one indexed read) and interrupts the training
        process once per request time.
        """
        with self.engine.connect() as conn:
            return stop_requested_at(SqlaSql(conn), session)

    def mark_preempting(self, session: str, t: float) -> None:
        """Record that the run of ``session`` is about to be preempted (wandb's ``mark_preempting()``).

        The first mark is kept; a session the store has not seen is ignored.
        """
        try:
            with self._write_engine.begin() as conn:
                run_marks.mark_preempting(conn, session, t)
        except sa.exc.SQLAlchemyError as exc:
            raise StoreError(f"could not mark session {session!r} preempting: {exc}") from exc

    # -- the server's address (run URLs): store/server_address.py -----------------------------------------------

    def record_server_url(self, url: str) -> None:
        """Record the address of the server that serves this store (``runyard ui``/``server`` do it at start)."""
        try:
            server_address.record(self.engine, url)
        except sa.exc.SQLAlchemyError as exc:
            raise StoreError(f"could not record the server's address: {exc}") from exc

    def server_url(self) -> str | None:
        """The address of the server that last served this store (``http://host:port``), or None."""
        return server_address.read(self.engine)

    # -- API keys (the wandb client's HTTP Basic password): store/api_keys.py -----------------------------------

    def create_api_key(self, username: str, name: str = "", *, key: str | None = None) -> str:
        """Store a new API key for ``username`` (random unless ``key`` is given) and return the key itself.

        Only its SHA-256 is kept: the key cannot be read back from the store.
        """
        try:
            with self._write_engine.begin() as conn:
                return api_keys.create_key(conn, username, name, time.time(), key)
        except sa.exc.SQLAlchemyError as exc:
            raise StoreError(f"could not store an API key: {exc}") from exc

    def api_key_owner(self, key: str, *, touch: bool = False) -> str | None:
        """The username ``key`` belongs to, or None for an unknown key; ``touch`` records its use now."""
        try:
            if not touch:
                with self.engine.connect() as conn:
                    return api_keys.key_owner(conn, key)
            with self._write_engine.begin() as conn:
                owner = api_keys.key_owner(conn, key)
                if owner is not None:
                    api_keys.touch_key(conn, key, time.time())
                return owner
        except sa.exc.SQLAlchemyError as exc:
            raise StoreError(f"could not check an API key: {exc}") from exc

    # -- run queries and bucketed history (runyard.Api): store/filters.py, queries.py, sampling.py ------------

    def query_runs(
        self,
        entity: str,
        project: str,
        *,
        filters: Mapping[str, Any] | Node | None = None,
        order: str | Order | None = "-created_at",
        limit: int | None = None,
        offset: int = 0,
        search: str | None = None,
        public_only: bool = False,
    ) -> list[RunRecord]:
        """A project's runs matching W&B-style ``filters``, sorted by ``order``, from ``offset`` (at most ``limit``).

        ``filters`` is a MongoDB-style dict (see :mod:`runyard.store.filters`); ``order`` a field with ``-`` for
        descending (``created_at``, ``display_name``, ``config.lr``, ``summary_metrics.loss``...). Runs that lack
        the order field come last either way. ``search`` is a regular expression (RE2 syntax, matched in linear
        time: see :mod:`runyard.store.patterns`) that must match somewhere in the display name, ignoring case.
        Raises :class:`~runyard.errors.FilterError` for a bad filter, search pattern or order.
        An unknown project has no runs. With ``public_only`` (an outsider's query), only the public runs exist.
        """
        node, parsed = _filter_node(filters, search), parse_order(order)
        _check_page(limit, offset)
        with self.engine.connect() as conn:
            return queries.query_runs(
                conn, entity, project, node, parsed, limit, offset, time.time(), self.crash_timeout, public_only
            )

    def count_runs(
        self,
        entity: str,
        project: str,
        *,
        filters: Mapping[str, Any] | Node | None = None,
        search: str | None = None,
        public_only: bool = False,
    ) -> int:
        """How many of a project's runs match ``filters`` and ``search`` (see :meth:`query_runs`)."""
        node = _filter_node(filters, search)
        with self.engine.connect() as conn:
            return queries.count_runs(conn, entity, project, node, time.time(), self.crash_timeout, public_only)

    def query_run_ids(
        self,
        entity: str,
        project: str,
        *,
        filters: Mapping[str, Any] | Node | None = None,
        order: str | Order | None = "-created_at",
        search: str | None = None,
        public_only: bool = False,
    ) -> list[str]:
        """The ids of every run matching ``filters`` and ``search``, in ``order``: a snapshot for paging (see
        :meth:`get_runs`)."""
        node, parsed = _filter_node(filters, search), parse_order(order)
        with self.engine.connect() as conn:
            return queries.query_run_ids(
                conn, entity, project, node, parsed, time.time(), self.crash_timeout, public_only
            )

    def group_runs(
        self,
        entity: str,
        project: str,
        group_by: str,
        *,
        filters: Mapping[str, Any] | Node | None = None,
        search: str | None = None,
        order: str | Order | None = "-created_at",
        public_only: bool = False,
    ) -> list[RunGroup]:
        """The runs matching ``filters`` and ``search``, sorted by ``order``, grouped by one field's value.

        ``group_by`` is ``group``, ``job_type``, ``tags`` (a run with several tags falls in each) or
        ``config.KEY``. Groups come in the order of their first run; each lists its run ids in order; runs
        lacking the field form the group whose value is None. Raises :class:`~runyard.errors.FilterError` for
        a bad field, filter, search or order. An unknown project has no groups.
        """
        field = groups.group_field(group_by)
        node, parsed = _filter_node(filters, search), parse_order(order)
        with self.engine.connect() as conn:
            project_id = queries.project_pk(conn, entity, project)
            if project_id is None:
                return []
            ids = queries.query_run_ids(
                conn, entity, project, node, parsed, time.time(), self.crash_timeout, public_only
            )
            return groups.group_runs(conn, project_id, ids, field)

    def get_runs(
        self, entity: str, project: str, run_ids: Sequence[str], *, public_only: bool = False
    ) -> list[RunRecord]:
        """The runs with these ids, in the order given; ids with no run (deleted meanwhile; with ``public_only``,
        no public run) are left out."""
        with self.engine.connect() as conn:
            return queries.get_runs(conn, entity, project, run_ids, time.time(), self.crash_timeout, public_only)

    def bucket_series(
        self,
        entity: str,
        project: str,
        run_id: str,
        key: str,
        *,
        buckets: int = 1000,
        x_axis: str = "_step",
        min_x: float | None = None,
        max_x: float | None = None,
    ) -> list[Bucket]:
        """One history key cut into at most ``buckets`` equal x-ranges, each with its min, max and last value.

        Full fidelity, never random: along ``_step``, buckets covering whole blocks come from the blocks'
        summaries and only blocks at bucket edges are decoded. With another ``x_axis`` (``_runtime``,
        ``_timestamp``, a metric) points are placed by that key's value at their step; steps without it are
        skipped. Empty buckets are left out; an unknown run or key has none.
        """
        with self.engine.connect() as conn:
            pk = reads.run_pk(conn, entity, project, run_id)
            if pk is None:
                return []
            return sampling.bucket_series(conn, pk, key, buckets=buckets, x_axis=x_axis, min_x=min_x, max_x=max_x)

    def bucket_series_many(
        self,
        entity: str,
        project: str,
        run_ids: Sequence[str],
        keys: Sequence[str],
        *,
        x_axis: str = "_step",
        min_x: float | None = None,
        max_x: float | None = None,
        buckets: int = 1000,
    ) -> dict[tuple[str, str], list[Bucket]]:
        """:meth:`bucket_series` for every (run, key) pair at once, on one connection: what a chart of many
        runs asks for. Maps ``(run_id, key)`` to its non-empty buckets; pairs without points are left out."""
        found = self.bucket_columns_many(
            entity, project, run_ids, keys, x_axis=x_axis, min_x=min_x, max_x=max_x, buckets=buckets
        )
        return {pair: columns.buckets() for pair, columns in found.items()}

    def bucket_columns_many(
        self,
        entity: str,
        project: str,
        run_ids: Sequence[str],
        keys: Sequence[str],
        *,
        x_axis: str = "_step",
        min_x: float | None = None,
        max_x: float | None = None,
        buckets: int = 1000,
    ) -> dict[tuple[str, str], BucketColumns]:
        """:meth:`bucket_series_many` as columns (one per :class:`Bucket` field, and ``x``, where to draw each
        bucket; NumPy arrays on the rollup path, see :class:`~runyard.store.sampling.BucketColumns`): the same
        buckets without a Python object per bucket, which a 100-run chart notices.

        Along ``_step``, long series are read from rollups (chunk summaries of 256 points): then bucket edges
        fall on chunk starts, every bucket's min/max/last still exact (see :mod:`runyard.store.chart_reads`).
        Pairs are in the order of ``run_ids`` then ``keys``.
        """
        with self.engine.connect() as conn:
            return sampling.bucket_columns_many(
                conn, entity, project, run_ids, keys, buckets=buckets, x_axis=x_axis, min_x=min_x, max_x=max_x
            )

    def sampled_history(
        self,
        entity: str,
        project: str,
        run_id: str,
        keys: Sequence[str] | None = None,
        samples: int = 500,
        x_axis: str = "_step",
    ) -> list[dict[str, Any]]:
        """History rows in step order, thinned without losing extremes.

        For every key (all of the run's keys when ``keys`` is None), its series is cut into about
        ``samples / 3`` buckets and the rows holding each bucket's min, max and last value are all returned,
        merged by step like :meth:`history` (a row holds ``_step`` and the asked keys present at that step).
        With another ``x_axis``, buckets follow that key's values and rows lacking it are skipped.
        """
        with self.engine.connect() as conn:
            pk = reads.run_pk(conn, entity, project, run_id)
            if pk is None:
                return []
            return sampling.sampled_history(conn, pk, keys, samples, x_axis)


def _filter_node(filters: Mapping[str, Any] | Node | None, search: str | None) -> Node:
    """``filters`` and, when given, a case-insensitive regex ``search`` on the display name, both to hold."""
    node = parse_filter(filters)
    if not search:
        return node
    if not isinstance(search, str):
        raise FilterError(f"search must be a regular expression string, not {type(search).__name__}")
    pattern = compile_pattern(search, "i", where="search")
    return AllOf((node, Condition(Field("column", "display_name"), "$regex", pattern)))


def _check_page(limit: int | None, offset: int) -> None:
    if limit is not None and (type(limit) is not int or limit < 0):
        raise UsageError(f"limit must be None or an integer >= 0, not {limit!r}")
    if type(offset) is not int or offset < 0:
        raise UsageError(f"offset must be an integer >= 0, not {offset!r}")


def default_blob_location(url: str) -> str | None:
    """Where a store at ``url`` keeps its blobs when nothing else is said: ``blobs/`` beside a SQLite file
    (so a checkpoint never has to fit in the database); None for PostgreSQL, whose server has no folder of ours."""
    from runyard.store.writer import sqlite_file

    path = sqlite_file(url)
    return None if path is None else str(path.parent / "blobs")


def _blob_location(engine: Engine, url: str, blobs: str | None) -> str | None:
    """The store's blob location: the one recorded in ``store_settings``, recording ``blobs`` if none is.

    Raises :class:`~runyard.errors.StoreError` when ``blobs`` differs from the recorded location.
    """
    setting = store_settings.c.key == BLOBS_SETTING
    with engine.connect() as conn:
        recorded = conn.execute(sa.select(store_settings.c.value).where(setting)).scalar()
    if blobs is None:
        return recorded
    wanted = blob_url(blobs)
    if recorded is None:
        open_blobs(wanted, create=True)  # a folder that cannot be created is never recorded
        with engine.execution_options(**{WRITE_OPTION: True}).begin() as conn:
            stmt = dialect_insert(conn, store_settings).values(key=BLOBS_SETTING, value=wanted)
            conn.execute(stmt.on_conflict_do_nothing(index_elements=[store_settings.c.key]))
            # Another process may have recorded its location first: that one holds.
            recorded = conn.execute(sa.select(store_settings.c.value).where(setting)).scalar()
    if recorded != wanted:
        raise StoreError(
            f"the store at {_safe(url)} keeps its blobs at {recorded}, not {wanted}: open it with that location "
            "(or without one: the recorded location is used). A store's blob location cannot be changed in "
            "place; to move the blobs, copy them to the new location, then update the 'blobs' row of the "
            "store's store_settings table."
        )
    return wanted


def _safe(url: str) -> str:
    """The URL without its password, for error messages."""
    try:
        return sa.engine.make_url(url).render_as_string(hide_password=True)
    except sa.exc.ArgumentError:
        return "<invalid url>"
