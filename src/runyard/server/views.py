"""The store's records as the API's JSON objects (``Project``, ``Run``... in ``docs/rest-api.md``).

One function per object, so that every endpoint answers with the same fields.
"""

from __future__ import annotations

from typing import Any

from runyard.store import FileInfo, ProjectRecord, RunRecord
from runyard.store.models import ConsoleLine, SystemSample

__all__ = ["console_json", "file_json", "project_json", "run_json", "sample_json"]


def project_json(project: ProjectRecord) -> dict[str, Any]:
    """A ``Project``: entity, name, run count, creation and last activity times, visibility."""
    return {
        "entity": project.entity,
        "name": project.name,
        "run_count": project.run_count,
        "created_at": project.created_at,
        "last_activity": project.last_activity,
        "visibility": project.visibility,
    }


def run_json(run: RunRecord, *, metadata: bool = False) -> dict[str, Any]:
    """A ``Run``; with ``metadata`` (the single-run answer) also where and how it ran."""
    out: dict[str, Any] = {
        "entity": run.entity,
        "project": run.project,
        "id": run.run_id,
        "name": run.name,
        "state": run.state,
        "exit_code": run.exit_code,
        "notes": run.notes or "",
        "tags": list(run.tags),
        "group": run.group,
        "job_type": run.job_type,
        "created_at": run.created_at,
        "heartbeat_at": run.heartbeat_at,
        "finished_at": run.finished_at,
        "duration": run.runtime,
        "last_step": run.last_step if run.last_step >= 0 else None,
        "username": run.username,
        "host": run.host,
        "visibility": run.visibility,
        "stop_requested_at": run.stop_requested_at,
        "preempting_at": run.preempting_at,
        "config": run.config,
        "summary": run.summary,
        "metrics": {m["name"]: {k: v for k, v in m.items() if k != "name"} for m in run.metrics},
    }
    if metadata:
        out["metadata"] = run.metadata
    return out


def console_json(line: ConsoleLine) -> dict[str, Any]:
    """One console line: its number, time, stream and text."""
    return {"line_no": line.line_no, "t": line.t, "stream": line.stream, "text": line.text}


def sample_json(sample: SystemSample) -> dict[str, Any]:
    """One system-metrics sample."""
    return {"t": sample.t, "runtime": sample.runtime, "values": sample.values}


def file_json(info: FileInfo) -> dict[str, Any]:
    """One run file's name, size in bytes and modification time."""
    return {"name": info.name, "size": info.size, "updated_at": info.updated_at}
