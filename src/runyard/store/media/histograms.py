"""Histograms over time: one key's ``histogram`` references as a step x bin matrix, bucketed along ``_step``.

Every histogram in the range counts (full fidelity, like the line charts' buckets): the step range is cut into
at most ``buckets`` equal-width step buckets, as :mod:`runyard.store.sampling` cuts it; each histogram is
re-binned onto one common grid of bins spanning every histogram's edges (counts spread linearly inside a bin,
as a histogram's own bins assume), and a bucket holds the mean of its histograms. Re-binning is vectorised:
all histograms with the same number of bins are interpolated in one ``np.interp`` call.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from runyard.store.blocks import decode_block

__all__ = ["BlockArrays", "HistogramBlockCache", "HistogramMatrix", "histogram_matrix", "matrix_of_blocks"]

MAX_BINS = 512
"""Bins of the common grid at most (W&B's own limit for one histogram)."""


@dataclass(frozen=True)
class HistogramMatrix:
    """Histograms of one key bucketed along ``_step``.

    ``steps[i]`` is the first step of row ``i`` (``steps_last[i]`` its last, ``counts[i]`` how many histograms
    it averages); ``edges`` the common bins' ``bins + 1`` edges; ``values`` the rows x bins mean counts.
    """

    steps: list[int]
    steps_last: list[int]
    counts: list[int]
    edges: list[float]
    values: npt.NDArray[np.float64]

    def to_json(self) -> dict[str, Any]:
        return {
            "steps": self.steps,
            "steps_last": self.steps_last,
            "counts": self.counts,
            "edges": self.edges,
            "values": np.round(self.values, 6).ravel().tolist(),
            "bins": len(self.edges) - 1,
            "max": float(self.values.max()) if self.values.size else 0.0,
        }


def _histogram(value: Any) -> tuple[Sequence[float], Sequence[float]] | None:
    if type(value) is not dict or value.get("_type") != "histogram":
        return None
    counts, bins = value.get("values"), value.get("bins")
    if not isinstance(counts, (list, tuple)) or not isinstance(bins, (list, tuple)):
        return None
    if len(bins) != len(counts) + 1 or not counts:
        return None
    return counts, bins


def histogram_matrix(steps: Sequence[int], values: Sequence[Any], buckets: int) -> HistogramMatrix:
    """Bucket the ``histogram`` references among ``values`` (at ``steps``, increasing) into at most ``buckets`` rows."""
    kept_steps: list[int] = []
    by_size: dict[int, tuple[list[int], list[Sequence[float]], list[Sequence[float]]]] = {}
    for step, value in zip(steps, values, strict=True):
        found = _histogram(value)
        if found is None:
            continue
        counts, bins = found
        group = by_size.setdefault(len(counts), ([], [], []))
        group[0].append(len(kept_steps))
        group[1].append(counts)
        group[2].append(bins)
        kept_steps.append(step)
    if not kept_steps:
        return _EMPTY
    step_arr = np.asarray(kept_steps, dtype=np.int64)
    arrays = []
    for size, (order, group_counts, group_bins) in by_size.items():
        idx = np.asarray(order)
        arrays.append(
            (
                step_arr[idx],
                np.asarray(group_counts, dtype=np.float64).reshape(len(order), size),
                np.asarray(group_bins, dtype=np.float64).reshape(len(order), size + 1),
            )
        )
    return _matrix(arrays, buckets)


_EMPTY = HistogramMatrix([], [], [], [], np.zeros((0, 0)))


def _matrix(arrays: Sequence[tuple[Any, Any, Any]], buckets: int) -> HistogramMatrix:
    """Bucket groups of ``(steps, counts, edges)`` arrays, the steps of each group increasing."""
    kept = []
    lo_edge, hi_edge, n_bins = np.inf, -np.inf, 0
    lo_step, hi_step = None, None
    for steps, c, e in arrays:
        c = np.asarray(c, dtype=np.float64)
        e = np.asarray(e, dtype=np.float64)
        finite = np.isfinite(e).all(axis=1) & np.isfinite(c).all(axis=1) & (np.diff(e, axis=1) >= 0).all(axis=1)
        steps, c, e = steps[finite], c[finite], e[finite]
        if not len(steps):
            continue
        lo_edge = min(lo_edge, float(e[:, 0].min()))
        hi_edge = max(hi_edge, float(e[:, -1].max()))
        n_bins = max(n_bins, c.shape[1])
        lo_step = int(steps.min()) if lo_step is None else min(lo_step, int(steps.min()))
        hi_step = int(steps.max()) if hi_step is None else max(hi_step, int(steps.max()))
        kept.append((steps, c, e))
    if n_bins == 0 or lo_step is None or hi_step is None:
        return _EMPTY
    n_bins = min(n_bins, MAX_BINS)
    if hi_edge <= lo_edge:
        hi_edge = lo_edge + 1.0
    grid = np.linspace(lo_edge, hi_edge, n_bins + 1)
    width = hi_step - lo_step + 1
    n_rows = max(1, min(buckets, width))
    sums = np.zeros((n_rows, n_bins))
    seen = np.zeros(n_rows, dtype=np.int64)
    first = np.full(n_rows, np.iinfo(np.int64).max, dtype=np.int64)
    last = np.full(n_rows, np.iinfo(np.int64).min, dtype=np.int64)
    for steps, c, e in kept:
        rebinned = _rebin(c, e, grid)
        rows = ((steps - lo_step) * n_rows) // width
        # steps increase, so each row's histograms are one run: summed by reduceat, not the slow ufunc.at
        uniq, starts = np.unique(rows, return_index=True)
        ends = np.append(starts[1:], len(rows))
        sums[uniq] += np.add.reduceat(rebinned, starts, axis=0)
        seen[uniq] += ends - starts
        first[uniq] = np.minimum(first[uniq], steps[starts])
        last[uniq] = np.maximum(last[uniq], steps[ends - 1])
    used = seen > 0
    means = sums[used] / seen[used][:, None]
    return HistogramMatrix(
        steps=first[used].tolist(),
        steps_last=last[used].tolist(),
        counts=seen[used].tolist(),
        edges=grid.tolist(),
        values=means,
    )


def _rebin(counts: npt.NDArray[np.float64], edges: npt.NDArray[np.float64], grid: npt.NDArray[np.float64]) -> Any:
    """Each row's counts spread onto ``grid``'s bins, in one interpolation of the rows' cumulative counts.

    Row ``i`` is moved to x offset ``2 * i * span`` (its edges scaled into ``[0, span]``), so that one
    increasing ``xp`` holds every row and no row's interpolation reaches into its neighbour's; grid edges are
    clipped to the row's own edge range first (below it: nothing yet; above: everything).
    """
    n, b = counts.shape
    cum = np.zeros((n, b + 1))
    np.cumsum(counts, axis=1, out=cum[:, 1:])
    span = float(grid[-1] - grid[0]) or 1.0
    offsets = (np.arange(n, dtype=np.float64) * 2.0 * span)[:, None]
    xp = (edges - grid[0]) + offsets
    targets = np.clip(grid[None, :], edges[:, :1], edges[:, -1:]) - grid[0] + offsets
    at = np.interp(targets.ravel(), xp.ravel(), cum.ravel()).reshape(n, len(grid))
    return np.diff(at, axis=1)


# -- a series' blocks as arrays, cached ----------------------------------------------------------------------
#
# Decoding a block of 4,096 histograms builds half a million Python objects (~70 ms); 100,000 steps would cost
# seconds on every view. A block's histograms are therefore kept as arrays (steps, counts, edges; float32),
# keyed by a digest of the block's bytes: a block that changes is a new key, so the cache never goes stale,
# and it is kept in memory (LRU) and on disk beside the table indexes, so a restarted server reads it back.


@dataclass(frozen=True)
class BlockArrays:
    """The histograms of one block with ``bins`` bins each (those of other shapes are in ``rest``)."""

    steps: npt.NDArray[np.int64]
    counts: npt.NDArray[np.float32]
    edges: npt.NDArray[np.float32]
    rest_steps: list[int]
    rest_values: list[Any]

    @property
    def nbytes(self) -> int:
        return int(self.steps.nbytes + self.counts.nbytes + self.edges.nbytes) + 200 * len(self.rest_steps)


def _block_arrays(data: bytes) -> BlockArrays:
    steps, values = decode_block(data, use_list=False)
    keep_steps: list[int] = []
    counts: list[Sequence[float]] = []
    edges: list[Sequence[float]] = []
    rest_steps: list[int] = []
    rest_values: list[Any] = []
    size = None
    for step, value in zip(steps, values, strict=True):
        found = _histogram(value)
        if found is None:
            continue
        if size is None:
            size = len(found[0])
        if len(found[0]) == size:
            keep_steps.append(step)
            counts.append(found[0])
            edges.append(found[1])
        else:
            rest_steps.append(step)
            rest_values.append(value)
    width = size or 0
    try:
        return BlockArrays(
            steps=np.asarray(keep_steps, dtype=np.int64),
            counts=np.asarray(counts, dtype=np.float32).reshape(len(keep_steps), width),
            edges=np.asarray(edges, dtype=np.float32).reshape(len(keep_steps), width + 1 if keep_steps else 0),
            rest_steps=rest_steps,
            rest_values=rest_values,
        )
    except (TypeError, ValueError):  # cells that are not numbers: left to the general path, which skips them
        pass
    return BlockArrays(
        steps=np.zeros(0, dtype=np.int64),
        counts=np.zeros((0, 0), dtype=np.float32),
        edges=np.zeros((0, 0), dtype=np.float32),
        rest_steps=[*keep_steps, *rest_steps],
        rest_values=[
            *({"_type": "histogram", "values": c, "bins": e} for c, e in zip(counts, edges, strict=True)),
            *rest_values,
        ],
    )


class HistogramBlockCache:
    """Blocks' histograms as :class:`BlockArrays`, in memory (up to ``max_bytes``) and in ``folder``."""

    def __init__(self, folder: Path, max_bytes: int = 256 << 20) -> None:
        self.folder = folder
        self._max = max_bytes
        self._held = 0
        self._lru: OrderedDict[str, BlockArrays] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, data: bytes) -> BlockArrays:
        key = hashlib.blake2b(data, digest_size=16).hexdigest()
        with self._lock:
            found = self._lru.get(key)
            if found is not None:
                self._lru.move_to_end(key)
                return found
        found = self._load(key)
        if found is None:
            found = _block_arrays(data)
            if not found.rest_steps:
                self._save(key, found)
        with self._lock:
            if key not in self._lru:
                self._lru[key] = found
                self._held += found.nbytes
            while self._held > self._max and self._lru:
                _, old = self._lru.popitem(last=False)
                self._held -= old.nbytes
        return found

    def _path(self, key: str) -> Path:
        return self.folder / key[:2] / f"{key}.npz"

    def _load(self, key: str) -> BlockArrays | None:
        path = self._path(key)
        try:
            with np.load(path) as saved:
                return BlockArrays(saved["steps"], saved["counts"], saved["edges"], [], [])
        except (OSError, KeyError, ValueError):
            return None

    def _save(self, key: str, arrays: BlockArrays) -> None:
        path = self._path(key)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(f".{threading.get_ident()}.tmp")
            with tmp.open("wb") as fh:
                np.savez(fh, steps=arrays.steps, counts=arrays.counts, edges=arrays.edges)
            tmp.replace(path)
        except OSError:
            pass  # a cache that cannot be written is only slower


def matrix_of_blocks(
    parts: Sequence[BlockArrays], buckets: int, min_step: int | None, max_step: int | None
) -> HistogramMatrix:
    """:func:`histogram_matrix` over cached blocks: the same buckets, from arrays instead of references."""
    groups: dict[int, list[tuple[Any, Any, Any]]] = {}
    rest_steps: list[int] = []
    rest_values: list[Any] = []
    lo = -(1 << 63) if min_step is None else min_step
    hi = (1 << 63) - 1 if max_step is None else max_step
    for part in parts:
        if len(part.steps):
            keep = (part.steps >= lo) & (part.steps <= hi)
            if keep.any():
                groups.setdefault(part.counts.shape[1], []).append(
                    (part.steps[keep], part.counts[keep], part.edges[keep])
                )
        for step, value in zip(part.rest_steps, part.rest_values, strict=True):
            if lo <= step <= hi:
                rest_steps.append(step)
                rest_values.append(value)
    if rest_steps:  # histograms of mixed shapes in one block: the general path
        for pieces in groups.values():
            for steps, counts, edges in pieces:
                for i, step in enumerate(steps.tolist()):
                    rest_steps.append(step)
                    rest_values.append({"_type": "histogram", "values": counts[i].tolist(), "bins": edges[i].tolist()})
        order = sorted(range(len(rest_steps)), key=rest_steps.__getitem__)
        return histogram_matrix([rest_steps[i] for i in order], [rest_values[i] for i in order], buckets)
    arrays = [
        (
            np.concatenate([p[0] for p in pieces]),
            np.concatenate([p[1] for p in pieces]),
            np.concatenate([p[2] for p in pieces]),
        )
        for pieces in groups.values()
    ]
    return _matrix(arrays, buckets)
