"""Helpers of the server suite: the live server's handle, seeding runs, and checking the error shape.

Runs are seeded as the SDK would write them, through :meth:`Store.ingest` records (:func:`seed_run`), or by
the real SDK in a child process (``test_stop.py``).
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import Any

import httpx

from runyard.store import Store

ENTITY = "ana"
PROJECT = "mnist"


@dataclass
class LiveServer:
    """A server answering on loopback: its base URL, an HTTP client on ``/api/v1``, and its store."""

    url: str
    client: httpx.Client
    store: Store


def seed_run(
    store: Store,
    run_id: str,
    *,
    name: str | None = None,
    project: str = PROJECT,
    config: dict[str, Any] | None = None,
    tags: list[str] | None = None,
    group: str | None = None,
    job_type: str | None = None,
    rows: list[dict[str, Any]] | None = None,
    summary: dict[str, Any] | None = None,
    console: list[tuple[str, str]] | None = None,
    system: list[dict[str, float]] | None = None,
    files: dict[str, bytes] | None = None,
    metadata: dict[str, Any] | None = None,
    state: str | None = "finished",
    created_at: float | None = None,
) -> str:
    """Store one run as the SDK's records would; returns its session. ``state=None`` leaves it running."""
    session = uuid.uuid4().hex
    now = time.time()
    created = now if created_at is None else created_at
    records: list[list[Any]] = []

    def add(kind: str, body: dict[str, Any]) -> None:
        records.append([len(records) + 1, kind, body])

    add(
        "start",
        {
            "session": session,
            "run_id": run_id,
            "project": project,
            "entity": ENTITY,
            "name": name or f"run-{run_id}",
            "notes": None,
            "tags": tags or [],
            "group": group,
            "job_type": job_type,
            "config": config or {},
            "created_at": created,
            "started_at": now,
            "resumed": False,
            "start_step": 0,
            "runtime_offset": 0.0,
            "host": "gpu-1",
            "pid": 4321,
            "username": ENTITY,
            "program": "train.py",
            "mode": "online",
        },
    )
    if metadata:
        add("metadata", metadata)
    for step, row in enumerate(rows or []):
        add("row", {"_step": step, "_runtime": step * 0.5, "_timestamp": created + step * 0.5, **row})
    if summary:
        add("summary", {"set": summary})
    if console:
        add("console", {"lines": [[now, stream, text] for stream, text in console]})
    for i, values in enumerate(system or []):
        add("system", {"t": created + 10 * (i + 1), "runtime": 10.0 * (i + 1), "values": values})
    for file_name, content in (files or {}).items():
        add("file", {"name": file_name, "content": content})
    if state is not None:
        add("exit", {"exit_code": 0 if state == "finished" else 1, "state": state, "t": now, "runtime": 12.5})
    store.ingest(records)
    return session


def assert_error(response: httpx.Response, status: int, code: str, *words: str) -> str:
    """Check the one error shape; returns the message, which must name each of ``words``."""
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"}
    error = body["error"]
    assert error["status"] == status
    assert error["code"] == code
    message = error["message"]
    assert isinstance(message, str) and message
    for word in words:
        assert word in message, message
    return str(message)
