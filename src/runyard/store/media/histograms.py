"""Histograms over time: one key's ``histogram`` references as a step x bin matrix, bucketed along ``_step``.

Every histogram in the range counts (full fidelity, like the line charts' buckets): the step range is cut into
at most ``buckets`` equal-width step buckets, as :mod:`runyard.store.sampling` cuts it; each histogram is
re-binned onto one common grid of bins spanning every histogram's edges (counts spread linearly inside a bin,
as a histogram's own bins assume), and a bucket holds the mean of its histograms. Re-binning is vectorised:
all histograms with the same number of bins are interpolated in one ``np.interp`` call.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = ["HistogramMatrix", "histogram_matrix"]

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


def _histogram(value: Any) -> tuple[list[float], list[float]] | None:
    if type(value) is not dict or value.get("_type") != "histogram":
        return None
    counts, bins = value.get("values"), value.get("bins")
    if not isinstance(counts, list) or not isinstance(bins, list) or len(bins) != len(counts) + 1 or not counts:
        return None
    return counts, bins


def histogram_matrix(steps: Sequence[int], values: Sequence[Any], buckets: int) -> HistogramMatrix:
    """Bucket the ``histogram`` references among ``values`` (at ``steps``, increasing) into at most ``buckets`` rows."""
    kept_steps: list[int] = []
    by_size: dict[int, tuple[list[int], list[list[float]], list[list[float]]]] = {}
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
        return HistogramMatrix([], [], [], [], np.zeros((0, 0)))
    arrays = []
    lo_edge, hi_edge, n_bins = np.inf, -np.inf, 0
    for size, (order, group_counts, group_bins) in by_size.items():
        c = np.asarray(group_counts, dtype=np.float64)
        e = np.asarray(group_bins, dtype=np.float64)
        finite = np.isfinite(e).all(axis=1) & np.isfinite(c).all(axis=1) & (np.diff(e, axis=1) >= 0).all(axis=1)
        c, e, idx = c[finite], e[finite], np.asarray(order)[finite]
        if len(idx):
            lo_edge = min(lo_edge, float(e[:, 0].min()))
            hi_edge = max(hi_edge, float(e[:, -1].max()))
            n_bins = max(n_bins, size)
        arrays.append((idx, c, e))
    if n_bins == 0:
        return HistogramMatrix([], [], [], [], np.zeros((0, 0)))
    n_bins = min(n_bins, MAX_BINS)
    if hi_edge <= lo_edge:
        hi_edge = lo_edge + 1.0
    grid = np.linspace(lo_edge, hi_edge, n_bins + 1)
    step_arr = np.asarray(kept_steps, dtype=np.int64)
    lo_step, hi_step = int(step_arr[0]), int(step_arr[-1])
    width = hi_step - lo_step + 1
    n_rows = max(1, min(buckets, width))
    sums = np.zeros((n_rows, n_bins))
    seen = np.zeros(n_rows, dtype=np.int64)
    first = np.full(n_rows, np.iinfo(np.int64).max, dtype=np.int64)
    last = np.full(n_rows, np.iinfo(np.int64).min, dtype=np.int64)
    for idx, c, e in arrays:
        if not len(idx):
            continue
        rebinned = _rebin(c, e, grid)
        row_steps = step_arr[idx]
        rows = ((row_steps - lo_step) * n_rows) // width
        np.add.at(sums, rows, rebinned)
        np.add.at(seen, rows, 1)
        np.minimum.at(first, rows, row_steps)
        np.maximum.at(last, rows, row_steps)
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
