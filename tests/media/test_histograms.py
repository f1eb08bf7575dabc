"""Histograms, and raw arrays of more than 32 numbers logged as histograms, as in W&B."""

from __future__ import annotations

import pytest

import runyard

np = pytest.importorskip("numpy")


def test_histograms_round_trip_inline(api) -> None:
    values = np.random.default_rng(0).normal(size=1000)
    counts, edges = np.histogram(values, bins=10)
    with runyard.init(project="media") as run:
        run.log(
            {
                "default": runyard.Histogram(values),
                "bins8": runyard.Histogram(values.tolist(), num_bins=8),
                "given": runyard.Histogram(np_histogram=(counts, edges)),
                "max": runyard.Histogram(values, num_bins=512),
            }
        )
    r = api.run(f"media/{run.id}")
    (row,) = r.scan_history()
    assert row["default"]["_type"] == "histogram"
    assert len(row["default"]["values"]) == 64 and len(row["default"]["bins"]) == 65
    assert sum(row["default"]["values"]) == 1000
    assert len(row["bins8"]["values"]) == 8
    assert row["given"] == {"_type": "histogram", "values": counts.tolist(), "bins": edges.tolist()}
    assert len(row["max"]["values"]) == 512
    assert r.summary["given"] == row["given"]
    assert not any("." in k for k in row)


def test_raw_arrays_and_lists_of_more_than_32_numbers_become_histograms(api) -> None:
    big = np.arange(100, dtype=np.float32)
    with runyard.init(project="media") as run:
        run.log(
            {
                "array": big,
                "matrix": np.ones((8, 8)),
                "list": list(range(40)),
                "small_array": np.arange(32),
                "small_list": [1.5] * 32,
                "words": ["a"] * 40,
            }
        )
    r = api.run(f"media/{run.id}")
    (row,) = r.scan_history()
    assert row["array"]["_type"] == "histogram" and len(row["array"]["values"]) == 32
    assert sum(row["array"]["values"]) == 100
    assert row["array"]["bins"][0] == 0.0 and row["array"]["bins"][-1] == 99.0
    assert row["matrix"]["_type"] == "histogram" and sum(row["matrix"]["values"]) == 64
    assert row["list"]["_type"] == "histogram" and sum(row["list"]["values"]) == 40
    assert row["small_array"] == list(range(32))
    assert row["small_list"] == [1.5] * 32
    assert row["words"] == ["a"] * 40


def test_histogram_input_errors() -> None:
    with pytest.raises(ValueError, match="at most 512"):
        runyard.Histogram([1, 2, 3], num_bins=513)
    with pytest.raises(ValueError, match="len\\(bins\\)"):
        runyard.Histogram(np_histogram=([1, 2], [0, 1]))
    with pytest.raises(ValueError, match="needs a sequence"):
        runyard.Histogram()
    with pytest.raises(TypeError, match="must be numbers"):
        runyard.Histogram(["a", "b"])
