from __future__ import annotations

import math
import statistics
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from runyard.records import MetricBody
from runyard.summary_fold import SummaryFolder


def metric(name: str, summary: list[str] | None = None, goal: str | None = None) -> MetricBody:
    return {
        "name": name,
        "step_metric": None,
        "step_sync": None,
        "hidden": None,
        "summary": summary,
        "goal": goal,
    }


def fold(rows: list[dict[str, Any]], *metrics: MetricBody) -> dict[str, Any]:
    folder = SummaryFolder()
    for m in metrics:
        folder.define(m)
    for row in rows:
        folder.fold_row(row)
    return folder.summary


def test_default_keeps_the_last_value_of_every_key() -> None:
    rows = [
        {"loss": 3.0, "_step": 0, "_runtime": 0.1, "_timestamp": 100.0},
        {"loss": 2.0, "acc": 0.5, "_step": 1, "_runtime": 0.2, "_timestamp": 101.0},
    ]
    assert fold(rows) == {"loss": 2.0, "acc": 0.5, "_step": 1, "_runtime": 0.2, "_timestamp": 101.0}


def test_nested_dicts_merge_leaf_by_leaf() -> None:
    assert fold([{"this": {"that": 3}}, {"this": {"other": 1}}]) == {"this": {"that": 3, "other": 1}}
    assert fold([{"this": {"that": 3}}, {"this": {"that": 4}}]) == {"this": {"that": 4}}


@pytest.mark.parametrize(
    ("kinds", "expected"),
    [
        (["min"], {"min": 1}),
        (["max"], {"max": 5}),
        (["mean"], {"mean": 3.0}),
        (["first"], {"first": 3}),
        (["last"], {"last": 5}),
        (["min", "max"], {"min": 1, "max": 5}),
        (["min", "max", "mean", "first", "last"], {"min": 1, "max": 5, "mean": 3.0, "first": 3, "last": 5}),
    ],
)
def test_aggregates(kinds: list[str], expected: dict[str, Any]) -> None:
    rows = [{"loss": 3}, {"loss": 1}, {"loss": 5}]
    assert fold(rows, metric("loss", kinds)) == {"loss": expected}


def test_nested_key_with_min() -> None:
    rows = [{"this": {"that": 3}}, {"this": {"that": 2}}, {"this": {"that": 4}}]
    assert fold(rows, metric("this.that", ["min"])) == {"this": {"that": {"min": 2}}}


def test_copy_and_no_summary_keep_the_last_value() -> None:
    rows = [{"a": 1, "b": 1}, {"a": 2, "b": 2}]
    assert fold(rows, metric("a", ["copy"]), metric("b")) == {"a": 2, "b": 2}


def test_none_drops_the_key() -> None:
    assert fold([{"a": 1, "b": 2}], metric("a", ["none"])) == {"b": 2}
    assert fold([{"x": {"y": 1, "z": 2}}], metric("x.y", ["none"])) == {"x": {"z": 2}}


def test_aggregates_skip_strings_and_bools_but_last_keeps_them() -> None:
    rows = [{"v": 4}, {"v": "oops"}, {"v": True}, {"v": 2}, {"v": "end"}]
    assert fold(rows, metric("v", ["min", "max", "mean", "first", "last"])) == {
        "v": {"min": 2, "max": 4, "mean": 3.0, "first": 4, "last": "end"}
    }


def test_only_non_numbers_give_no_aggregate() -> None:
    assert fold([{"v": "a"}], metric("v", ["min"])) == {}


def test_nan_propagates() -> None:
    nan = float("nan")
    out = fold([{"v": nan}, {"v": 4.0}], metric("v", ["min", "max", "mean"]))["v"]
    assert all(math.isnan(out[k]) for k in ("min", "max", "mean"))
    out = fold([{"v": 4.0}, {"v": nan}, {"v": 1.0}], metric("v", ["min", "max", "mean"]))["v"]
    assert all(math.isnan(out[k]) for k in ("min", "max", "mean"))


def test_globs() -> None:
    rows = [
        {"train/loss": 2, "val/loss": 2, "other": 2, "_step": 0},
        {"train/loss": 1, "val/loss": 3, "other": 3, "_step": 1},
    ]
    assert fold(rows, metric("train/*", ["min"])) == {
        "train/loss": {"min": 1},
        "val/loss": 3,
        "other": 3,
        "_step": 1,
    }
    assert fold(rows, metric("*", ["max"])) == {
        "train/loss": {"max": 2},
        "val/loss": {"max": 3},
        "other": {"max": 3},
        "_step": 1,  # globs never match keys starting with "_"
    }


def test_exact_beats_glob_and_longest_glob_wins() -> None:
    rows = [{"train/a/x": 2, "train/b": 2, "train/a/y": 2}, {"train/a/x": 1, "train/b": 3, "train/a/y": 5}]
    out = fold(rows, metric("*", ["max"]), metric("train/a/*", ["min"]), metric("train/a/y", ["last"]))
    assert out == {"train/a/x": {"min": 1}, "train/b": {"max": 3}, "train/a/y": {"last": 5}}
    # Order of definition does not matter.
    out = fold(rows, metric("train/a/y", ["last"]), metric("train/a/*", ["min"]), metric("*", ["max"]))
    assert out == {"train/a/x": {"min": 1}, "train/b": {"max": 3}, "train/a/y": {"last": 5}}


def test_exact_definition_without_summary_shields_from_a_glob() -> None:
    assert fold([{"a": 1}, {"a": 2}], metric("*", ["min"]), metric("a")) == {"a": 2}


def test_define_replaces_by_name_and_invalidates_the_cache() -> None:
    folder = SummaryFolder()
    folder.define(metric("v", ["min"]))
    folder.fold_row({"v": 3})
    folder.define(metric("v", ["max"]))
    folder.fold_row({"v": 5})
    assert folder.summary == {"v": {"max": 5}}
    assert [m["summary"] for m in folder.metrics] == [["max"]]


def test_define_after_values_applies_from_the_next_row() -> None:
    folder = SummaryFolder()
    folder.fold_row({"v": 3})
    assert folder.summary == {"v": 3}
    folder.define(metric("v", ["max"]))
    folder.fold_row({"v": 2})
    assert folder.summary == {"v": {"max": 2}}


def test_explicit_set_overrides_until_logged_again() -> None:
    folder = SummaryFolder()
    folder.fold_row({"acc": 0.5, "loss": 1.0})
    folder.set({"acc": 0.99, "best": {"epoch": 3}})
    assert folder.summary == {"acc": 0.99, "loss": 1.0, "best": {"epoch": 3}}
    folder.fold_row({"acc": 0.6})
    assert folder.summary["acc"] == 0.6
    folder.delete(["best", "missing"])
    assert "best" not in folder.summary


def test_state_carries_aggregates_across_folders() -> None:
    first = SummaryFolder()
    first.define(metric("v", ["mean", "first"]))
    first.fold_row({"v": 1.0})
    first.fold_row({"v": 2.0})
    resumed = SummaryFolder(first.summary, first.state, first.metrics)
    resumed.fold_row({"v": 6.0})
    assert resumed.summary == {"v": {"mean": 3.0, "first": 1.0}}


finite = st.floats(allow_nan=False, allow_infinity=False, min_value=-1e300, max_value=1e300)
maybe_nan = st.one_of(finite, st.just(float("nan")))


def _same(a: float, b: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or a == b


@given(st.lists(maybe_nan, min_size=1, max_size=50))
def test_min_max_mean_match_python(values: list[float]) -> None:
    out = fold([{"v": v} for v in values], metric("v", ["min", "max", "mean"]))["v"]
    if any(math.isnan(v) for v in values):
        assert math.isnan(out["min"]) and math.isnan(out["max"]) and math.isnan(out["mean"])
        return
    assert out["min"] == min(values)
    assert out["max"] == max(values)
    expected = statistics.fmean(values)
    assert math.isclose(out["mean"], expected, rel_tol=1e-9, abs_tol=1e-300 * len(values))


@given(st.lists(st.integers(min_value=-(10**6), max_value=10**6), min_size=1, max_size=50))
def test_mean_of_ints_is_exact_for_small_lists(values: list[int]) -> None:
    out = fold([{"v": v} for v in values], metric("v", ["mean"]))["v"]
    assert out["mean"] == statistics.fmean(values)


def test_flat_row_fast_path_keeps_the_last_values() -> None:
    # What the fast path costs is measured by bench/log_overhead.py (log() per call), not asserted here: a timed
    # assertion fails on a loaded machine.
    folder = SummaryFolder()
    row = {f"metric_{i}": float(i) for i in range(10)} | {"_step": 1, "_runtime": 1.0, "_timestamp": 2.0}
    folder.define(metric("epoch"))  # a definition without summary keeps the fast path
    for step in range(3):
        folder.fold_row({**row, "_step": step})
    assert folder.summary == {**row, "_step": 2}
