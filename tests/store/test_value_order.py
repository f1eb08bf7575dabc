"""Ordering runs by a config or summary key through ``run_values`` agrees with the Python sort, whatever the
values: mixed types, missing keys, NaN and inf, lists and dicts, dotted keys, and after edits and deletes."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
import sqlalchemy as sa
from store_fakes import FakeSession

from runyard.store import Store
from runyard.store.filters import parse_filter, parse_order, record_view, sort_views
from runyard.store.migrate import upgrade
from runyard.store.schema import run_values

# Summary values of key "v" (and friends), one run each: every kind the Python sort ranks.
_VALUES: list[Any] = [
    3, 3.0, -1.5, math.inf, -math.inf, math.nan, None, "b", "a", "Δ", "B", True, False, [1, 2], [1], {"x": 1},
    {}, {"_type": "image-file", "path": "a.png"}, 2**60, 2**60 + 1, 0.0, -0.0, "", "missing",
]  # fmt: skip

# Values of a key that holds plain scalars only: conditions on it are answered by SQL over run_values.
_PLAIN: list[Any] = [1, 2.5, "x", True, None, math.nan, math.inf, "missing", 0, "Y", False, -3]

_FILTERS: list[Any] = [
    {"summary_metrics.p": 1}, {"summary_metrics.p": 1.0}, {"summary_metrics.p": True}, {"summary_metrics.p": "x"},
    {"summary_metrics.p": None}, {"summary_metrics.p": math.nan}, {"summary_metrics.p": [1]},
    {"summary_metrics.p": {"$ne": 1}}, {"summary_metrics.p": {"$ne": None}}, {"summary_metrics.p": {"$in": [0, "Y"]}},
    {"summary_metrics.p": {"$nin": [False, 2.5]}}, {"summary_metrics.p": {"$gt": 0}},
    {"summary_metrics.p": {"$lte": 2.5}}, {"summary_metrics.p": {"$gte": "a"}}, {"summary_metrics.p": {"$lt": "a"}},
    {"summary_metrics.p": {"$gt": math.inf}}, {"summary_metrics.p": {"$gte": math.inf}},
    {"summary_metrics.p": {"$exists": True}}, {"summary_metrics.p": {"$exists": False}},
    {"summary_metrics.d.e": {"$lt": 2}}, {"summary_metrics.v": {"$gt": 0}}, {"config.c": {"$in": [3, "b"]}},
    {"$or": [{"summary_metrics.p": {"$gt": 0}}, {"summary_metrics.v": "a"}]},
    {"$nor": [{"summary_metrics.p": {"$gt": 0}}, {"created_at": {"$lt": 1003}}]},
]  # fmt: skip

_ORDERS = [
    "summary_metrics.v", "-summary_metrics.v", "config.c", "-config.c", "config.c.value", "summary_metrics.d.e",
    "-summary_metrics.d.e", "config.m.n", "-config.m.n", "summary_metrics.nope", "-summary_metrics.nope",
    "config.a.b", "-config.a.b",
]  # fmt: skip


def _seed(store: Store) -> None:
    for i, value in enumerate(_VALUES):
        summary: dict[str, Any] = {} if value == "missing" else {"v": value}
        summary["d"] = {"e": i % 3} if i % 4 else {"e": "s"}
        plain = _PLAIN[i % len(_PLAIN)]
        if plain != "missing":
            summary["p"] = plain
        config: dict[str, Any] = {"c": value if i % 2 else i, "m": {"n": [i] if i % 5 == 0 else i % 4}}
        if i % 6 == 0:
            config["a.b"] = i  # a dotted key beside a nested one: the evaluator reads "a.b" first
        config["a"] = {"b": -i}
        session = FakeSession(f"r{i:02d}", created_at=1000.0 + i, config=config)
        session.add("summary", {"set": summary, "delete": []})
        store.ingest(session.records)


def _expected(store: Store, order: str, spec: Any = None) -> list[str]:
    node = parse_filter(spec)
    runs = [run for run in store.list_runs("alice", "proj") if node.matches(record_view(run))]
    # Run ids r00.. were ingested in order, so their number is their row id: the tie-break.
    views = [(int(run.run_id[1:]), record_view(run)) for run in runs]
    return [view["run_id"] for _, view in sort_views(views, parse_order(order))]


def _check_all(store: Store) -> None:
    for order in _ORDERS:
        expected = _expected(store, order)
        assert store.query_run_ids("alice", "proj", order=order) == expected, order
        for offset, limit in ((0, 5), (3, 4), (20, 10)):
            page = store.query_runs("alice", "proj", order=order, limit=limit, offset=offset)
            assert [run.run_id for run in page] == expected[offset : offset + limit], (order, offset)
        spec = {"config.m.n": {"$lt": 2}}  # a filter evaluated in Python over the ordered candidates
        found = [run.run_id for run in store.query_runs("alice", "proj", filters=spec, order=order, limit=6)]
        assert found == _expected(store, order, spec)[:6], order
        spec = {"created_at": {"$gt": 1005.0}}  # a filter SQL evaluates
        found = [run.run_id for run in store.query_runs("alice", "proj", filters=spec, order=order, limit=6)]
        assert found == _expected(store, order, spec)[:6], order


def test_orders_by_keys_agree_with_python(store: Store) -> None:
    _seed(store)
    _check_all(store)


def test_filters_on_keys_agree_with_python(store: Store) -> None:
    _seed(store)
    for spec in _FILTERS:
        expected = _expected(store, "-created_at", spec)
        assert store.count_runs("alice", "proj", filters=spec) == len(expected), spec
        assert store.query_run_ids("alice", "proj", filters=spec) == expected, spec
        page = store.query_runs("alice", "proj", filters=spec, order="summary_metrics.p", limit=4, offset=1)
        assert [run.run_id for run in page] == _expected(store, "summary_metrics.p", spec)[1:5], spec


def test_orders_follow_edits_and_deletes(store: Store) -> None:
    _seed(store)
    store.update_run("alice", "proj", "r03", summary={"v": "zz", "d": {"e": 9}})
    store.update_run("alice", "proj", "r05", config={"c": {"deep": 1}})  # config.c now holds a dict for one run
    store.delete_run("alice", "proj", "r07")
    s = FakeSession("r01", resumed=True)
    s.add("summary", {"set": {"v": -100}, "delete": ["d"]})
    store.ingest(s.records)
    _check_all(store)
    with store.engine.connect() as conn:
        pks = conn.execute(sa.text("SELECT id FROM runs")).scalars().all()
        stored = conn.execute(sa.select(run_values.c.run_pk).distinct()).scalars().all()
    assert set(stored) <= set(pks)


def _downgrade(engine: sa.Engine, target: str) -> None:
    from pathlib import Path

    from alembic import command
    from alembic.config import Config

    import runyard.store.migrate as migrate

    cfg = Config()
    cfg.set_main_option("script_location", str(Path(migrate.__file__).parent / "migrations"))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, target)


def test_migration_backfills_run_values(store_url: str) -> None:
    store = Store.open(store_url)
    try:
        _seed(store)
        with store.engine.begin() as conn:
            conn.execute(sa.delete(run_values))
        _downgrade(store.engine, "0009")
        upgrade(store.engine)
        _check_all(store)
    finally:
        store.close()


@pytest.mark.parametrize("order", ["summary_metrics.v", "-config.c"])
def test_an_unknown_project_has_no_runs(store: Store, order: str) -> None:
    assert store.query_runs("alice", "nope", order=order) == []


def _groups_by_json(store: Store, group_by: str) -> list[tuple[Any, list[str]]]:
    """Grouping as the store did before: each run's value keyed by its JSON, groups in order of first run."""
    from runyard.store.filters import MISSING, parse_field

    field = parse_field(group_by)
    groups: dict[str, tuple[Any, list[str]]] = {}
    for run_id in store.query_run_ids("alice", "proj"):
        run = store.get_run("alice", "proj", run_id)
        assert run is not None
        found = field.value(record_view(run))
        value = None if found is MISSING else found
        key = json.dumps(value, sort_keys=True, default=repr)
        groups.setdefault(key, (value, []))[1].append(run_id)
    return list(groups.values())


@pytest.mark.parametrize("group_by", ["config.c", "config.m.n", "config.a.b", "config.nope", "config.m"])
def test_grouping_by_a_config_key_is_unchanged(store: Store, group_by: str) -> None:
    _seed(store)
    found = [(group.value, group.run_ids) for group in store.group_runs("alice", "proj", group_by)]
    expected = _groups_by_json(store, group_by)
    assert [ids for _, ids in found] == [ids for _, ids in expected]
    assert [json.dumps(v, default=repr) for v, _ in found] == [json.dumps(v, default=repr) for v, _ in expected]


def test_a_rare_match_is_found_across_chunks(store: Store) -> None:
    for i in range(150):
        session = FakeSession(f"r{i:03d}", created_at=1000.0 + i, config={"k": i % 50})
        session.add("summary", {"set": {"v": i % 7}, "delete": []})
        store.ingest(session.records)
    spec = {"config.k": 0}  # 3 of 150 runs: the page fills only after several chunks of candidates
    for order in ("-summary_metrics.v", "summary_metrics.v", "-created_at", "display_name"):
        found = [run.run_id for run in store.query_runs("alice", "proj", filters=spec, order=order, limit=3)]
        expected = _expected(store, order, spec)
        assert found == expected and len(found) == 3, order
        page = store.query_runs("alice", "proj", filters=spec, order=order, limit=1, offset=2)
        assert [run.run_id for run in page] == expected[2:3]


def test_long_texts_and_keys_are_ingested_and_answered_exactly(store: Store) -> None:
    # PostgreSQL refuses a B-tree entry over ~2.7 kB: a long config string (a prompt), a histogram in the
    # summary or a very long key must neither stop ingestion nor change the answers of sorts and filters.
    long_key = "k" * 400
    texts = ["p" * 5000 + "b", "p" * 5000 + "a", "short", "p" * 199, "p" * 200]
    for i, text in enumerate(texts):
        config = {"prompt": text, long_key: i}
        session = FakeSession(f"r{i:02d}", created_at=1000.0 + i, config=config)
        hist = {"_type": "histogram", "values": list(range(500)), "bins": list(range(501))}
        session.add("summary", {"set": {"h": hist, "t": text, long_key: -i}, "delete": []})
        store.ingest(session.records)
    assert len(store.list_runs("alice", "proj")) == len(texts)
    for order in ("config.prompt", "-config.prompt", "summary_metrics.t", f"-config.{long_key}", "summary_metrics.h"):
        assert store.query_run_ids("alice", "proj", order=order) == _expected(store, order), order
    for spec in (
        {"config.prompt": texts[1]},
        {"config.prompt": {"$gt": texts[1]}},
        {"summary_metrics.t": {"$lt": "q"}},
        {f"config.{long_key}": {"$gte": 2}},
    ):
        expected = _expected(store, "-created_at", spec)
        assert store.query_run_ids("alice", "proj", filters=spec) == expected, spec
        assert store.count_runs("alice", "proj", filters=spec) == len(expected), spec
