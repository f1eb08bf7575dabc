"""Schema migrations: idempotent, matching schema.py, safe when several processes open a fresh store."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

import pytest
import sqlalchemy as sa

from runyard.store import Store
from runyard.store.migrate import current_revision
from runyard.store.schema import HEAD_REVISION, metadata

pytestmark = pytest.mark.empty_store  # migrations from scratch


def test_open_twice_is_idempotent(store_url: str) -> None:
    Store.open(store_url).close()
    store = Store.open(store_url)
    try:
        assert current_revision(store.engine) == HEAD_REVISION
        with store.engine.connect() as conn:
            assert conn.execute(sa.text("SELECT count(*) FROM alembic_version")).scalar() == 1
    finally:
        store.close()


def test_head_revision_constant_matches_the_scripts() -> None:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    import runyard.store.migrate as migrate

    cfg = Config()
    cfg.set_main_option("script_location", str(Path(migrate.__file__).parent / "migrations"))
    assert ScriptDirectory.from_config(cfg).get_heads() == [HEAD_REVISION]


def test_migrations_produce_schema_py(store_url: str) -> None:
    # A fresh store is created from schema.py directly; the migrations must build exactly the same schema.
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from runyard.store.engine import create_engine, normalize_url
    from runyard.store.migrate import upgrade

    engine = create_engine(normalize_url(store_url))
    try:
        upgrade(engine)
        assert current_revision(engine) == HEAD_REVISION
        with engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), metadata)
        assert diff == []
    finally:
        engine.dispose()


def test_fresh_store_matches_the_migrations(store: Store) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    with store.engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), metadata) == []
        assert conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar() == HEAD_REVISION


def _open_and_write(url: str, index: int) -> int:
    import uuid

    from runyard.store import Store

    store = Store.open(url)
    try:
        session = uuid.uuid4().hex
        start = {
            "session": session,
            "run_id": f"r{index}",
            "project": "p",
            "entity": "e",
            "config": {},
            "created_at": 1.0,
            "started_at": 1.0,
        }
        rows = [[i + 2, "row", {"_step": i, "v": float(i)}] for i in range(50)]
        return store.ingest([[1, "start", start], *rows])
    finally:
        store.close()


def test_concurrent_open_of_a_fresh_store(store_url: str) -> None:
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(6) as pool:
        results = pool.starmap(_open_and_write, [(store_url, i) for i in range(6)])
    assert results == [51] * 6
    store = Store.open(store_url)
    try:
        assert len(store.list_runs("e", "p")) == 6
        assert current_revision(store.engine) == HEAD_REVISION
    finally:
        store.close()
