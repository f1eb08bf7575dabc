"""Fixtures of the media suite: an isolated runyard root per test and backend, read back through ``runyard.Api``.

Every test logs with the real SDK into a real store (the embedded SQLite store, or PostgreSQL) and reads what
it logged through the public API, as a user would.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import runyard


@pytest.fixture(autouse=True)
def isolated_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, store_url: str) -> Iterator[Path]:
    """A fresh runyard data folder per test, once per store backend; the active run is finished at teardown."""
    for name in list(os.environ):
        if name.startswith(("RUNYARD_", "WANDB_")):
            monkeypatch.delenv(name)
    monkeypatch.setenv("RUNYARD_DIR", str(tmp_path))
    if store_url.startswith("postgresql"):
        monkeypatch.setenv("RUNYARD_STORE_URL", store_url)
    monkeypatch.setenv("RUNYARD_SILENT", "true")
    monkeypatch.chdir(tmp_path)
    assert runyard.run is None, "a previous test left an active run"
    yield tmp_path / "runyard"
    runyard.finish()


class LazyApi:
    """``runyard.Api()`` opened on first use (after the test logged its runs: an empty root has no store yet)."""

    def __init__(self) -> None:
        self._api: Any = None

    def __getattr__(self, name: str) -> Any:
        if self._api is None:
            self._api = runyard.Api()
        return getattr(self._api, name)

    def close_api(self) -> None:
        if self._api is not None:
            self._api.close()


@pytest.fixture
def api() -> Iterator[Any]:
    """A ``runyard.Api`` on the store the test's runs go to, opened on first use."""
    opened = LazyApi()
    try:
        yield opened
    finally:
        opened.close_api()


@pytest.fixture
def child_env() -> dict[str, str]:
    """The environment for a child process: this one's, with the test's root and store."""
    return {k: v for k, v in os.environ.items() if not k.startswith("WANDB_")}
