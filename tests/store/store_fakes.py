"""A fake SDK session that writes the run-log records the store ingests (imported by the store tests)."""

from __future__ import annotations

import time
import uuid
from typing import Any

from runyard.records import Record


class FakeSession:
    """Produces the records one SDK session would write, numbered from seq 1."""

    def __init__(
        self,
        run_id: str = "run1",
        *,
        entity: str = "alice",
        project: str = "proj",
        resumed: bool = False,
        start_step: int = 0,
        runtime_offset: float = 0.0,
        config: dict[str, Any] | None = None,
        created_at: float | None = None,
        **start: Any,
    ) -> None:
        self.session = uuid.uuid4().hex
        self.records: list[Record] = []
        self.step = start_step
        self.runtime_offset = runtime_offset
        now = time.time()
        body: dict[str, Any] = {
            "session": self.session,
            "run_id": run_id,
            "project": project,
            "entity": entity,
            "name": f"name-{run_id}",
            "notes": None,
            "tags": [],
            "group": None,
            "job_type": None,
            "config": config if config is not None else {},
            "created_at": created_at if created_at is not None else now,
            "started_at": now,
            "resumed": resumed,
            "start_step": start_step,
            "runtime_offset": runtime_offset,
            "host": "host1",
            "pid": 1234,
            "username": "alice",
            "program": "train.py",
            "mode": "online",
        }
        body.update(start)
        self.add("start", body)

    def add(self, kind: str, body: dict[str, Any]) -> Record:
        record: Record = [len(self.records) + 1, kind, body]
        self.records.append(record)
        return record

    def log(self, data: dict[str, Any], step: int | None = None) -> Record:
        if step is not None:
            self.step = step
        row = {
            **data,
            "_step": self.step,
            "_runtime": self.runtime_offset + self.step * 0.5,
            "_timestamp": time.time(),
        }
        self.step += 1
        return self.add("row", row)

    def exit(self, exit_code: int = 0, state: str = "finished") -> Record:
        return self.add("exit", {"exit_code": exit_code, "state": state, "t": time.time(), "runtime": 42.0})
