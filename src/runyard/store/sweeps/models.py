"""What ``store.sweeps`` returns: frozen dataclasses."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from runyard.store.models import RunRecord

__all__ = ["Assignment", "SweepRecord", "SweepRun"]


@dataclass(frozen=True)
class SweepRecord:
    """A sweep: where it lives, its config (as given) and state, and how many runs it has assigned."""

    pk: int
    entity: str
    project: str
    sweep_id: str
    name: str
    method: str
    config: dict[str, Any]
    state: str  # RUNNING | PAUSED | FINISHED | CANCELED
    username: str
    created_at: float
    updated_at: float
    run_count: int

    @property
    def path(self) -> str:
        return f"{self.entity}/{self.project}/{self.sweep_id}"


@dataclass(frozen=True)
class SweepRun:
    """One run of a sweep: its parameters (flat, by dotted name) and, once it started, the run itself."""

    seq: int
    run_id: str
    params: dict[str, Any]
    grid_index: int | None
    agent_id: str | None
    assigned_at: float
    stopped_at: float | None  # set when the sweep stopped it (hyperband, a cancelled sweep)
    stop_reason: str | None
    run: RunRecord | None


@dataclass(frozen=True)
class Assignment:
    """What the controller hands an agent: the id of the run to start and its parameters."""

    sweep: SweepRecord
    seq: int
    run_id: str
    params: dict[str, Any]
