"""Fixtures for the SDK suite: an isolated runyard root per test, and a reader for what the store holds.

Every test gets its own ``RUNYARD_DIR`` (``tmp_path``: runs go to the data folder ``tmp_path / "runyard"``,
the ``isolated_root`` fixture), a working directory inside
``tmp_path``, no ``RUNYARD_*`` / ``WANDB_*`` variables from the outside environment, and ``RUNYARD_SILENT``
set. Whatever run a test leaves active is finished at teardown, so no test leaks a run into the next.
"""

from __future__ import annotations

import getpass
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import runyard


@pytest.fixture(autouse=True)
def isolated_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, store_url: str) -> Iterator[Path]:
    """A fresh runyard data folder for every test, once per store backend; the active run is finished at teardown.

    On SQLite the runs go to the default store inside the root; on PostgreSQL to a fresh database named by
    ``RUNYARD_STORE_URL``.
    """
    for name in list(os.environ):
        if name.startswith(("RUNYARD_", "WANDB_")):
            monkeypatch.delenv(name)
    root = tmp_path / "runyard"
    monkeypatch.setenv("RUNYARD_DIR", str(tmp_path))
    if store_url.startswith("postgresql"):
        monkeypatch.setenv("RUNYARD_STORE_URL", store_url)
    monkeypatch.setenv("RUNYARD_SILENT", "true")
    monkeypatch.chdir(tmp_path)
    assert runyard.run is None, "a previous test left an active run"
    yield root
    runyard.finish()


@pytest.fixture
def entity() -> str:
    """The entity runs get by default: the OS user."""
    return getpass.getuser()


class StoreReader:
    """Opens the stores runs wrote to and reads back what they hold."""

    def __init__(self) -> None:
        self._stores: dict[str, Any] = {}

    def store(self, where: Any) -> Any:
        """The store of a run, a store URL, or a runyard root folder."""
        from runyard.store import Store

        if isinstance(where, runyard.Run):
            url = where.settings.store_url
        elif isinstance(where, Path):
            # A root folder's store: its SQLite file, unless the test runs on PostgreSQL.
            url = os.environ.get("RUNYARD_STORE_URL") or f"sqlite:///{where / 'runyard.db'}"
        else:
            url = str(where)
        if url not in self._stores:
            self._stores[url] = Store.open(url)
        return self._stores[url]

    def run(self, run: runyard.Run) -> Any:
        """The stored ``RunRecord`` of ``run`` (asserting that it exists)."""
        record = self.store(run).get_run(run.entity, run.project, run.id)
        assert record is not None, f"run {run.path} is not in the store"
        return record

    def history(self, run: runyard.Run, keys: list[str] | None = None) -> list[dict[str, Any]]:
        """The stored history rows of ``run``, in step order."""
        return list(self.store(run).history(run.entity, run.project, run.id, keys=keys))

    def user_rows(self, run: runyard.Run) -> list[dict[str, Any]]:
        """Stored rows without ``_runtime`` and ``_timestamp`` (they differ run to run)."""
        return [{k: v for k, v in row.items() if k not in ("_runtime", "_timestamp")} for row in self.history(run)]

    def settle(self, run: runyard.Run, timeout: float = 10.0) -> None:
        """Wait until the store holds every record the live ``run`` has written so far."""
        assert run._ingester is not None, "settle() needs an online run"
        store = self.store(run)
        deadline = time.monotonic() + timeout
        while store.session_progress(run._session) < run._seq:
            assert time.monotonic() < deadline, "the store did not catch up with the run log"
            time.sleep(0.02)

    def close(self) -> None:
        for store in self._stores.values():
            store.close()
        self._stores.clear()


@pytest.fixture
def stored() -> Iterator[StoreReader]:
    reader = StoreReader()
    yield reader
    reader.close()


@pytest.fixture
def child_env() -> dict[str, str]:
    """The environment for a child process: this one without any RUNYARD_* / WANDB_* variable but the store URL
    of the backend under test."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RUNYARD_", "WANDB_"))}
    if os.environ.get("RUNYARD_STORE_URL"):
        env["RUNYARD_STORE_URL"] = os.environ["RUNYARD_STORE_URL"]
    return env
