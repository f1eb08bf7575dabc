"""Fixtures for the artifact suite: an isolated runyard root per test (as tests/sdk's), once per store backend.

A SQLite store keeps its blobs in ``blobs/`` beside its file by default; a PostgreSQL store is given a blob
folder first, as ``runyard server --blobs`` would record it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

import runyard


@pytest.fixture
def isolated_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, store_url: str) -> Iterator[Path]:
    """A fresh runyard data folder (``RUNYARD_DIR``), silent runs, the working folder inside ``tmp_path``."""
    for name in list(os.environ):
        if name.startswith(("RUNYARD_", "WANDB_")):
            monkeypatch.delenv(name)
    monkeypatch.setenv("RUNYARD_DIR", str(tmp_path))
    if store_url.startswith("postgresql"):
        from runyard.store import Store

        monkeypatch.setenv("RUNYARD_STORE_URL", store_url)
        Store.open(store_url, blobs=str(tmp_path / "pg-blobs")).close()
    monkeypatch.setenv("RUNYARD_SILENT", "true")
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    assert runyard.run is None, "a previous test left an active run"
    yield tmp_path / "runyard"
    runyard.finish()
