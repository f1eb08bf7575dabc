"""Run filters and orders: parsing (hypothesis), evaluation, and the same answers from SQL and Python."""

from __future__ import annotations

import math
import time
from datetime import datetime, timezone
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from store_fakes import FakeSession

from runyard.errors import FilterError, UsageError
from runyard.store import RunRecord, Store
from runyard.store.filters import Node, Order, parse_filter, parse_order, record_view, sort_views

# -- parsing ------------------------------------------------------------------------------------------------

_COLUMN_NAMES = [
    "state", "tags", "display_name", "displayName", "name", "id", "group", "job_type", "jobType", "host",
    "username", "notes",
]  # fmt: skip
_TIME_NAMES = ["created_at", "createdAt", "heartbeat_at", "heartbeatAt"]
_NUMBER_NAMES = ["runtime", "duration"]
_OPS = ["$eq", "$ne", "$gt", "$gte", "$lt", "$lte", "$in", "$nin", "$exists", "$regex"]

scalars = st.none() | st.booleans() | st.integers(-5, 5) | st.floats() | st.text(max_size=4)
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text("abxy", max_size=3), inner, max_size=3),
    max_leaves=6,
)
iso_times = st.datetimes(min_value=datetime(1971, 1, 1), max_value=datetime(2100, 1, 1)).map(datetime.isoformat)
times = st.floats(0, 4e9) | st.integers(0, 4_000_000_000) | iso_times | iso_times.map(lambda s: s + "Z")
json_paths = st.builds(
    lambda prefix, key, value: f"{prefix}.{key}" + (".value" if value else ""),
    st.sampled_from(["config", "summary_metrics", "summaryMetrics", "summary"]),
    st.sampled_from(["lr", "opt", "a.b", "acc", "loss", "nested.depth"]),
    st.booleans(),
)
regexes = st.sampled_from(["^a", "b$", ".*", "x|y", "[0-9]+", "(?i)ADAM"])


def _conditions(values: st.SearchStrategy[Any], ordered: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(
        values,
        st.builds(lambda op, v: {op: v}, st.sampled_from(["$eq", "$ne"]), values),
        st.builds(lambda op, v: {op: v}, st.sampled_from(["$gt", "$gte", "$lt", "$lte"]), ordered),
        st.builds(lambda op, v: {op: v}, st.sampled_from(["$in", "$nin"]), st.lists(values, max_size=3)),
        st.builds(lambda v: {"$exists": v}, st.booleans()),
        st.builds(lambda v: {"$regex": v}, regexes),
        st.builds(lambda v, o: {"$regex": v, "$options": o}, regexes, st.sampled_from(["", "i", "ims"])),
        st.builds(lambda lo, hi: {"$gte": lo, "$lt": hi}, ordered, ordered),
    )


_ordered_values = st.integers(-5, 5) | st.floats(allow_nan=False) | st.text(max_size=3)
field_conditions = st.one_of(
    st.tuples(st.sampled_from(_COLUMN_NAMES), _conditions(json_values, _ordered_values)),
    st.tuples(json_paths, _conditions(json_values, _ordered_values)),
    st.tuples(st.sampled_from(_NUMBER_NAMES), _conditions(json_values, _ordered_values)),
    st.tuples(st.sampled_from(_TIME_NAMES), _conditions(times, times)),
)
documents = st.lists(field_conditions, max_size=3).map(dict)
valid_filters = st.recursive(
    documents,
    lambda inner: st.builds(
        lambda op, items, extra: {op: items, **extra},
        st.sampled_from(["$and", "$or", "$nor"]),
        st.lists(inner, min_size=1, max_size=3),
        documents,
    ),
    max_leaves=8,
)


@given(valid_filters)
def test_valid_filters_parse_and_evaluate(spec: dict[str, Any]) -> None:
    node = parse_filter(spec)
    assert isinstance(node, Node)
    for view in _VIEWS:
        assert node.matches(view) in (True, False)


_garbage_keys = st.one_of(
    st.sampled_from([*_OPS, "$and", "$or", "$nor", "$not", "$options", "$", "config", "config.", "summary_metrics."]),
    st.sampled_from(_COLUMN_NAMES + _TIME_NAMES + _NUMBER_NAMES),
    json_paths,
    st.text(max_size=5),
    st.integers(),
    st.none(),
)
_garbage_leaves = st.one_of(
    scalars,
    st.binary(max_size=3),
    st.complex_numbers(),
    st.sets(st.integers(0, 3), max_size=2),
    st.just(object()),
    st.datetimes(),
    st.sampled_from(["(", "[", "*", "2024-01-01", "not a time", "\\"]),
)
garbage = st.recursive(
    _garbage_leaves,
    lambda inner: st.lists(inner, max_size=3) | st.tuples(inner) | st.dictionaries(_garbage_keys, inner, max_size=3),
    max_leaves=12,
)


@given(garbage)
@settings(max_examples=400)
def test_garbage_raises_filter_error_and_nothing_else(spec: Any) -> None:
    try:
        node = parse_filter(spec)
    except FilterError as exc:
        assert isinstance(exc, UsageError)
        assert str(exc)
        return
    for view in _VIEWS:  # what parses must evaluate without raising
        assert node.matches(view) in (True, False)


@pytest.mark.parametrize(
    ("spec", "says"),
    [
        ("state=finished", "must be a dict"),
        ({"nope": 1}, "unknown filter field 'nope'"),
        ({"config": 1}, "needs a key after 'config'"),
        ({"summary_metrics.": 1}, "needs a key"),
        ({"state": {"$bogus": 1}}, "unknown operator '$bogus'"),
        ({"$in": [1]}, "field operators go inside a field"),
        ({"$and": {}}, "$and takes a non-empty list"),
        ({"$or": []}, "$or takes a non-empty list"),
        ({"$nor": [1]}, "list of filter dicts"),
        ({"state": {"$in": "finished"}}, "$in takes a list"),
        ({"tags": {"$exists": 1}}, "$exists takes True or False"),
        ({"name": {"$regex": "("}}, "not a valid regular expression"),
        ({"name": {"$regex": 3}}, "$regex takes a pattern string"),
        ({"name": {"$regex": "a", "$options": "q"}}, "$options takes regex flags"),
        ({"name": {"$options": "i"}}, "$options goes with $regex"),
        ({"config.lr": {"$gt": [1]}}, "compares with a number or a string"),
        ({"config.lr": {"$gt": None}}, "compares with a number or a string"),
        ({"created_at": "yesterday"}, "ISO-8601"),
        ({"config.lr": {"$eq": b"x"}}, "takes a JSON value"),
        ({"config.lr": {"$eq": 1, "plain": 2}}, "mixes operators with plain keys"),
        ({"config.lr": {"$eq": {1: 2}}}, "keys are not all strings"),
        ({3: 1}, "field name must be a string"),
    ],
)
def test_bad_filters_say_what_is_wrong(spec: Any, says: str) -> None:
    with pytest.raises(FilterError) as info:
        parse_filter(spec)
    assert says in str(info.value)


def test_field_spellings() -> None:
    assert parse_filter({"displayName": "x"}) == parse_filter({"display_name": "x"})
    assert parse_filter({"jobType": "x"}) == parse_filter({"job_type": "x"})
    assert parse_filter({"createdAt": 5}) == parse_filter({"created_at": 5})
    assert parse_filter({"name": "x"}) == parse_filter({"id": "x"})
    view = {"config": {"lr": 0.1, "a": {"b": 2}, "c.d": 3, "w": {"value": 4}}, "summary": {"loss": {"min": 0.5}}}
    assert parse_filter({"config.lr": 0.1}).matches(view)
    assert parse_filter({"config.lr.value": 0.1}).matches(view)  # W&B's spelling
    assert parse_filter({"config.a.b": 2}).matches(view)
    assert parse_filter({"config.a.b.value": 2}).matches(view)
    assert parse_filter({"config.c.d": 3}).matches(view)  # a key with a dot in it
    assert parse_filter({"config.w.value": 4}).matches(view)  # a real "value" key wins
    assert parse_filter({"summary_metrics.loss.min": 0.5}).matches(view)
    assert parse_filter({"summary.loss.min": 0.5}).matches(view)
    assert not parse_filter({"config.zz": {"$exists": True}}).matches(view)


def test_orders() -> None:
    assert parse_order(None) == parse_order("-created_at")
    assert parse_order("-created_at").descending
    assert not parse_order("+config.lr").descending
    assert not parse_order("createdAt").descending
    assert parse_order("summary_metrics.acc").field.kind == "summary"
    for bad in ("tags", "-nope", "config", 3):
        with pytest.raises(FilterError):
            parse_order(bad)  # type: ignore[arg-type]


# -- evaluation over views ----------------------------------------------------------------------------------

_T0 = datetime(2024, 5, 1, 12, 0, 0, tzinfo=timezone.utc).timestamp()
_VIEWS: list[dict[str, Any]] = [
    {
        "state": "finished", "tags": ["best", "paper"], "display_name": "alpha", "run_id": "r0", "group": "g1",
        "job_type": "train", "host": "h1", "username": "ann", "notes": "first", "created_at": _T0,
        "heartbeat_at": _T0 + 60, "runtime": 60.0,
        "config": {"lr": 0.1, "opt": "adam", "layers": [1, 2], "nested": {"depth": 3}},
        "summary": {"acc": 0.9, "loss": {"min": 0.1}},
    },
    {
        "state": "crashed", "tags": [], "display_name": "beta", "run_id": "r1", "group": None, "job_type": None,
        "host": "h2", "username": "bob", "notes": None, "created_at": _T0 + 3600, "heartbeat_at": _T0 + 3700,
        "runtime": 5.5, "config": {"lr": "0.5", "flag": True}, "summary": {"acc": math.nan, "loss": None},
    },
]  # fmt: skip


def _matching(spec: Any) -> list[str]:
    node = parse_filter(spec)
    return [view["run_id"] for view in _VIEWS if node.matches(view)]


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ({}, ["r0", "r1"]),
        ({"state": "finished"}, ["r0"]),
        ({"state": {"$ne": "finished"}}, ["r1"]),
        ({"state": {"$in": ["crashed", "failed"]}}, ["r1"]),
        ({"state": {"$nin": ["crashed", "failed"]}}, ["r0"]),
        ({"tags": "paper"}, ["r0"]),
        ({"tags": {"$in": ["x", "best"]}}, ["r0"]),
        ({"tags": {"$nin": ["best"]}}, ["r1"]),
        ({"tags": ["best", "paper"]}, ["r0"]),
        ({"tags": {"$regex": "^pap"}}, ["r0"]),
        ({"display_name": {"$regex": "ET", "$options": "i"}}, ["r1"]),
        ({"displayName": {"$gt": "alpha"}}, ["r1"]),
        ({"name": "r1"}, ["r1"]),
        ({"group": None}, ["r1"]),
        ({"group": {"$exists": True}}, ["r0"]),
        ({"group": {"$ne": "g1"}}, ["r1"]),
        ({"job_type": {"$exists": False}}, ["r1"]),
        ({"jobType": "train"}, ["r0"]),
        ({"host": {"$lte": "h1"}}, ["r0"]),
        ({"username": {"$in": ["bob"]}}, ["r1"]),
        ({"notes": {"$regex": "fir"}}, ["r0"]),
        ({"created_at": {"$gt": "2024-05-01T12:30:00"}}, ["r1"]),
        ({"createdAt": {"$lt": "2024-05-01T12:30:00Z"}}, ["r0"]),
        ({"created_at": {"$gte": _T0 + 3600}}, ["r1"]),
        ({"created_at": datetime(2024, 5, 1, 12, tzinfo=timezone.utc)}, ["r0"]),
        ({"created_at": {"$gt": "2024-05-01T14:00:00+02:00"}}, ["r1"]),
        ({"heartbeat_at": {"$lt": _T0 + 100}}, ["r0"]),
        ({"runtime": {"$gt": 10}}, ["r0"]),
        ({"duration": {"$lte": 5.5}}, ["r1"]),
        ({"config.lr": {"$lt": 1}}, ["r0"]),  # the string "0.5" is not a number
        ({"config.lr": {"$gt": "0"}}, ["r1"]),  # ...but compares with strings
        ({"config.lr.value": 0.1}, ["r0"]),
        ({"config.lr": {"$in": [0.1, "0.5"]}}, ["r0", "r1"]),
        ({"config.layers": 2}, ["r0"]),  # a list matches when an element does
        ({"config.layers": [1, 2]}, ["r0"]),
        ({"config.nested.depth": {"$gte": 3}}, ["r0"]),
        ({"config.flag": True}, ["r1"]),
        ({"config.flag": 1}, []),  # booleans are not numbers
        ({"config.opt": {"$exists": False}}, ["r1"]),
        ({"config.missing": None}, ["r0", "r1"]),  # a missing key equals None
        ({"config.missing": {"$ne": 3}}, ["r0", "r1"]),
        ({"summary_metrics.acc": {"$gte": 0.5}}, ["r0"]),
        ({"summary_metrics.acc": math.nan}, ["r1"]),  # NaN finds NaN
        ({"summary_metrics.acc": {"$lt": 2}}, ["r0"]),  # NaN fails every comparison
        ({"summary_metrics.loss.min": {"$lt": 0.2}}, ["r0"]),
        ({"summary_metrics.loss": None}, ["r1"]),
        ({"summary_metrics.loss": {"$exists": True}}, ["r0", "r1"]),
        ({"$or": [{"name": "r0"}, {"state": "crashed"}]}, ["r0", "r1"]),
        ({"$nor": [{"name": "r0"}]}, ["r1"]),
        ({"$and": [{"state": "finished"}, {"tags": "best"}]}, ["r0"]),
        ({"state": "finished", "tags": "nope"}, []),  # several keys: all must hold
        ({"config.lr": {"$gte": 0.05, "$lt": 0.2}}, ["r0"]),
    ],
)
def test_operator_semantics(spec: Any, expected: list[str]) -> None:
    assert _matching(spec) == expected


def test_missing_is_not_none_for_exists() -> None:
    view = {"config": {"x": None}}
    assert parse_filter({"config.x": {"$exists": True}}).matches(view)
    assert parse_filter({"config.x": None}).matches(view)
    assert parse_filter({"config.y": {"$exists": False}}).matches(view)
    assert not parse_filter({"group": {"$exists": True}}).matches(view)
    assert parse_filter({"group": None}).matches(view)


# -- the store: SQL and Python agree ------------------------------------------------------------------------

_RUN_SPECS: list[dict[str, Any]] = [
    {"name": "alpha", "tags": ["best", "paper"], "group": "g1", "job_type": "train", "notes": "first",
     "host": "h1", "username": "ann", "config": {"lr": 0.1, "opt": "adam", "layers": [1, 2]},
     "summary": {"acc": 0.9}, "end": "finished"},
    {"name": "beta", "tags": ["paper"], "group": "g1", "job_type": "eval", "notes": None, "host": "h2",
     "username": "bob", "config": {"lr": 0.01, "opt": "sgd", "nested": {"depth": 3}}, "summary": {"acc": 0.5},
     "end": "failed"},
    {"name": "gamma", "tags": [], "group": None, "job_type": None, "notes": "", "host": "h1", "username": "ann",
     "config": {"lr": "0.5"}, "summary": {"acc": math.nan, "loss": {"min": 0.2}}, "end": "killed"},
    {"name": "Delta", "tags": ["x"], "group": "g2", "job_type": "train", "notes": "Δ notes", "host": "h3",
     "username": "cy", "config": {}, "summary": {}, "end": None},
    {"name": "epsilon", "tags": ["best"], "group": "g2", "job_type": "eval", "notes": None, "host": "h1",
     "username": "ann", "config": {"lr": 0.001, "opt": "adam", "flag": True}, "summary": {"acc": 0.95},
     "end": "crashed"},
    {"name": "zeta", "tags": ["paper", "x"], "group": None, "job_type": "train", "notes": "z", "host": "h2",
     "username": "bob", "config": {"lr": 0.1, "opt": "adamw"}, "summary": {"acc": 0.7, "loss": {"min": 0.1}},
     "end": "finished"},
]  # fmt: skip


def _seed(store: Store) -> None:
    for i, spec in enumerate(_RUN_SPECS):
        spec = dict(spec)
        end, summary = spec.pop("end"), spec.pop("summary")
        session = FakeSession(f"r{i}", created_at=_T0 + 100 * i, **spec)
        for step in range(i + 1):
            session.log({"v": step})
        session.add("summary", {"set": summary, "delete": []})
        if end in ("finished", "failed", "killed"):
            session.exit(exit_code=0 if end == "finished" else 1, state=end)
        store.ingest(session.records)
        if end == "crashed":
            store.mark_crashed(session.session)


def _brute(store: Store, spec: Any) -> list[RunRecord]:
    node = parse_filter(spec)
    return [run for run in store.list_runs("alice", "proj") if node.matches(record_view(run))]


orders = st.builds(
    lambda sign, name: sign + name,
    st.sampled_from(["", "+", "-"]),
    st.sampled_from(
        ["created_at", "heartbeat_at", "runtime", "display_name", "name", "state", "group", "job_type", "host",
         "username", "notes", "config.lr", "config.opt", "config.nested.depth", "summary_metrics.acc",
         "summary_metrics.loss.min", "config.none"]
    ),
)  # fmt: skip


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(spec=valid_filters, order=orders, limit=st.none() | st.integers(0, 7), offset=st.integers(0, 7))
def test_store_agrees_with_python_for_any_filter_and_order(
    seeded_store: Store, spec: dict[str, Any], order: str, limit: int | None, offset: int
) -> None:
    matching = _brute(seeded_store, spec)
    # Run ids r0.. were ingested in order, so their number is their row id: the tie-break.
    expected = [
        view["run_id"]
        for _, view in sort_views([(int(r.run_id[1:]), record_view(r)) for r in matching], parse_order(order))
    ]
    found = seeded_store.query_runs("alice", "proj", filters=spec, order=order, limit=limit, offset=offset)
    assert _ids(found) == expected[offset : None if limit is None else offset + limit]
    assert seeded_store.count_runs("alice", "proj", filters=spec) == len(expected)
    assert seeded_store.query_run_ids("alice", "proj", filters=spec, order=order) == expected


@pytest.fixture
def seeded_store(store: Store) -> Store:
    _seed(store)
    return store


def _ids(runs: list[RunRecord]) -> list[str]:
    return [run.run_id for run in runs]


_QUERY_CASES: list[tuple[Any, list[str]]] = [
    ({"state": "crashed"}, ["r4"]),
    ({"state": "running"}, ["r3"]),
    ({"state": {"$nin": ["finished", "running"]}}, ["r4", "r2", "r1"]),
    ({"tags": {"$in": ["best", "x"]}}, ["r5", "r4", "r3", "r0"]),
    ({"tags": {"$nin": ["paper"]}}, ["r4", "r3", "r2"]),
    ({"display_name": {"$gt": "a"}}, ["r5", "r4", "r2", "r1", "r0"]),  # "Delta" < "a" by code point
    ({"name": {"$in": ["r1", "r2"]}}, ["r2", "r1"]),
    ({"group": None}, ["r5", "r2"]),
    ({"group": {"$ne": "g1"}}, ["r5", "r4", "r3", "r2"]),
    ({"job_type": {"$exists": False}}, ["r2"]),
    ({"notes": None}, ["r4", "r1"]),
    ({"notes": ""}, ["r2"]),
    ({"notes": {"$regex": "^Δ"}}, ["r3"]),
    ({"host": "h1", "username": "ann"}, ["r4", "r2", "r0"]),
    ({"created_at": {"$gte": datetime.fromtimestamp(_T0 + 300, timezone.utc).isoformat()}}, ["r5", "r4", "r3"]),
    ({"config.lr": {"$lte": 0.01}}, ["r4", "r1"]),
    ({"config.opt": {"$regex": "^adam"}}, ["r5", "r4", "r0"]),
    ({"config.nested.depth": 3}, ["r1"]),
    ({"summary_metrics.acc": {"$gt": 0.6}}, ["r5", "r4", "r0"]),
    ({"summary_metrics.loss.min": {"$lt": 0.15}}, ["r5"]),
    ({"$or": [{"state": "running"}, {"summary_metrics.acc": math.nan}]}, ["r3", "r2"]),
    ({"$nor": [{"group": "g1"}, {"tags": "x"}]}, ["r4", "r2"]),
]


def test_query_runs_filters(seeded_store: Store) -> None:
    for spec, expected in _QUERY_CASES:
        assert _ids(seeded_store.query_runs("alice", "proj", filters=spec)) == expected, spec
        assert seeded_store.count_runs("alice", "proj", filters=spec) == len(expected), spec
        assert seeded_store.query_run_ids("alice", "proj", filters=spec) == expected, spec


_ORDER_CASES: list[tuple[str, list[str]]] = [
    ("-created_at", ["r5", "r4", "r3", "r2", "r1", "r0"]),
    ("created_at", ["r0", "r1", "r2", "r3", "r4", "r5"]),
    ("+createdAt", ["r0", "r1", "r2", "r3", "r4", "r5"]),
    ("display_name", ["r3", "r0", "r1", "r4", "r2", "r5"]),
    ("-displayName", ["r5", "r2", "r4", "r1", "r0", "r3"]),
    ("-name", ["r5", "r4", "r3", "r2", "r1", "r0"]),
    ("group", ["r0", "r1", "r3", "r4", "r2", "r5"]),  # missing last
    ("-group", ["r4", "r3", "r1", "r0", "r5", "r2"]),  # missing last either way
    ("config.lr", ["r4", "r1", "r0", "r5", "r2", "r3"]),  # numbers, then the string, then missing
    ("-config.lr.value", ["r2", "r5", "r0", "r1", "r4", "r3"]),
    ("summary_metrics.acc", ["r1", "r5", "r0", "r4", "r2", "r3"]),  # NaN counts as missing
    ("-summary_metrics.acc", ["r4", "r0", "r5", "r1", "r3", "r2"]),
    ("state", ["r4", "r1", "r0", "r5", "r2", "r3"]),
]


def test_query_runs_order(seeded_store: Store) -> None:
    for order, expected in _ORDER_CASES:
        assert _ids(seeded_store.query_runs("alice", "proj", order=order)) == expected, order
        assert seeded_store.query_run_ids("alice", "proj", order=order) == expected, order


def test_runtime_and_heartbeat_orders(seeded_store: Store) -> None:
    runs = seeded_store.query_runs("alice", "proj", order="duration")
    assert [r.runtime for r in runs] == sorted(r.runtime for r in runs)
    runs = seeded_store.query_runs("alice", "proj", order="-heartbeat_at")
    assert [r.heartbeat_at for r in runs] == sorted((r.heartbeat_at for r in runs), reverse=True)


def test_limit_offset_and_paging(seeded_store: Store) -> None:
    everything = _ids(seeded_store.query_runs("alice", "proj", order="config.lr"))
    for filters in (None, {"tags": {"$nin": ["nope"]}}):  # SQL-only, and with a Python-evaluated filter
        for order in ("config.lr", "-created_at"):
            full = _ids(seeded_store.query_runs("alice", "proj", filters=filters, order=order))
            pages = [
                _ids(seeded_store.query_runs("alice", "proj", filters=filters, order=order, limit=4, offset=o))
                for o in (0, 4, 8)
            ]
            assert pages[0] + pages[1] + pages[2] == full
            assert pages[2] == []
    assert _ids(seeded_store.query_runs("alice", "proj", order="config.lr", limit=0)) == []
    assert everything[2:3] == _ids(seeded_store.query_runs("alice", "proj", order="config.lr", limit=1, offset=2))
    with pytest.raises(UsageError):
        seeded_store.query_runs("alice", "proj", limit=-1)
    with pytest.raises(UsageError):
        seeded_store.query_runs("alice", "proj", offset=-1)


def test_unknown_project_and_get_runs(seeded_store: Store) -> None:
    assert seeded_store.query_runs("alice", "nope") == []
    assert seeded_store.count_runs("bob", "proj") == 0
    assert seeded_store.query_run_ids("alice", "nope") == []
    assert _ids(seeded_store.get_runs("alice", "proj", ["r3", "nope", "r1"])) == ["r3", "r1"]
    assert seeded_store.get_runs("alice", "nope", ["r1"]) == []


def test_bad_filter_raises_before_touching_the_store(seeded_store: Store) -> None:
    with pytest.raises(FilterError, match=r"\$bogus"):
        seeded_store.query_runs("alice", "proj", filters={"state": {"$bogus": 1}})
    with pytest.raises(FilterError, match="cannot order by"):
        seeded_store.query_runs("alice", "proj", order="-tags")


def test_stale_running_run_filters_as_crashed(store_url: str) -> None:
    store = Store.open(store_url, crash_timeout=0.2)
    try:
        live, done = FakeSession("live"), FakeSession("done")
        done.exit()
        store.ingest(live.records)
        store.ingest(done.records)
        assert _ids(store.query_runs("alice", "proj", filters={"state": "running"})) == ["live"]
        time.sleep(0.4)
        assert _ids(store.query_runs("alice", "proj", filters={"state": "running"})) == []
        assert _ids(store.query_runs("alice", "proj", filters={"state": "crashed"})) == ["live"]
        assert _ids(store.query_runs("alice", "proj", filters={"state": {"$ne": "crashed"}})) == ["done"]
        assert store.count_runs("alice", "proj", filters={"state": {"$regex": "^cr"}}) == 1
        assert _ids(store.query_runs("alice", "proj", order="state")) == ["live", "done"]
    finally:
        store.close()


def test_prebuilt_node_and_order_are_accepted(seeded_store: Store) -> None:
    node, order = parse_filter({"tags": "best"}), parse_order("name")
    assert isinstance(order, Order)
    assert _ids(seeded_store.query_runs("alice", "proj", filters=node, order=order)) == ["r0", "r4"]
