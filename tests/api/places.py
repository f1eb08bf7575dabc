"""Helpers of the public-API suite (imported by its conftest and tests): a runyard place, and raw records."""

from __future__ import annotations

import getpass
import socket
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import runyard
from runyard.api import Api


@dataclass
class Place:
    """A runyard data folder and its store."""

    root: Path
    url: str

    def settings(self, **fields: Any) -> runyard.Settings:
        return runyard.Settings(root_dir=str(self.root), store_url=self.url, silent=True, **fields)

    def api(self, overrides: dict[str, Any] | None = None) -> Api:
        return Api(overrides, store_url=self.url, root_dir=str(self.root))

    def make_run(
        self,
        project: str,
        run_id: str,
        *,
        rows: list[dict[str, Any]] | None = None,
        summary: dict[str, Any] | None = None,
        exit_code: int = 0,
        **init: Any,
    ) -> None:
        """A run made with ``runyard.init`` / ``log`` / ``finish``."""
        run = runyard.init(project=project, id=run_id, settings=self.settings(), reinit="create_new", **init)
        for row in rows or []:
            run.log(row)
        if summary:
            run.summary.update(summary)
        run.finish(exit_code=exit_code)

    def ingest(self, records: list[list[Any]]) -> None:
        """Records written straight into the store (for what the SDK cannot make on demand: a live run)."""
        from runyard.store import Store

        with Store.open(self.url) as store:
            store.ingest(records)


def raw_run_records(project: str, run_id: str, *, created_at: float, **start: Any) -> list[list[Any]]:
    """The records of a session that started and logged, and whose process is still alive (no exit)."""
    now = time.time()
    body: dict[str, Any] = {
        "session": uuid.uuid4().hex,
        "run_id": run_id,
        "project": project,
        "entity": getpass.getuser(),
        "name": run_id,
        "notes": None,
        "tags": [],
        "group": None,
        "job_type": None,
        "config": {},
        "created_at": created_at,
        "started_at": now,
        "resumed": False,
        "start_step": 0,
        "runtime_offset": 0.0,
        "host": socket.gethostname(),
        "pid": 1,
        "username": getpass.getuser(),
        "program": "train.py",
        "mode": "online",
    }
    body.update(start)
    return [[1, "start", body]]
