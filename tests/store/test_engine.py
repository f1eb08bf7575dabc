"""Engine setup: SQLite pragmas, URL handling, writers that queue instead of failing, cheap opens."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
import sqlalchemy as sa
from store_fakes import FakeSession

import runyard.store.migrate as migrate
from runyard.errors import StoreError
from runyard.store import Store
from runyard.store.engine import normalize_url


def test_sqlite_pragmas_and_folder(tmp_path: Path) -> None:
    store = Store.open(f"sqlite:///{tmp_path}/a/b/runyard.db")
    try:
        assert (tmp_path / "a" / "b" / "runyard.db").exists()
        with store.engine.connect() as conn:
            pragma = conn.exec_driver_sql
            assert pragma("PRAGMA journal_mode").scalar() == "wal"
            assert pragma("PRAGMA busy_timeout").scalar() == 30000
            assert pragma("PRAGMA synchronous").scalar() == 1  # NORMAL
            assert pragma("PRAGMA foreign_keys").scalar() == 1
    finally:
        store.close()


def test_urls() -> None:
    assert normalize_url("postgresql://u@h/db").drivername == "postgresql+psycopg"
    assert normalize_url("postgres://u@h/db").drivername == "postgresql+psycopg"
    assert normalize_url("sqlite:///x.db").drivername == "sqlite"
    with pytest.raises(StoreError):
        normalize_url("mysql://u@h/db")
    with pytest.raises(StoreError):
        normalize_url("not a url")


def test_open_at_head_does_not_migrate(store_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    Store.open(store_url).close()

    def fail(*args: object, **kwargs: object) -> None:
        raise AssertionError("migrated a store that was already at head")

    monkeypatch.setattr(migrate, "upgrade", fail)
    Store.open(store_url).close()


def test_unreachable_database_raises_store_error(tmp_path: Path) -> None:
    (tmp_path / "dir.db").mkdir()  # a folder where the database file should be
    with pytest.raises(StoreError, match="cannot open the store"):
        Store.open(f"sqlite:///{tmp_path}/dir.db")


def test_concurrent_writers_queue_instead_of_failing(store_url: str) -> None:
    stores = [Store.open(store_url) for _ in range(4)]
    errors: list[BaseException] = []

    def write(store: Store, index: int) -> None:
        try:
            session = FakeSession(f"run{index}")
            for i in range(200):
                session.log({"v": i, "w": float(i)})
            for start in range(0, len(session.records), 7):
                store.ingest(session.records[start : start + 7], session=session.session)
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(store, i)) for i, store in enumerate(stores)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    try:
        assert errors == []
        for i in range(4):
            assert stores[0].series("alice", "proj", f"run{i}", "v") == (list(range(200)), list(range(200)))
        with stores[0].engine.connect() as conn:
            assert conn.execute(sa.text("SELECT count(*) FROM runs")).scalar() == 4
    finally:
        for store in stores:
            store.close()
