"""A project's runs: the table query (filters, regex search, order, paging), grouping, and chart series."""

from __future__ import annotations

import math
import time
from typing import Any

import httpx
import pytest
from live_server import ENTITY, PROJECT, LiveServer, assert_error, seed_run

QUERY = f"/projects/{ENTITY}/{PROJECT}/runs/query"
GROUPS = f"/projects/{ENTITY}/{PROJECT}/runs/groups"
SERIES = f"/projects/{ENTITY}/{PROJECT}/series"


@pytest.fixture
def table(live: LiveServer) -> LiveServer:
    """Five runs with names, configs, summaries, tags, groups and states to filter, sort and group by."""
    t0 = time.time() - 100
    specs: list[dict[str, Any]] = [
        {"name": "resnet-1", "lr": 0.1, "opt": "adam", "loss": 0.5, "tags": ["base"], "group": "g1", "job": "train"},
        {"name": "resnet-2", "lr": 0.01, "opt": "sgd", "loss": 0.2, "tags": ["base", "best"], "group": "g1"},
        {"name": "ResNet-3", "lr": 0.001, "opt": "adam", "loss": math.nan, "tags": [], "group": "g2"},
        {"name": "vit-1", "lr": 0.05, "opt": None, "loss": 0.9, "tags": ["vit"], "group": None, "job": "eval"},
        {"name": "vit-2", "lr": 0.02, "opt": "sgd", "loss": None, "tags": ["vit"], "group": None, "state": None},
    ]
    for i, spec in enumerate(specs):
        config: dict[str, Any] = {"lr": spec["lr"]}
        if spec["opt"] is not None:
            config["optimizer"] = {"name": spec["opt"]}
        seed_run(
            live.store,
            f"r{i}",
            name=spec["name"],
            config=config,
            summary=None if spec["loss"] is None else {"loss": spec["loss"]},
            tags=spec["tags"],
            group=spec["group"],
            job_type=spec.get("job"),
            state=spec.get("state", "finished"),
            created_at=t0 + i,
        )
    return live


def _ids(response: httpx.Response) -> list[str]:
    assert response.status_code == 200, response.text
    return [run["id"] for run in response.json()["runs"]]


def test_query_default_order_and_run_shape(table: LiveServer) -> None:
    answer = table.client.post(QUERY, json={}).json()
    assert answer["total"] == 5
    assert [r["id"] for r in answer["runs"]] == ["r4", "r3", "r2", "r1", "r0"]  # newest first
    r2 = next(r for r in answer["runs"] if r["id"] == "r2")
    assert r2["summary"] == {"loss": "NaN"}  # non-finite numbers as strings
    assert "metadata" not in r2  # only in the single-run answer
    assert {
        "entity",
        "project",
        "id",
        "name",
        "state",
        "exit_code",
        "notes",
        "tags",
        "group",
        "job_type",
        "created_at",
        "heartbeat_at",
        "finished_at",
        "duration",
        "last_step",
        "username",
        "host",
        "visibility",
        "stop_requested_at",
        "config",
        "summary",
        "metrics",
    } <= set(r2)
    assert (r2["entity"], r2["project"], r2["name"], r2["state"], r2["visibility"]) == (
        ENTITY,
        PROJECT,
        "ResNet-3",
        "finished",
        "private",
    )
    running = next(r for r in answer["runs"] if r["id"] == "r4")
    assert (running["state"], running["finished_at"], running["stop_requested_at"]) == ("running", None, None)


def test_query_filters_search_order_and_paging(table: LiveServer) -> None:
    post = table.client.post
    assert _ids(post(QUERY, json={"filters": {"config.lr": {"$lt": 0.02}}, "order": "config.lr"})) == ["r2", "r1"]
    assert _ids(post(QUERY, json={"filters": {"$and": [{"state": "finished"}, {"tags": "vit"}]}})) == ["r3"]
    # search: a case-insensitive regex anywhere in the display name, combined with the filters
    assert _ids(post(QUERY, json={"search": "^resnet-(1|3)", "order": "display_name"})) == ["r2", "r0"]
    both = post(QUERY, json={"search": "resnet", "filters": {"config.optimizer.name": "adam"}, "order": "created_at"})
    assert _ids(both) == ["r0", "r2"]
    assert both.json()["total"] == 2
    # order by a summary metric: missing (and NaN) last either way
    assert _ids(post(QUERY, json={"order": "-summary_metrics.loss"}))[:3] == ["r3", "r0", "r1"]
    assert _ids(post(QUERY, json={"order": "summary_metrics.loss"}))[:3] == ["r1", "r0", "r3"]
    # paging: total counts every match, the page holds limit runs from offset
    page = post(QUERY, json={"order": "created_at", "offset": 1, "limit": 2})
    assert _ids(page) == ["r1", "r2"]
    assert page.json()["total"] == 5
    assert _ids(post(QUERY, json={"order": "duration", "limit": 0})) == []
    assert _ids(table.client.post(f"/projects/{ENTITY}/nope/runs/query", json={})) == []


def test_query_bad_input(table: LiveServer) -> None:
    post = table.client.post
    assert_error(post(QUERY, json={"filters": {"colour": "red"}}), 400, "bad_filter", "colour", "config.KEY")
    assert_error(post(QUERY, json={"filters": {"state": {"$like": "x"}}}), 400, "bad_filter", "$like")
    assert_error(post(QUERY, json={"search": "resnet-(1"}), 400, "bad_filter", "resnet-(1", "regular expression")
    assert_error(post(QUERY, json={"order": "tags"}), 400, "bad_filter", "tags")
    assert_error(post(QUERY, json={"limit": 1001}), 422, "invalid", "limit")
    assert_error(post(QUERY, json={"offset": -1}), 422, "invalid", "offset")
    assert_error(post(QUERY, json={"filter": {}}), 422, "invalid", "filter")
    assert_error(post(QUERY, json={"filters": [1]}), 422, "invalid", "filters")


def test_groups(table: LiveServer) -> None:
    post = table.client.post

    def groups(body: dict[str, Any]) -> list[tuple[Any, int, list[str]]]:
        response = post(GROUPS, json={"order": "created_at", **body})
        assert response.status_code == 200, response.text
        return [(g["value"], g["count"], g["run_ids"]) for g in response.json()["groups"]]

    assert groups({"group_by": "group"}) == [("g1", 2, ["r0", "r1"]), ("g2", 1, ["r2"]), (None, 2, ["r3", "r4"])]
    assert groups({"group_by": "job_type"}) == [
        ("train", 1, ["r0"]),
        (None, 3, ["r1", "r2", "r4"]),
        ("eval", 1, ["r3"]),
    ]
    assert groups({"group_by": "tags"}) == [
        ("base", 2, ["r0", "r1"]),
        ("best", 1, ["r1"]),
        (None, 1, ["r2"]),
        ("vit", 2, ["r3", "r4"]),
    ]
    assert groups({"group_by": "config.optimizer.name"}) == [
        ("adam", 2, ["r0", "r2"]),
        ("sgd", 2, ["r1", "r4"]),
        (None, 1, ["r3"]),
    ]
    # the same filters, search and order as the table
    assert groups({"group_by": "config.optimizer.name", "search": "RESNET", "order": "-created_at"}) == [
        ("adam", 2, ["r2", "r0"]),
        ("sgd", 1, ["r1"]),
    ]
    assert groups({"group_by": "group", "filters": {"state": "running"}}) == [(None, 1, ["r4"])]
    assert_error(post(GROUPS, json={"group_by": "summary_metrics.loss"}), 400, "bad_filter", "group by")
    assert_error(post(GROUPS, json={"group_by": "colour"}), 400, "bad_filter", "colour")
    assert_error(post(GROUPS, json={"group_by": "group", "search": "("}), 400, "bad_filter", "regular expression")
    assert_error(post(GROUPS, json={}), 422, "invalid", "group_by")


def test_series_buckets(live: LiveServer) -> None:
    rows = [{"loss": 100.0 - s, "acc": s / 100, "epoch": s // 10} for s in range(100)]
    rows[50]["loss"] = math.inf
    seed_run(live.store, "a", rows=rows)
    seed_run(live.store, "b", rows=[{"loss": 1.0}, {"loss": 2.0}])
    post = live.client.post

    answer = post(SERIES, json={"runs": ["a", "b", "ghost"], "keys": ["loss", "nokey"], "buckets": 10}).json()
    assert answer["x"] == "_step"
    assert [(s["run"], s["key"]) for s in answer["series"]] == [("a", "loss"), ("b", "loss")]
    a = answer["series"][0]
    assert len(a["x"]) == 10
    assert a["count"] == [10] * 10
    assert a["x_first"] == 0 and a["x_last"] == 99
    assert a["last"][-1] == 1.0 and a["x"][-1] == 99
    assert a["min"][0] == 91.0 and a["max"][0] == 100.0
    assert "Infinity" in a["max"]  # the inf point survives bucketing, as a string
    assert set(a) == {"run", "key", "x_first", "x_last", "x", "min", "max", "last", "count"}

    # A bucket holding no number (only text) has null extremes and value, drawn at its last x.
    seed_run(live.store, "c", rows=[{"mixed": 1.0}, {"mixed": "n/a"}, {"mixed": "n/a"}, {"mixed": 4.0}])
    (mixed,) = post(SERIES, json={"runs": ["c"], "keys": ["mixed"], "buckets": 4}).json()["series"]
    assert mixed["last"] == [1.0, None, None, 4.0] and mixed["max"] == [1.0, None, None, 4.0]
    assert mixed["x"] == [0, 1, 2, 3]

    zoom = post(SERIES, json={"runs": ["a"], "keys": ["acc"], "x_min": 20, "x_max": 29, "buckets": 1000}).json()
    (acc,) = zoom["series"]
    assert acc["x"] == list(range(20, 30))
    assert acc["last"] == [s / 100 for s in range(20, 30)]

    by_epoch = post(SERIES, json={"runs": ["a"], "keys": ["acc"], "x": "epoch", "buckets": 10}).json()
    assert by_epoch["x"] == "epoch"
    assert sum(by_epoch["series"][0]["count"]) == 100

    assert_error(post(SERIES, json={"runs": ["a"], "keys": ["acc"], "buckets": 0}), 422, "invalid", "buckets")
    assert_error(post(SERIES, json={"runs": ["a"], "keys": ["acc"], "buckets": 5001}), 422, "invalid", "buckets")
    assert_error(post(SERIES, json={"runs": "a", "keys": ["acc"]}), 422, "invalid", "runs")
