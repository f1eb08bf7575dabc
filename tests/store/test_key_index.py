"""The maintained keys table: the project's keys list equals a scan of its runs after every kind of write."""

from __future__ import annotations

import math

import pytest
import sqlalchemy as sa
from store_fakes import FakeSession

from runyard.flatten import flatten
from runyard.store import Store
from runyard.store.engine import create_engine, normalize_url
from runyard.store.migrate import upgrade
from runyard.store.schema import entities, project_keys, projects, runs


def _scanned(store: Store, entity: str = "alice", project: str = "proj") -> tuple[list[str], list[str]]:
    """The keys as the store listed them before the keys table: a scan of every run's config and summary."""
    config: set[str] = set()
    summary: set[str] = set()
    for run in store.list_runs(entity, project):
        config.update(flatten(run.config))
        summary.update(flatten(run.summary))
    return sorted(config), sorted(summary)


def _listed(store: Store, entity: str = "alice", project: str = "proj") -> tuple[list[str], list[str]]:
    keys = store.project_keys(entity, project)
    return keys.config, keys.summary


def test_keys_follow_ingest_edits_and_deletes(store: Store, fake_session: type[FakeSession]) -> None:
    a = fake_session("a", config={"lr": 0.1, "model": {"depth": 3, "name": "vit"}})
    a.log({"loss": 1.0, "acc": {"top1": 0.5}})
    b = fake_session("b", config={"lr": 0.2, "seed": 7})
    b.log({"loss": math.nan, "val/loss": 2.0})
    store.ingest(a.records)
    store.ingest(b.records)
    assert _listed(store) == _scanned(store)
    assert "model.depth" in _listed(store)[0] and "acc.top1" in _listed(store)[1]

    # A run gains and loses keys through config and summary records.
    b.add("config", {"set": {"extra": {"x": 1}}, "delete": ["seed"]})
    b.add("summary", {"set": {"best": 3}, "delete": ["val/loss"]})
    store.ingest(b.records, session=b.session)
    config, summary = _listed(store)
    assert (config, summary) == _scanned(store)
    assert "seed" not in config and "extra.x" in config and "val/loss" not in summary and "best" in summary

    # A key both runs share stays while one of them still has it.
    store.update_run("alice", "proj", "a", config={"seed": 1}, summary={"loss": 0.5})
    assert _listed(store) == _scanned(store)
    assert "lr" in _listed(store)[0]  # b still has it
    assert "model.depth" not in _listed(store)[0]

    store.delete_run("alice", "proj", "b")
    assert _listed(store) == _scanned(store) == (["seed"], ["loss"])
    store.delete_run("alice", "proj", "a")
    assert _listed(store) == ([], [])
    with store.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(project_keys)).scalar() == 0


def test_keys_are_per_project_and_a_resumed_run_counts_once(store: Store, fake_session: type[FakeSession]) -> None:
    first = fake_session("r", config={"lr": 0.1})
    first.log({"loss": 1.0})
    store.ingest(first.records)
    again = fake_session("r", resumed=True, config={"lr": 0.1})
    again.log({"loss": 0.5})
    store.ingest(again.records)
    other = fake_session("o", project="other", config={"momentum": 0.9})
    store.ingest(other.records)
    axes = ["_runtime", "_step", "_timestamp"]
    assert _listed(store) == _scanned(store) == (["lr"], [*axes, "loss"])
    assert _listed(store, project="other") == _scanned(store, project="other") == (["momentum"], [])
    with store.engine.connect() as conn:
        counts = dict(conn.execute(sa.select(project_keys.c.key, project_keys.c.runs)).all())
    assert counts == {"lr": 1, "loss": 1, "momentum": 1, **dict.fromkeys(axes, 1)}
    store.delete_run("alice", "proj", "r")
    assert _listed(store) == ([], [])
    assert _listed(store, project="other") == (["momentum"], [])


@pytest.mark.empty_store
def test_migration_backfills_the_keys_of_existing_runs(store_url: str) -> None:
    engine = create_engine(normalize_url(store_url))
    try:
        upgrade(engine, "0006")
        with engine.begin() as conn:
            eid = conn.execute(sa.insert(entities).values(name="e", created_at=1.0).returning(entities.c.id)).scalar()
            pid = conn.execute(
                sa.insert(projects)
                .values(entity_id=eid, name="p", created_at=1.0, last_activity=1.0)
                .returning(projects.c.id)
            ).scalar()
            base = {"project_id": pid, "tags": [], "state": "finished", "summary_state": {}, "metrics": []}
            base.update(created_at=1.0, heartbeat_at=1.0)
            conn.execute(
                sa.insert(runs),
                [
                    {**base, "run_id": "x", "config": {"opt": {"lr": 0.1}}, "summary": {"loss": math.inf}},
                    {**base, "run_id": "y", "config": {"opt": {"lr": 0.2}, "seed": 1}, "summary": {}},
                ],
            )
        upgrade(engine)
        with engine.connect() as conn:
            rows = conn.execute(
                sa.select(project_keys.c.root, project_keys.c.key, project_keys.c.runs).order_by(
                    project_keys.c.root, project_keys.c.key
                )
            ).all()
        assert [tuple(row) for row in rows] == [("config", "opt.lr", 2), ("config", "seed", 1), ("summary", "loss", 1)]
    finally:
        engine.dispose()
    store = Store.open(store_url)
    try:
        assert _listed(store, "e", "p") == _scanned(store, "e", "p") == (["opt.lr", "seed"], ["loss"])
    finally:
        store.close()
