"""One runyard session per wandb client run: what arrives over the wire becomes run-log records.

The wandb client has no notion of runyard's sessions, so the server keeps one :class:`ClientRun` per run that a
client process is writing: the session id, the last record seq, and the line offsets of the streams the client
appends to. ``UpsertBucket`` opens a session when the run has none open (or after ``RunResumeStatus``: a new
process resuming), ``file_stream`` and uploads add records to it, and the final ``file_stream`` (``complete``)
writes the exit record. An upload never opens a session: one that arrives after the end is attached to the
run as it stands (:meth:`Sessions.add_upload`). Everything is stored with :meth:`Store.ingest`, exactly as the
runyard SDK's run logs are, so a wandb run and a runyard run look the same everywhere.

The :class:`ClientRun` lives in the store (``store.server_state``), written in the same transaction as the
records it numbers: a server restarting, or the client's next request reaching another replica of the same
store, continues the same session at the same offsets, so nothing is lost or stored twice. A request for a run
with no open session (one the client completed, or one started before the store kept sessions) opens a
resumed session.
"""

from __future__ import annotations

import json
import logging
import math
import threading
import time
import uuid
from dataclasses import asdict, dataclass, field
from typing import Any

from runyard.errors import NotFoundError, StoreError
from runyard.names import new_run_name
from runyard.records import (
    KIND_CONFIG,
    KIND_CONSOLE,
    KIND_EXIT,
    KIND_FILE,
    KIND_META,
    KIND_METADATA,
    KIND_METRIC,
    KIND_ROW,
    KIND_START,
    KIND_SUMMARY,
    KIND_SYSTEM,
    STATE_FAILED,
    STATE_FINISHED,
    STATE_KILLED,
    MetricBody,
    Record,
)
from runyard.server.wandb.convert import console_line, metrics_of, system_to_runyard, unwrap_config
from runyard.store import Store
from runyard.store.server_state import Doc, StaleDocError

__all__ = ["KIND", "ClientRun", "RunFields", "Sessions", "forget_client_run"]

log = logging.getLogger("runyard.server.wandb")

HISTORY = "wandb-history.jsonl"
EVENTS = "wandb-events.jsonl"
SUMMARY = "wandb-summary.json"
OUTPUT = "output.log"

_KEEP_ENDED_S = 600.0

# The run's environment that wandb puts in config "_wandb.e", as runyard's metadata keys.
_METADATA_KEYS = {
    "os": "os",
    "python": "python",
    "host": "host",
    "program": "program",
    "codePath": "code_path",
    "executable": "executable",
    "cpu_count": "cpu_count",
    "cpu_count_logical": "cpu_count_logical",
    "gpu": "gpu",
    "gpu_count": "gpu_count",
    "cuda": "cuda",
    "args": "args",
    "root": "cwd",
    "startedAt": "started_at_iso",
    "email": "email",
}


@dataclass
class RunFields:
    """What an ``UpsertBucket`` from the run's own process says about the run (None: not given)."""

    display_name: str | None = None
    notes: str | None = None
    tags: list[str] | None = None
    group: str | None = None
    job_type: str | None = None
    host: str | None = None
    program: str | None = None
    config: dict[str, Any] | None = None  # wandb's wrapped config, "_wandb" included
    commit: str | None = None
    repo: str | None = None


@dataclass
class ClientRun:
    """One client process writing one run: a runyard session and the client's stream offsets.

    Kept in the store (``store.server_state``, kind :data:`KIND`), never in the server's memory: every request
    reads it, and writes it back in the transaction that stores the request's records.
    """

    entity: str
    project: str
    run_id: str
    session: str
    started_at: float
    seq: int = 0
    history_next: int = 0
    events_next: int = 0
    console_next: int = 0  # the first console line not yet stored
    console_pending: dict[int, tuple[float, str, str]] = field(default_factory=dict)
    config: dict[str, Any] = field(default_factory=dict)
    metrics: list[MetricBody] = field(default_factory=list)
    environment: dict[str, Any] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)
    wandb_summary: dict[str, Any] = field(default_factory=dict)
    runtime: float = 0.0
    done: bool = False
    ended_at: float = 0.0  # when the client completed the run (unix time)

    def to_value(self) -> dict[str, Any]:
        """The run as a JSON document."""
        value = asdict(self)
        value["console_pending"] = {str(k): list(v) for k, v in self.console_pending.items()}
        return value

    @classmethod
    def from_value(cls, value: dict[str, Any]) -> ClientRun:
        """The run a document of :meth:`to_value` holds."""
        value = dict(value)
        pending = value.pop("console_pending", {}) or {}
        run = cls(**value)
        run.console_pending = {int(k): (float(v[0]), str(v[1]), str(v[2])) for k, v in pending.items()}
        return run


KIND = "wandb-run"
"""The ``server_state`` kind of a :class:`ClientRun`, keyed ``entity/project/run_id``."""

_RESUME_KIND = "wandb-resume"
_RESUME_TTL_S = 3600.0
_ATTEMPTS = 50


class _Loaded:
    """A run read from the store, with the document it came from (to write it back, or see it changed)."""

    def __init__(self, run: ClientRun, doc: Doc) -> None:
        self.run = run
        self.doc = doc
        self.before = doc.value

    def changed(self) -> bool:
        self.doc.value = self.run.to_value()
        self.doc.expires_at = self.run.ended_at + _KEEP_ENDED_S if self.run.done else None
        return self.doc.value != self.before or self.doc.version == 0


class Sessions:
    """The open client runs of a store, by ``(entity, project, run_id)``, kept in the store so that every server
    replica continues what another started. Thread-safe; concurrent requests for one run (the client's uploads
    beside its ``file_stream``, or two replicas) are applied one after the other: each writes the run's
    document only if it is still the one it read, else reads again and redoes its work
    (:class:`~runyard.store.server_state.StaleDocError`)."""

    def __init__(self, store: Store) -> None:
        self.store = store
        # Requests of one run on this replica wait for each other instead of redoing work; only a mutex.
        self._locks = [threading.Lock() for _ in range(64)]

    def _lock(self, key: str) -> threading.Lock:
        return self._locks[hash(key) % len(self._locks)]

    def _load(self, key: str) -> _Loaded | None:
        doc = self.store.server_state.get(KIND, key)
        if doc is None:
            return None
        return _Loaded(ClientRun.from_value(doc.value), doc)

    def _write(self, loaded: _Loaded, records: list[Record]) -> None:
        """Ingest ``records`` after the session's last seq with the run's document; StaleDocError: nothing."""
        run = loaded.run
        if records:
            numbered = [[run.seq + i, kind, body] for i, (_seq, kind, body) in enumerate(records, start=1)]
            run.seq = numbered[-1][0]
            loaded.changed()
            self.store.ingest(numbered, session=run.session, save=loaded.doc)
        elif loaded.changed():
            self.store.server_state.save(loaded.doc)

    # -- opening and updating ------------------------------------------------------------------------------

    def expect_resume(self, entity: str, project: str, run_id: str) -> None:
        """A client asked to resume the run (``RunResumeStatus``): its next ``UpsertBucket`` opens a session."""
        self.store.server_state.put(_RESUME_KIND, _key(entity, project, run_id), {}, time.time() + _RESUME_TTL_S)

    def upsert(self, entity: str, project: str, run_id: str, fields: RunFields, username: str) -> ClientRun:
        """Apply an ``UpsertBucket`` from the run's process: open a session, or store what changed."""
        key = _key(entity, project, run_id)
        with self._lock(key):
            for _ in range(_ATTEMPTS):
                loaded = self._load(key)
                resuming = self.store.server_state.get(_RESUME_KIND, key) is not None
                try:
                    if loaded is None or loaded.run.done or resuming:
                        self.store.server_state.purge(KIND)
                        run = self._open(entity, project, run_id, fields, username, loaded)
                        if resuming:
                            self.store.server_state.delete(_RESUME_KIND, key)
                        return run
                    self._write(loaded, self._changes(loaded.run, fields))
                    return loaded.run
                except StaleDocError:
                    continue
        raise _busy(key)

    def forget(self, entity: str, project: str, run_id: str) -> None:
        """Drop the run's session (the run was deleted): a client still writing it starts it anew."""
        forget_client_run(self.store, entity, project, run_id)

    def _open(
        self,
        entity: str,
        project: str,
        run_id: str,
        fields: RunFields,
        username: str,
        previous: _Loaded | None,
        recovering: bool = False,
    ) -> ClientRun:
        """Start a new session of the run, replacing ``previous`` (the document read); StaleDocError: none."""
        now = time.time()
        resume = self.store.resume_state(entity, project, run_id)
        wrapped = fields.config or {}
        config, internal = unwrap_config(wrapped)
        if resume is not None and fields.config is None:
            config = dict(resume.config)
        run = ClientRun(entity, project, run_id, uuid.uuid4().hex, now)
        tags = fields.tags
        if resume is not None and not tags:
            tags = list(resume.tags)  # a resuming client sends tags: [] unless it sets its own
        start = {
            "session": run.session,
            "run_id": run_id,
            "project": project,
            "entity": entity,
            # A client that names no run gets a readable name, as runyard's own runs (and W&B's) do.
            "name": fields.display_name or (resume.name if resume else "") or new_run_name(),
            "notes": fields.notes if fields.notes is not None else (resume.notes if resume else None),
            "tags": list(tags or []),
            "group": fields.group if fields.group is not None else (resume.group if resume else None),
            "job_type": fields.job_type if fields.job_type is not None else (resume.job_type if resume else None),
            "config": config,
            "created_at": resume.created_at if resume else now,
            "started_at": now,
            "resumed": resume is not None,
            "start_step": resume.next_step if resume else 0,
            "runtime_offset": resume.runtime if resume else 0.0,
            "host": fields.host or "",
            "pid": 0,
            "username": username,
            "program": fields.program or "",
            "mode": "online",
        }
        run.config = config
        run.meta = {k: start[k] for k in ("name", "notes", "tags", "group", "job_type")}
        if resume is not None:
            run.metrics = [MetricBody(**m) for m in resume.metrics]  # type: ignore[typeddict-item]
            run.history_next = resume.next_step
            run.runtime = resume.runtime
            run.console_next = self.store.console_count(entity, project, run_id)
        records: list[Record] = [[1, KIND_START, start]]
        run.seq = 1
        records += self._environment_records(run, internal, fields, seq=2)
        run.seq = records[-1][0]
        doc = Doc(KIND, _key(entity, project, run_id), version=previous.doc.version if previous else 0)
        _Loaded(run, doc).changed()
        self.store.ingest(records, save=doc)
        if recovering:
            log.info("wandb run %s/%s/%s: continuing in a new session", entity, project, run_id)
        return run

    def _environment_records(
        self, run: ClientRun, internal: dict[str, Any], fields: RunFields, seq: int
    ) -> list[Record]:
        """Metric definitions and metadata that a config's ``_wandb`` part carries, as records from ``seq`` on."""
        records: list[Record] = []
        known = {m["name"]: m for m in run.metrics}
        for metric in metrics_of(internal):
            if known.get(metric["name"]) != metric:
                records.append([seq + len(records), KIND_METRIC, metric])
                known[metric["name"]] = metric
        run.metrics = list(known.values())
        metadata = _metadata_of(internal, fields)
        changed = {k: v for k, v in metadata.items() if run.environment.get(k) != v}
        if changed:
            run.environment.update(changed)
            records.append([seq + len(records), KIND_METADATA, changed])
        return records

    def _changes(self, run: ClientRun, fields: RunFields) -> list[Record]:
        """Records for what a later ``UpsertBucket`` changes: config keys, run properties, metrics, metadata."""
        records: list[Record] = []
        seq = run.seq + 1
        internal: dict[str, Any] = {}
        if fields.config is not None:
            config, internal = unwrap_config(fields.config)
            changed = {k: v for k, v in config.items() if k not in run.config or run.config[k] != v}
            removed = [k for k in run.config if k not in config]
            if changed or removed:
                records.append([seq, KIND_CONFIG, {"set": changed, "delete": removed}])
                run.config = config
        given = {
            "name": fields.display_name,
            "notes": fields.notes,
            "tags": fields.tags,
            "group": fields.group,
            "job_type": fields.job_type,
        }
        meta = {k: v for k, v in given.items() if v is not None and run.meta.get(k) != v}
        if meta:
            records.append([seq + len(records), KIND_META, meta])
            run.meta.update(meta)
        records += self._environment_records(run, internal, fields, seq + len(records))
        return records

    # -- file_stream ---------------------------------------------------------------------------------------

    def file_stream(self, entity: str, project: str, run_id: str, username: str, body: dict[str, Any]) -> bool:
        """Store one ``file_stream`` request of the run's client. Returns whether the run was asked to stop.

        A run with no open session (none yet, or the client completed it and writes again) gets a resumed one.
        """
        key = _key(entity, project, run_id)
        given = body.get("files")
        files: dict[str, Any] = given if isinstance(given, dict) else {}
        with self._lock(key):
            for _ in range(_ATTEMPTS):
                loaded = self._load(key)
                try:
                    if loaded is None or loaded.run.done:
                        self._open(entity, project, run_id, RunFields(), username, loaded, recovering=True)
                        loaded = self._load(key)
                        if loaded is None:
                            continue
                    return self._file_stream(loaded, files, body)
                except StaleDocError:
                    continue
        raise _busy(key)

    def _file_stream(self, loaded: _Loaded, files: dict[str, Any], body: dict[str, Any]) -> bool:
        run = loaded.run
        now = time.time()
        records = self._stream_records(run, files, now)
        complete = bool(body.get("complete"))
        if complete:
            records += self._console_records(run, {}, now, flush=True)
        summary = _summary_of(files.get(SUMMARY))
        if summary is not None:
            records += self._summary_records(run, summary)
        wrote = bool(records)
        stopped = self.store.stop_requested(run.session)
        if complete:
            code = body.get("exitcode")
            code = code if isinstance(code, int) and not isinstance(code, bool) else 0
            state = STATE_KILLED if stopped else (STATE_FINISHED if code == 0 else STATE_FAILED)
            records.append([0, KIND_EXIT, {"exit_code": code, "state": state, "t": now, "runtime": run.runtime}])
            run.done = True
            run.ended_at = now
        self._write(loaded, records)
        if body.get("preempting"):
            self.store.mark_preempting(run.session, now)
        if not wrote and not complete:
            self.store.heartbeat(run.session, now)  # the client's `{}` heartbeat, or offsets seen before
        return stopped

    def _stream_records(self, run: ClientRun, files: dict[str, Any], now: float) -> list[Record]:
        records: list[Record] = []
        for offset, text in _lines(files.get(HISTORY), run.history_next):
            row = _json_object(text)
            if row is None:
                continue
            run.history_next = offset + 1
            runtime = row.get("_runtime")
            if isinstance(runtime, (int, float)) and math.isfinite(runtime):
                run.runtime = max(run.runtime, float(runtime))
            records.append([0, KIND_ROW, row])
        for offset, text in _lines(files.get(EVENTS), run.events_next):
            row = _json_object(text)
            if row is None:
                continue
            run.events_next = offset + 1
            values = system_to_runyard(row)
            if values:
                t = _number(row.get("_timestamp"), now)
                records.append(
                    [0, KIND_SYSTEM, {"t": t, "runtime": _number(row.get("_runtime"), 0.0), "values": values}]
                )
        records += self._console_records(run, files.get(OUTPUT), now)
        return records

    def _console_records(self, run: ClientRun, chunk: Any, now: float, flush: bool = False) -> list[Record]:
        """Console lines, each stored once in its final state.

        The client numbers ``output.log`` lines and re-sends a line whose text changed (a ``\\r`` progress bar
        redrawn), so the last line received stays pending until a later line exists or the run completes.
        """
        for offset, text in _lines(chunk, run.console_next):
            run.console_pending[offset] = console_line(text, now)
        if not run.console_pending:
            return []
        last = max(run.console_pending) if not flush else max(run.console_pending) + 1
        lines: list[list[Any]] = []
        while run.console_next < last and run.console_next in run.console_pending:
            t, stream, text = run.console_pending.pop(run.console_next)
            lines.append([t, stream, text])
            run.console_next += 1
        if flush:
            # Lines the client never filled (a gap) cannot be stored in order: drop them with the rest.
            run.console_pending.clear()
        return [[0, KIND_CONSOLE, {"lines": lines}]] if lines else []

    def _summary_records(self, run: ClientRun, summary: dict[str, Any]) -> list[Record]:
        """The summary writes that make the stored summary equal the client's (which holds the whole summary)."""
        summary.pop("_wandb", None)
        runtime = summary.get("_runtime")
        if isinstance(runtime, (int, float)) and math.isfinite(runtime):
            run.runtime = max(run.runtime, float(runtime))
        stored = self.store.get_run(run.entity, run.project, run.run_id)
        current = stored.summary if stored is not None else {}
        changed = {k: v for k, v in summary.items() if k not in current or not _same(current[k], v)}
        removed = [k for k in run.wandb_summary if k not in summary and k in current]
        run.wandb_summary = summary
        if not changed and not removed:
            return []
        return [[0, KIND_SUMMARY, {"set": changed, "delete": removed}]]

    # -- files ---------------------------------------------------------------------------------------------

    def add_upload(
        self,
        entity: str,
        project: str,
        run_id: str,
        name: str,
        content: bytes | None = None,
        *,
        blob: tuple[str, int] | None = None,
    ) -> None:
        """Store a run file a client uploaded (a later upload of a name replaces it); ``blob=(key, size)``
        names content already in the store's blob store.

        While the run's client is writing it, the file is one more record of its session. Otherwise (the
        client completed the run, this server restarted since, or ``wandb.Api().run(path).upload_file()``
        adds a file to an old run) the file is attached to the run as it stands: an upload never opens a
        session, so it never turns an ended run back to running nor drops its exit code.
        """
        body: dict[str, Any] = {"name": name}
        body.update({"blob": blob[0], "size": blob[1]} if blob is not None else {"content": content})
        key = _key(entity, project, run_id)
        with self._lock(key):
            for _ in range(_ATTEMPTS):
                loaded = self._load(key)
                try:
                    if loaded is not None and not loaded.run.done:
                        self._write(loaded, [[0, KIND_FILE, body]])
                        return
                    try:
                        self.store.put_file(entity, project, run_id, name, content, blob=blob)
                        return
                    except NotFoundError:
                        # No such run yet (a client that uploads before its UpsertBucket): the upload starts it.
                        self._open(entity, project, run_id, RunFields(), "", loaded, recovering=True)
                        continue
                except StaleDocError:
                    continue
        raise _busy(key)


def forget_client_run(store: Store, entity: str, project: str, run_id: str) -> None:
    """Drop what the store keeps of a wandb client writing the run (the run was deleted, by any route)."""
    key = _key(entity, project, run_id)
    store.server_state.delete(KIND, key)
    store.server_state.delete(_RESUME_KIND, key)


def _key(entity: str, project: str, run_id: str) -> str:
    return json.dumps([entity, project, run_id])


def _busy(key: str) -> StoreError:
    return StoreError(f"wandb run {key}: too many concurrent writes, each changed it under the other; retry")


def _lines(chunk: Any, first_new: int) -> list[tuple[int, str]]:
    """The ``(line number, text)`` of a file_stream chunk ``{"offset": n, "content": [...]}``.

    History and events lines below ``first_new`` were stored already (a retried request) and are left out;
    console lines are never skipped here because the client re-sends them to overwrite.
    """
    if not isinstance(chunk, dict):
        return []
    offset = chunk.get("offset")
    content = chunk.get("content")
    if not isinstance(offset, int) or not isinstance(content, list):
        return []
    return [(offset + i, text) for i, text in enumerate(content) if isinstance(text, str) and offset + i >= first_new]


def _json_object(text: str) -> dict[str, Any] | None:
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _summary_of(chunk: Any) -> dict[str, Any] | None:
    if not isinstance(chunk, dict) or not isinstance(chunk.get("content"), list) or not chunk["content"]:
        return None
    last = chunk["content"][-1]
    return _json_object(last) if isinstance(last, str) else None


def _number(value: Any, default: float) -> float:
    if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    return default


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return bool(a == b)


def _metadata_of(internal: dict[str, Any], fields: RunFields) -> dict[str, Any]:
    """runyard metadata from wandb's ``_wandb.e`` (the environment of each writer process) and the upsert."""
    found: dict[str, Any] = {}
    environments = internal.get("e")
    if isinstance(environments, dict):
        for env in environments.values():
            if not isinstance(env, dict):
                continue
            for key, name in _METADATA_KEYS.items():
                if key in env:
                    found[name] = env[key]
            memory = env.get("memory")
            if isinstance(memory, dict) and str(memory.get("total", "")).isdigit():
                found["memory_total"] = int(memory["total"])
            cpu = env.get("cpu")
            if isinstance(cpu, dict) and cpu.get("model"):
                found["cpu_model"] = cpu["model"]
            git = env.get("git")
            if isinstance(git, dict):
                found["git"] = {"commit": git.get("commit"), "remote": git.get("remote")}
    if isinstance(internal.get("cli_version"), str):
        found["wandb_version"] = internal["cli_version"]
    if fields.commit or fields.repo:
        found["git"] = {**found.get("git", {}), "commit": fields.commit, "remote": fields.repo}
    if fields.host:
        found.setdefault("host", fields.host)
    if fields.program:
        found.setdefault("program", fields.program)
    return found
