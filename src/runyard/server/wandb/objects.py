"""The GraphQL objects wandb reads: users, entities, projects, runs and their history and files, built from
what the store holds. Each field is computed only when a query selects it (see :mod:`.graphql`).
"""

from __future__ import annotations

import fnmatch
import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from graphql import GraphQLError

from runyard.errors import FilterError
from runyard.server.access import can_write
from runyard.server.errors import ApiError
from runyard.server.guards import ProjectView, project_view, require_run
from runyard.server.wandb.artifacts import Pending, project_artifact_fields, run_artifacts
from runyard.server.wandb.auth import Caller
from runyard.server.wandb.convert import (
    dumps,
    iso,
    loads_object,
    project_int_id,
    run_storage_id,
    system_to_wandb,
    wrap_config,
)
from runyard.server.wandb.storage import FileRef, Signer
from runyard.store import Store
from runyard.store.models import ProjectRecord, RunRecord

__all__ = ["Context", "entity_obj", "project_obj", "run_obj", "user_obj"]

from runyard.server.wandb.graphql import Obj

# scan_history pages and RunFullHistory ask for at most this many rows at once.
_MAX_ROWS = 100_000


@dataclass
class Context:
    """What resolving one request needs."""

    store: Store
    caller: Caller
    base_url: str  # "http://host:port/", for the URLs handed to the client
    signer: Signer
    on_resume: Callable[[str, str, str], None] | None = None  # a client asked to resume this run
    variables: dict[str, Any] = field(default_factory=dict)  # the operation's variables
    pending: Pending = None  # type: ignore[assignment]  # artifacts being logged (see routes.Hub); default: the store's

    def __post_init__(self) -> None:
        if self.pending is None:
            self.pending = Pending(self.store)

    def file_url(self, action: str, entity: str, project: str, run_id: str, name: str) -> str:
        token = self.signer.token(FileRef(action, entity, project, run_id, name))
        return f"{self.base_url}wandb/storage/{token}"

    def view(self, entity: str, project: str) -> ProjectView | None:
        """What the caller may read of the project (None: nothing, it is "not found" for them)."""
        try:
            return project_view(self.store, self.caller.user, entity, project)
        except ApiError:
            return None

    def may_read_project(self, entity: str, project: str) -> bool:
        """Whether the caller may read the whole project (its artifacts and sweeps)."""
        view = self.view(entity, project)
        return view is not None and not view.public_only

    def may_read_run(self, entity: str, project: str, run_id: str) -> bool:
        """Whether the caller may read the run."""
        try:
            require_run(self.store, self.caller.user, entity, project, run_id)
        except ApiError:
            return False
        return True

    def require_run_write(self, entity: str, project: str, run_id: str, what: str) -> None:
        """Raise a GraphQL error (what the client shows) unless the caller may change the run; "not found"
        when they may not even read it."""
        try:
            require_run(self.store, self.caller.user, entity, project, run_id, "write")
        except ApiError as exc:
            if exc.status == 404:
                raise GraphQLError(f"{what}: run {entity}/{project}/{run_id} not found") from None
            raise GraphQLError(f"{what}: permission denied: {exc.message}") from None

    def require_write(self, entity: str, what: str) -> None:
        """Raise a GraphQL error (what the client shows) unless the caller may write runs of ``entity``."""
        if not can_write(self.caller.user, entity):
            who = self.caller.username or "this API key"
            raise GraphQLError(
                f"{what}: permission denied: {who} may not write to entity {entity!r} (not a member of it, or a "
                f"viewer): log to an entity of yours (WANDB_ENTITY) or ask an admin of {entity!r} for the member role"
            )

    def artifact_url(self, action: str, key: str, name: str) -> str:
        """A capability URL of an artifact's file or manifest (``key``: a pending artifact's or a version id)."""
        token = self.signer.token(FileRef(action, "", "", key, name))
        return f"{self.base_url}wandb/artifacts/{token}"


def page_info(end: int, has_next: bool) -> Obj:
    return Obj("PageInfo", {"endCursor": str(end) if end else None, "hasNextPage": has_next, "startCursor": None})


def user_obj(caller: Caller) -> Obj:
    """The caller as wandb's ``User`` (``viewer``)."""
    return Obj(
        "User",
        {
            "id": _b64id("User", caller.username),
            "name": caller.username,
            "username": caller.username,
            "email": None,
            "entity": caller.entity,
            "admin": False,
            "flags": "{}",
            "deletedAt": None,
            "photoUrl": None,
            "apiKeys": {"edges": []},
            "teams": {"edges": []},
            "defaultEntity": lambda _a: entity_obj(caller.entity),
            "userEntity": lambda _a: entity_obj(caller.entity),
        },
    )


def entity_obj(name: str) -> Obj:
    return Obj(
        "Entity",
        {
            "id": _b64id("Entity", name),
            "name": name,
            "organization": None,
            "isTeam": False,
            "defaultAccess": "PRIVATE",
            "readOnly": False,
        },
    )


def project_obj(ctx: Context, entity: str, name: str, record: ProjectRecord | None = None) -> Obj:
    """A project (W&B also calls it ``model``); ``run``/``bucket`` look up one of its runs."""
    internal = project_int_id(entity, name)
    view = ctx.view(entity, name)
    public_only = view is not None and view.public_only

    def run(args: dict[str, Any]) -> Obj | None:
        run_id = str(args.get("name") or "")
        if not ctx.may_read_run(entity, name, run_id):
            return None
        found = ctx.store.get_run(entity, name, run_id)
        return None if found is None else run_obj(ctx, found)

    def runs(args: dict[str, Any]) -> Obj:
        from runyard.server.wandb.sweeps import sweep_run_filter

        filters = sweep_run_filter(ctx, entity, name, _filters(args.get("filters")))
        offset = _cursor(args.get("after"))
        first = max(0, min(int(args.get("first") or 50), 1000))
        order = _order(args.get("order"))
        try:
            found = ctx.store.query_runs(
                entity, name, filters=filters, order=order, limit=first + 1, offset=offset, public_only=public_only
            )
        except FilterError as exc:
            raise GraphQLError(str(exc)) from exc
        page = found[:first]
        edges = [Obj("RunEdge", {"node": run_obj(ctx, r), "cursor": str(offset + i + 1)}) for i, r in enumerate(page)]
        return Obj(
            "RunConnection",
            {
                "edges": edges,
                "pageInfo": page_info(offset + len(page), len(found) > first),
                "totalCount": lambda _a: ctx.store.count_runs(entity, name, filters=filters, public_only=public_only),
            },
        )

    def run_count(args: dict[str, Any]) -> int:
        try:
            from runyard.server.wandb.sweeps import sweep_run_filter

            filters = sweep_run_filter(ctx, entity, name, _filters(args.get("filters")))
            return ctx.store.count_runs(entity, name, filters=filters, public_only=public_only)
        except FilterError as exc:
            raise GraphQLError(str(exc)) from exc

    return Obj(
        "Project",
        {
            "id": _b64id("Project", f"{entity}/{name}"),
            "internalId": internal,
            "name": name,
            "entityName": entity,
            "entity": entity_obj(entity),
            "createdAt": iso(record.created_at) if record else None,
            "updatedAt": iso(record.last_activity) if record else None,
            "isBenchmark": False,
            "readOnly": False,
            "access": "PUBLIC" if record is not None and record.visibility == "public" else "PRIVATE",
            "description": None,
            "user": user_obj(ctx.caller),
            "run": run,
            "bucket": run,
            "runs": runs,
            "buckets": runs,
            "runCount": run_count,
            # A private project an outsider sees for its public runs: its sweeps and artifacts stay private.
            **(
                {}
                if public_only
                else {"sweep": _project_sweep(ctx, entity, name), **project_artifact_fields(ctx, entity, name)}
            ),
        },
    )


def _project_sweep(ctx: Context, entity: str, name: str) -> Any:
    from runyard.server.wandb.sweeps import project_sweep

    return project_sweep(ctx, entity, name)


def run_obj(ctx: Context, run: RunRecord) -> Obj:
    """One run as wandb reads it (``Run``/``bucket``)."""
    e, p, r = run.entity, run.project, run.run_id
    store = ctx.store

    def history(args: dict[str, Any]) -> list[str]:
        lo, hi = args.get("minStep"), args.get("maxStep")
        samples = _int(args.get("samples"), 500)
        if lo is not None or hi is not None:
            # HistoryPage: maxStep is exclusive; the page is every row in range (samples is the page size).
            rows = store.history(e, p, r, min_step=_int(lo, 0), max_step=_int(hi, 2**62) - 1)
            return [_row_text(row) for _, row in zip(range(_MAX_ROWS), rows)]
        return [_row_text(row) for row in _sampled(store, run, None, samples)]

    def sampled_history(args: dict[str, Any]) -> list[list[dict[str, Any]]]:
        out = []
        for spec_text in args.get("specs") or ():
            spec = loads_object(spec_text)
            keys = [k for k in spec.get("keys") or () if isinstance(k, str)]
            out.append(_spec_rows(store, run, keys, spec))
        return out

    def events(args: dict[str, Any]) -> list[str]:
        rows = store.system_history(e, p, r)
        samples = _int(args.get("samples"), 500)
        if samples > 0 and len(rows) > samples:
            stride = len(rows) / samples
            rows = [rows[int(i * stride)] for i in range(samples)]
        return [json.dumps({**system_to_wandb(row), "_wandb": True}) for row in rows]

    def files(args: dict[str, Any]) -> Obj:
        found = _matching_files(store, run, args.get("names"), args.get("pattern"))
        offset = _cursor(args.get("after"))
        first = max(0, min(_int(args.get("first"), 50), 10_000))
        page = found[offset : offset + first]
        edges = [
            Obj("FileEdge", {"node": _file_obj(ctx, run, *f), "cursor": str(offset + i + 1)})
            for i, f in enumerate(page)
        ]
        return Obj(
            "FileConnection",
            {
                "edges": edges,
                "pageInfo": page_info(offset + len(page), offset + first < len(found)),
                "totalCount": len(found),
            },
        )

    system_last: Callable[[dict[str, Any]], str] = lambda _a: _last_system(store, run)  # noqa: E731
    found_git = run.metadata.get("git")
    git: dict[str, Any] = found_git if isinstance(found_git, dict) else {}
    return Obj(
        "Run",
        {
            "id": run_storage_id(e, p, r),
            "name": r,
            "displayName": run.name or r,
            "projectId": project_int_id(e, p),
            "project": lambda _a: project_obj(ctx, e, p) if ctx.view(e, p) is not None else None,
            "state": run.state,
            "tags": list(run.tags),
            "group": run.group,
            "jobType": run.job_type,
            "notes": run.notes,
            "description": run.notes,
            "sweepName": None,
            "sweep": None,
            "commit": git.get("commit"),
            "host": run.host,
            "readOnly": False,
            "createdAt": iso(run.created_at),
            "updatedAt": iso(run.heartbeat_at),
            "heartbeatAt": iso(run.heartbeat_at),
            "config": dumps(wrap_config(run.config)),
            # W&B keeps the run's runtime in the summary too; a resuming client counts on from it.
            "summaryMetrics": dumps({**run.summary, "_wandb": {"runtime": int(run.runtime)}}),
            "systemMetrics": system_last,
            "historyLineCount": run.last_step + 1,
            "historyKeys": lambda _a: _history_keys(store, run),
            "history": history,
            "sampledHistory": sampled_history,
            "events": events,
            "parquetHistory": {"parquetUrls": [], "liveData": []},
            "files": files,
            # What the client takes as the length of run.files(names=..., pattern=...): the files that query
            # answers (the operation's own filter), not every file of the run.
            "fileCount": lambda _a: len(
                _matching_files(store, run, ctx.variables.get("fileNames"), ctx.variables.get("pattern"))
            ),
            "user": user_obj(Caller(run.username or ctx.caller.username, e)),
            "exitcode": run.exit_code,
            "stopped": run.stop_requested_at is not None and run.state == "running",
            # RunResumeStatus: where a resuming client continues its streams, and what it restores.
            "historyTail": lambda _a: _history_tail(ctx, run),
            "eventsTail": lambda _a: dumps([]),
            "logLineCount": lambda _a: store.console_count(e, p, r),
            "eventsLineCount": lambda _a: len(store.system_history(e, p, r)),
            # The client resumes only a run whose config says a client initialised it (it holds "t").
            "wandbConfig": dumps({"t": {}}),
            "runInfo": None,
            "inputArtifacts": run_artifacts(ctx, e, p, r, "used"),
            "outputArtifacts": run_artifacts(ctx, e, p, r, "logged"),
        },
    )


def _history_tail(ctx: Context, run: RunRecord) -> str:
    if ctx.on_resume is not None:
        ctx.on_resume(run.entity, run.project, run.run_id)
    if run.last_step < 0:
        return dumps([])
    rows = list(ctx.store.history(run.entity, run.project, run.run_id, min_step=run.last_step))
    for row in rows:
        # Whole seconds, as W&B's server keeps them: wandb 0.30 misreads a fractional _runtime here as
        # nanoseconds-times-a-billion and resumes with a runtime of years.
        if isinstance(row.get("_runtime"), float) and math.isfinite(row["_runtime"]):
            row["_runtime"] = int(row["_runtime"])
    return dumps([_row_text(row) for row in rows])


def _matching_files(store: Store, run: RunRecord, names: Any, pattern: Any) -> list[tuple[str, int, float | None]]:
    """``(name, size, updated_at)`` of the files a ``files(names:, pattern:)`` selection answers.

    With names, one entry per name in the order asked, as W&B's server answers: a name the run has no file of
    is answered as a file of size 0, no update time and md5 ``"0"``, which is how the client (``wandb.restore``)
    tells that it is missing. Else the files matching ``pattern`` (SQL ``LIKE``: ``%`` any run, ``_`` one
    character), else all of them.
    """
    stored = store.files(run.entity, run.project, run.run_id)
    asked = [n for n in names or () if isinstance(n, str)]
    if asked:
        by_name = {f.name: f for f in stored}
        out: list[tuple[str, int, float | None]] = []
        for name in dict.fromkeys(asked):
            info = by_name.get(name)
            out.append((name, info.size, info.updated_at) if info is not None else (name, 0, None))
        return out
    found: list[tuple[str, int, float | None]] = [(f.name, f.size, f.updated_at) for f in stored]
    if isinstance(pattern, str) and pattern:
        glob = pattern.replace("[", "[[]").replace("*", "[*]").replace("?", "[?]").replace("%", "*").replace("_", "?")
        found = [f for f in found if fnmatch.fnmatchcase(f[0], glob)]
    return found


def _file_obj(ctx: Context, run: RunRecord, name: str, size: int, updated_at: float | None) -> Obj:
    url = ctx.file_url("get", run.entity, run.project, run.run_id, name)
    return Obj(
        "File",
        {
            "id": _b64id("File", f"{run.entity}/{run.project}/{run.run_id}/{name}"),
            "name": name,
            "url": url,
            "directUrl": url,
            "sizeBytes": size,
            "mimetype": _mimetype(name),
            "updatedAt": iso(updated_at),
            "md5": None if updated_at is not None else "0",
            "storagePath": None,
        },
    )


def _spec_rows(store: Store, run: RunRecord, keys: list[str], spec: dict[str, Any]) -> list[dict[str, Any]]:
    """Rows holding every asked key, with only those keys (W&B's and runyard.Api's rule for ``keys``)."""
    samples = _int(spec.get("samples"), 500)
    asked = [k for k in keys if k != "_step"] or ["_step"]
    if "minStep" in spec or "maxStep" in spec:
        # SampledHistoryPage: both ends inclusive (the client asks for [0, 3], then [4, 7], ...).
        rows = store.history(
            run.entity,
            run.project,
            run.run_id,
            keys=asked,
            min_step=_int(spec.get("minStep"), 0),
            max_step=_int(spec.get("maxStep"), 2**62),
        )
        found = list(zip(range(_MAX_ROWS), rows))
        chosen = [row for _, row in found]
    else:
        chosen = _sampled(store, run, asked, samples)
    wanted = list(dict.fromkeys(keys or ["_step"]))
    return [{k: row[k] for k in wanted} for row in chosen if all(k in row for k in wanted)]


def _sampled(store: Store, run: RunRecord, keys: list[str] | None, samples: int) -> list[dict[str, Any]]:
    """At most about ``samples`` rows: all of them when the run has no more, else min/max/last buckets."""
    if run.last_step + 1 <= samples:
        return list(store.history(run.entity, run.project, run.run_id, keys=keys))
    return store.sampled_history(run.entity, run.project, run.run_id, keys=keys, samples=max(samples, 3))


def _history_keys(store: Store, run: RunRecord) -> dict[str, Any]:
    keys = ["_step", *store.history_keys(run.entity, run.project, run.run_id)]
    count = run.last_step + 1
    return {"lastStep": run.last_step, "keys": {k: {"typeCounts": [{"type": "number", "count": count}]} for k in keys}}


def _last_system(store: Store, run: RunRecord) -> str:
    rows = store.system_history(run.entity, run.project, run.run_id)
    return dumps({**system_to_wandb(rows[-1]), "_wandb": True} if rows else {})


def _row_text(row: dict[str, Any]) -> str:
    return json.dumps(row, default=str)


def _filters(text: Any) -> dict[str, Any] | None:
    if text is None or text == "":
        return None
    filters = loads_object(text) if not isinstance(text, dict) else text
    return filters or None


def _order(order: Any) -> str:
    # W&B spells fields as the web app does (createdAt, summary_metrics.x); the store accepts both.
    return order if isinstance(order, str) and order.strip() else "-created_at"


def _cursor(after: Any) -> int:
    try:
        return max(0, int(after)) if after is not None else 0
    except (TypeError, ValueError):
        return 0


def _int(value: Any, default: int) -> int:
    if isinstance(value, bool):
        return default
    if isinstance(value, int):
        return value
    if isinstance(value, float) and math.isfinite(value):
        return int(value)
    if isinstance(value, str) and value.lstrip("-").isdigit():
        return int(value)
    return default


def _mimetype(name: str) -> str:
    if name.endswith(".json"):
        return "application/json"
    if name.endswith((".txt", ".log", ".yaml", ".yml")):
        return "text/plain"
    return "application/octet-stream"


def _b64id(kind: str, key: str) -> str:
    import base64

    return base64.b64encode(f"{kind}:{key}".encode()).decode("ascii")
