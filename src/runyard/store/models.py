"""What the store's reads return: plain frozen dataclasses, built from table rows in one place."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from runyard.records import STATE_CRASHED, STATE_RUNNING, MetricBody

if TYPE_CHECKING:  # only for annotations: these dataclasses travel to SQLAlchemy-free processes (the SDK)
    from sqlalchemy.engine import RowMapping

__all__ = [
    "ConsoleLine",
    "FileInfo",
    "ProjectKeys",
    "ProjectRecord",
    "ResumeState",
    "RunGroup",
    "RunRecord",
    "SystemSample",
    "WorkspaceRecord",
    "effective_state",
]


def effective_state(state: str, heartbeat_at: float, now: float, crash_timeout: float) -> str:
    """A run stored as running whose heartbeat is older than ``crash_timeout`` seconds reads ``crashed``."""
    if state == STATE_RUNNING and now - heartbeat_at > crash_timeout:
        return STATE_CRASHED
    return state


@dataclass(frozen=True)
class ProjectRecord:
    """One project, with how many runs it holds and when any of them last received data."""

    entity: str
    name: str
    run_count: int
    created_at: float
    last_activity: float
    visibility: str = "private"  # "private" | "public" (runyard.server.access)


@dataclass(frozen=True)
class RunRecord:
    """One run as the store knows it. ``state`` is computed when read (``crashed`` on a stale heartbeat)."""

    entity: str
    project: str
    run_id: str
    name: str
    notes: str | None
    tags: list[str]
    group: str | None
    job_type: str | None
    state: str
    exit_code: int | None
    config: dict[str, Any]
    summary: dict[str, Any]
    metrics: list[MetricBody]
    created_at: float
    heartbeat_at: float
    finished_at: float | None
    runtime: float
    last_step: int  # the largest "_step" ingested, or -1
    host: str
    username: str
    program: str
    metadata: dict[str, Any] = field(default_factory=dict)  # where and how it ran (records.MetadataBody)
    visibility: str = "private"  # "private" | "public" (runyard.server.access)
    stop_requested_at: float | None = None  # when someone asked the live run to stop (Store.request_stop)
    preempting_at: float | None = None  # when the training process said it is about to be preempted

    @classmethod
    def from_row(cls, row: RowMapping, entity: str, project: str, now: float, crash_timeout: float) -> RunRecord:
        return cls(
            entity=entity,
            project=project,
            run_id=row["run_id"],
            name=row["name"],
            notes=row["notes"],
            tags=list(row["tags"]),
            group=row["group_name"],
            job_type=row["job_type"],
            state=effective_state(row["state"], row["heartbeat_at"], now, crash_timeout),
            exit_code=row["exit_code"],
            config=row["config"],
            summary=row["summary"],
            metrics=row["metrics"],
            created_at=row["created_at"],
            heartbeat_at=row["heartbeat_at"],
            finished_at=row["finished_at"],
            runtime=row["runtime"],
            last_step=row["last_step"],
            host=row["host"],
            username=row["username"],
            program=row["program"],
            metadata=row.get("metadata") or {},
            visibility=row.get("visibility") or "private",
            stop_requested_at=row.get("stop_requested_at"),
            preempting_at=row.get("preempting_at"),
        )


@dataclass(frozen=True)
class ResumeState:
    """What a new session needs to continue an existing run where it stopped."""

    next_step: int  # last_step + 1
    runtime: float
    config: dict[str, Any]
    summary: dict[str, Any]
    summary_state: dict[str, Any]  # the SummaryFolder state, so aggregates (mean, first...) carry on
    metrics: list[dict[str, Any]]  # MetricBody dicts, as SummaryFolder takes them
    created_at: float
    name: str
    notes: str | None
    tags: list[str]
    group: str | None
    job_type: str | None


@dataclass(frozen=True)
class ConsoleLine:
    """One line of a run's console output, numbered 0.. across all of the run's sessions."""

    line_no: int
    t: float  # unix seconds
    stream: str  # "stdout" | "stderr"
    text: str  # without its newline


@dataclass(frozen=True)
class FileInfo:
    """One file of a run: stored (sent by the run) or derived on read (``output.log``, ``config.yaml``...)."""

    name: str
    size: int  # bytes
    updated_at: float  # unix seconds


@dataclass(frozen=True)
class SystemSample:
    """One system-metrics sample of a run."""

    t: float  # unix seconds
    runtime: float  # seconds since the run started
    values: dict[str, Any]  # {"system/cpu": 12.5, ...}


@dataclass(frozen=True)
class ProjectKeys:
    """Every flattened key (dotted: ``optimizer.lr``) that any run of a project has, each list sorted.

    ``history`` leaves out ``_step``, ``_runtime``, ``_timestamp`` and ``system/*`` keys; ``system`` holds the
    keys of the runs' system-metrics samples.
    """

    config: list[str]
    summary: list[str]
    history: list[str]
    system: list[str]


@dataclass(frozen=True)
class RunGroup:
    """Runs sharing one value of a grouping field (``group``, ``job_type``, a tag, ``config.KEY``).

    ``value`` is None for the runs that lack the field; ``run_ids`` keep the order the runs were sorted in.
    """

    value: Any
    run_ids: list[str]

    @property
    def count(self) -> int:
        """How many runs the group holds."""
        return len(self.run_ids)


@dataclass(frozen=True)
class WorkspaceRecord:
    """One user's saved view of a project (the web app owns the shape of ``settings``).

    A workspace never saved reads as empty ``settings`` with ``updated_at`` None.
    """

    settings: dict[str, Any]
    updated_at: float | None
