"""``api.runs()``: every filter operator and field, orders, paging; ``api.projects()``; paths."""

from __future__ import annotations

import getpass
import math
import socket
from typing import Any

import pytest
from places import Place, raw_run_records

import runyard
from runyard.api import Api, Run
from runyard.errors import FilterError, NotFoundError, UsageError

PROJECT = "seeded"
FUTURE = 2_000_000_000.0  # 2033-05-18T03:33:20: the raw run's creation time
ENTITY = getpass.getuser()


@pytest.fixture(scope="module", autouse=True)
def seeded(place: Place) -> None:
    """Five runs: four made by the SDK in order (r0..r3), and a live one written straight to the store (r4)."""
    place.make_run(
        PROJECT, "r0", name="alpha", config={"lr": 0.1, "opt": "adam", "layers": [1, 2]}, tags=["base"],
        group="g1", job_type="train", notes="first", rows=[{"loss": 1.0 / (k + 1)} for k in range(50)],
        summary={"acc": 0.5},
    )  # fmt: skip
    place.make_run(
        PROJECT, "r1", name="beta", config={"lr": 0.01, "opt": "sgd"}, tags=["best", "paper"], group="g1",
        job_type="eval", rows=[{"loss": 0.5}] * 20, summary={"acc": 0.9, "eval": {"acc": 0.8}},
    )  # fmt: skip
    place.make_run(
        PROJECT, "r2", name="gamma", config={"lr": 0.001, "opt": "adam", "nested": {"depth": 3}},
        rows=[{"loss": 0.1}] * 10, summary={"acc": 0.7}, exit_code=1,
    )  # fmt: skip
    place.make_run(PROJECT, "r3", name="Delta", tags=["paper"], rows=[{"loss": math.nan}], summary={"acc": math.nan})
    place.ingest(
        raw_run_records(
            PROJECT, "r4", created_at=FUTURE, name="epsilon", host="otherhost", username="someone",
            config={"lr": "0.5"}, tags=["live"], notes="still going",
        )
    )  # fmt: skip


def ids(runs: Any) -> list[str]:
    return [run.id for run in runs]


ALL = ["r4", "r3", "r2", "r1", "r0"]  # newest first

FILTERS: list[tuple[dict[str, Any], list[str]]] = [
    ({}, ALL),
    # state (as read), with $eq $ne $in $nin $regex
    ({"state": "finished"}, ["r3", "r1", "r0"]),
    ({"state": {"$eq": "failed"}}, ["r2"]),
    ({"state": {"$ne": "finished"}}, ["r4", "r2"]),
    ({"state": {"$in": ["running", "failed"]}}, ["r4", "r2"]),
    ({"state": {"$nin": ["running", "failed"]}}, ["r3", "r1", "r0"]),
    ({"state": {"$regex": "^run"}}, ["r4"]),
    # tags: any of
    ({"tags": "paper"}, ["r3", "r1"]),
    ({"tags": {"$in": ["base", "live"]}}, ["r4", "r0"]),
    ({"tags": {"$nin": ["paper"]}}, ["r4", "r2", "r0"]),
    ({"tags": {"$exists": True}}, ALL),
    # names: display name and run id, in W&B's spellings
    ({"display_name": "alpha"}, ["r0"]),
    ({"displayName": {"$regex": "^[a-f]"}}, ["r4", "r1", "r0"]),
    ({"display_name": {"$gt": "beta"}}, ["r4", "r2"]),
    ({"display_name": {"$lte": "alpha"}}, ["r3", "r0"]),  # "Delta" < "alpha": by code point
    ({"name": "r2"}, ["r2"]),
    ({"name": {"$in": ["r0", "r4", "nope"]}}, ["r4", "r0"]),
    # group, job type, notes
    ({"group": "g1"}, ["r1", "r0"]),
    ({"group": {"$exists": False}}, ["r4", "r3", "r2"]),
    ({"group": None}, ["r4", "r3", "r2"]),
    ({"job_type": "eval"}, ["r1"]),
    ({"jobType": {"$ne": "eval"}}, ["r4", "r3", "r2", "r0"]),
    ({"notes": {"$regex": "going$"}}, ["r4"]),
    # times, as ISO strings and unix seconds
    ({"createdAt": {"$gt": "2030-01-01T00:00:00"}}, ["r4"]),
    ({"created_at": {"$lt": "2030-01-01T00:00:00Z"}}, ["r3", "r2", "r1", "r0"]),
    ({"created_at": {"$gte": FUTURE}}, ["r4"]),
    ({"created_at": {"$lte": FUTURE - 1}}, ["r3", "r2", "r1", "r0"]),
    ({"heartbeat_at": {"$gt": 0}}, ALL),
    # where it ran
    ({"host": "otherhost"}, ["r4"]),
    ({"host": socket.gethostname()}, ["r3", "r2", "r1", "r0"]),
    ({"username": {"$ne": "someone"}}, ["r3", "r2", "r1", "r0"]),
    # config, as runyard and W&B spell it
    ({"config.lr": 0.1}, ["r0"]),
    ({"config.lr.value": {"$lt": 0.05}}, ["r2", "r1"]),
    ({"config.lr": {"$gte": 0.01, "$lte": 0.1}}, ["r1", "r0"]),
    ({"config.lr": {"$gt": 0.0}}, ["r2", "r1", "r0"]),  # the string "0.5" is no number
    ({"config.lr": "0.5"}, ["r4"]),
    ({"config.opt": {"$in": ["sgd", "adamw"]}}, ["r1"]),
    ({"config.opt": {"$exists": False}}, ["r4", "r3"]),
    ({"config.nested.depth": 3}, ["r2"]),
    ({"config.layers": 2}, ["r0"]),
    # summary, nested too
    ({"summary_metrics.acc": {"$gt": 0.6}}, ["r2", "r1"]),
    ({"summary_metrics.acc": math.nan}, ["r3"]),
    ({"summary_metrics.eval.acc": 0.8}, ["r1"]),
    ({"summary_metrics.loss": {"$lt": 0.2}}, ["r2", "r0"]),
    ({"summary_metrics._step": {"$gte": 20}}, ["r0"]),
    # logic
    ({"$and": [{"state": "finished"}, {"tags": "paper"}]}, ["r3", "r1"]),
    ({"$or": [{"name": "r0"}, {"config.lr": "0.5"}]}, ["r4", "r0"]),
    ({"$nor": [{"group": "g1"}, {"state": "running"}]}, ["r3", "r2"]),
    ({"state": "finished", "group": "g1"}, ["r1", "r0"]),  # several keys: all of them
    ({"$or": [{"$and": [{"tags": "paper"}, {"summary_metrics.acc": {"$gte": 0.9}}]}, {"job_type": "train"}]},
     ["r1", "r0"]),
]  # fmt: skip


def test_every_filter_operator_and_field(api: Api) -> None:
    for filters, expected in FILTERS:
        runs = api.runs(PROJECT, filters=filters)
        assert ids(runs) == expected, filters
        assert len(runs) == len(expected), filters


ORDERS: list[tuple[str, list[str]]] = [
    ("-created_at", ALL),
    ("+created_at", ALL[::-1]),
    ("createdAt", ALL[::-1]),
    ("display_name", ["r3", "r0", "r1", "r4", "r2"]),
    ("-display_name", ["r2", "r4", "r1", "r0", "r3"]),
    ("name", ["r0", "r1", "r2", "r3", "r4"]),
    ("-name", ALL),
    ("state", ["r2", "r0", "r1", "r3", "r4"]),  # failed, finished x3, running
    ("config.lr", ["r2", "r1", "r0", "r4", "r3"]),  # numbers, then the string, then the run without lr
    ("-config.lr.value", ["r4", "r0", "r1", "r2", "r3"]),  # the missing one stays last
    ("summary_metrics.acc", ["r0", "r2", "r1", "r3", "r4"]),  # NaN and missing last
    ("-summary_metrics.acc", ["r1", "r2", "r0", "r4", "r3"]),
    ("group", ["r0", "r1", "r2", "r3", "r4"]),
    ("-group", ["r1", "r0", "r4", "r3", "r2"]),
]


def test_orders(api: Api) -> None:
    for order, expected in ORDERS:
        assert ids(api.runs(PROJECT, order=order)) == expected, order


def test_heartbeat_and_runtime_orders(api: Api) -> None:
    beats = [run.heartbeat_at for run in api.runs(PROJECT, order="heartbeat_at")]
    assert beats == sorted(beats)
    assert ids(api.runs(PROJECT, order="-heartbeatAt")) == ids(api.runs(PROJECT, order="heartbeat_at"))[::-1]
    assert ids(api.runs(PROJECT, order="runtime")) == ids(api.runs(PROJECT, order="-duration"))[::-1]
    assert ids(api.runs(PROJECT, order="runtime"))[0] == "r4"  # the live run has no runtime yet


def test_paging_len_and_indexing(api: Api) -> None:
    runs = api.runs(PROJECT, per_page=2)
    assert len(runs) == 5 and runs.length == 5
    assert runs._pages == {}  # len() reads ids only
    assert ids(runs) == ALL
    assert len(runs._pages) == 3  # pages of 2, 2 and 1
    assert runs[0].id == "r4" and runs[-1].id == "r0" and runs[3].id == "r1"
    assert ids(runs[1:3]) == ["r3", "r2"]
    with pytest.raises(IndexError):
        runs[5]
    assert ids(runs) == ALL  # iterating again
    assert all(isinstance(run, Run) for run in runs)
    filtered = api.runs(f"{ENTITY}/{PROJECT}", filters={"tags": {"$nin": ["x"]}}, order="config.lr", per_page=1)
    assert ids(filtered) == ["r2", "r1", "r0", "r4", "r3"]
    with pytest.raises(UsageError):
        api.runs(PROJECT, per_page=0)


def test_runs_snapshot_is_stable_while_runs_are_added(place: Place, api: Api) -> None:
    runs = api.runs("growing", per_page=1)
    place.make_run("growing", "g0")
    place.make_run("growing", "g1")
    assert len(runs) == 2
    place.make_run("growing", "g2")
    assert ids(runs) == ["g1", "g0"]  # the snapshot taken at len()
    assert ids(api.runs("growing")) == ["g2", "g1", "g0"]


def test_bad_filters_and_orders_raise_at_once(api: Api) -> None:
    with pytest.raises(FilterError, match=r"\$regexp"):
        api.runs(PROJECT, filters={"name": {"$regexp": "a"}})
    with pytest.raises(FilterError, match="unknown filter field 'colour'"):
        api.runs(PROJECT, filters={"colour": "red"})
    with pytest.raises(FilterError, match="cannot order by"):
        api.runs(PROJECT, order="-colour")
    assert isinstance(FilterError("x"), runyard.errors.UsageError)


def test_unknown_project_has_no_runs(api: Api) -> None:
    runs = api.runs("no-such-project")
    assert len(runs) == 0 and list(runs) == []


def test_projects_and_project(api: Api) -> None:
    projects = {p.name: p for p in api.projects()}
    assert PROJECT in projects
    project = api.project(PROJECT)
    assert (project.name, project.entity, project.run_count) == (PROJECT, ENTITY, 5)
    assert project.path == [ENTITY, PROJECT]
    assert project.created_at is not None and len(project.created_at) == 19
    assert ids(project.runs(filters={"tags": "paper"})) == ["r3", "r1"]
    assert api.project(f"{ENTITY}/{PROJECT}").name == PROJECT
    assert api.projects(entity="nobody") == []
    with pytest.raises(NotFoundError):
        api.project("no-such-project")


def test_run_paths(api: Api, place: Place) -> None:
    for path in (
        f"{ENTITY}/{PROJECT}/r1",
        f"{ENTITY}/{PROJECT}/runs/r1",
        f"{PROJECT}/r1",
        f"http://127.0.0.1:8080/{ENTITY}/{PROJECT}/runs/r1",
    ):
        assert api.run(path).id == "r1", path
    with place.api({"project": PROJECT}) as defaults:
        assert defaults.run("r1").name == "beta"
        assert ids(defaults.runs(filters={"name": "r2"})) == ["r2"]
        assert defaults.default_project == PROJECT and defaults.default_entity == ENTITY
    with place.api({"entity": "someone-else"}) as other, pytest.raises(NotFoundError):
        other.run(f"{PROJECT}/r1")
    with pytest.raises(NotFoundError, match="Could not find run"):
        api.run(f"{PROJECT}/nope")
    assert isinstance(NotFoundError("x"), runyard.errors.Error)
    for bad in (f"{ENTITY}/{PROJECT}/x/r1", "a//b", "a/b/c/d/e"):
        with pytest.raises(UsageError):
            api.run(bad)
