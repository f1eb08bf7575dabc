"""The media room of the store: media keys recorded on ingest, histograms over time re-binned and bucketed with
every histogram counted (and their block cache reused across store handles), tables indexed once."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest

from media_records import ENTITY, media_run
from runyard.records import KIND_ROW
from runyard.store import Store
from runyard.store.media.histograms import histogram_matrix
from runyard.store.media.reads import MediaStore


def _hist(values: list[float], lo: float, hi: float) -> dict[str, object]:
    n = len(values)
    return {"_type": "histogram", "values": values, "bins": [lo + (hi - lo) * i / n for i in range(n + 1)]}


def test_histograms_with_different_edges_land_on_one_grid_keeping_their_counts() -> None:
    a = _hist([10, 0, 0, 0], 0.0, 4.0)  # all in [0, 1)
    b = _hist([0, 0, 6, 2], 2.0, 6.0)  # 6 in [4, 5), 2 in [5, 6)
    m = histogram_matrix([0, 1], [a, b], buckets=10)
    assert m.edges[0] == 0.0 and m.edges[-1] == 6.0 and len(m.edges) == 5  # 4 bins over [0, 6]
    rows = m.values.reshape(2, 4)
    assert rows.sum(axis=1).tolist() == pytest.approx([10, 8])
    # a: 10 in [0, 1) -> all in the first grid bin [0, 1.5); b: [4, 6) -> bins [3, 4.5) and [4.5, 6)
    assert rows[0].tolist() == pytest.approx([10, 0, 0, 0])
    assert rows[1].tolist() == pytest.approx([0, 0, 3, 5])
    one = histogram_matrix([0, 1], [a, b], buckets=1)
    assert one.counts == [2] and one.values.reshape(1, 4)[0].tolist() == pytest.approx([5, 0, 1.5, 2.5])


def test_values_that_are_not_histograms_are_skipped() -> None:
    good = _hist([1, 2], 0.0, 2.0)
    bad = [{"_type": "histogram", "values": [1], "bins": [0]}, {"_type": "image-file"}, 3.5, None]
    m = histogram_matrix([0, 1, 2, 3, 4], [good, *bad], buckets=100)
    assert m.steps == [0] and m.values.ravel().tolist() == pytest.approx([1, 2])
    assert histogram_matrix([], [], buckets=5).steps == []


def test_media_keys_are_recorded_once_per_run_and_key(store: Store) -> None:
    store.ingest(media_run("p", "a", steps=3))
    store.ingest(media_run("p", "b", steps=2, seed=1))
    keys = store.media.keys(ENTITY, "p")
    assert keys["img"] == "image-file" and keys["weights"] == "histogram" and "loss" not in keys
    assert store.media.keys(ENTITY, "p", ["a"]) == keys
    assert store.media.keys(ENTITY, "other") == {}
    store.delete_run(ENTITY, "p", "a")
    assert store.media.keys(ENTITY, "p", ["a"]) == {}


def test_a_long_histogram_series_is_bucketed_across_blocks_and_cached_on_disk(store: Store, tmp_path: Path) -> None:
    start = media_run("h", "long", steps=0)[0]
    rows = [[i + 2, KIND_ROW, {"_step": i, "w": _hist([float(i % 7), 1.0, 2.0], 0.0, 3.0)}] for i in range(9000)]
    store.ingest([start, *rows])
    m = store.media.histogram(ENTITY, "h", "long", "w", buckets=90)
    assert len(m.steps) == 90 and m.counts == [100] * 90  # 9,000 steps over three blocks
    expected = np.array([[np.mean([(i % 7) for i in range(k * 100, (k + 1) * 100)]), 1, 2] for k in range(90)])
    assert np.allclose(m.values, expected)
    # another handle on the same store over the same cache folder reads the blocks' arrays back from disk
    folder = tmp_path / "cache"
    first = MediaStore(store.engine, store.file_content, folder)
    first.histogram(ENTITY, "h", "long", "w", buckets=90)
    cached = list((folder / "histograms").rglob("*.npz"))
    assert len(cached) == 3
    again = MediaStore(store.engine, store.file_content, folder).histogram(ENTITY, "h", "long", "w", buckets=9)
    assert again.counts == [1000] * 9
    assert list((folder / "histograms").rglob("*.npz")) == cached
    ranged = store.media.histogram(ENTITY, "h", "long", "w", buckets=1000, min_step=4095, max_step=4097)
    assert ranged.steps == [4095, 4096, 4097]


def test_tables_are_indexed_once_by_content(store: Store, tmp_path: Path) -> None:
    store.ingest(media_run("t", "a", steps=1, table_rows=40))
    store.ingest(media_run("t", "b", steps=1, table_rows=40))  # the same table file content
    path = "media/table/samples_0.table.json"
    first = store.media.table_page(ENTITY, "t", "a", path, limit=3, sort="score")
    second = store.media.table_page(ENTITY, "t", "b", path, limit=3, sort="score")
    assert first.rows == second.rows and first.total == 40
    content = store.file_content(ENTITY, "t", "a", path)
    assert content is not None
    index = store.media.tables.folder / f"{hashlib.sha256(content).hexdigest()}.sqlite"
    assert index.exists()
    built = index.stat().st_mtime_ns
    store.media.table_page(ENTITY, "t", "b", path, limit=3, sort="label")  # a new sort adds an index, in place
    assert index.stat().st_mtime_ns >= built and len(list(index.parent.glob(f"{index.stem}*"))) == 1
