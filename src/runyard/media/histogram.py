"""``Histogram``: a distribution logged inline in history (no file), as W&B's ``{"_type": "histogram"}``."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from runyard.media.base import Media, MediaFile

__all__ = ["Histogram"]


class Histogram(Media):
    """A histogram for logging: counts per bin and the bin edges.

    Examples:
        ``runyard.log({"weights": runyard.Histogram(layer.weight.detach().numpy())})``, or from NumPy's result:
        ``runyard.Histogram(np_histogram=np.histogram(data, bins=20))``.

    Args:
        sequence: the values to bin (a list, a NumPy array, a torch tensor).
        np_histogram: a precomputed ``(counts, bin_edges)`` pair, as ``numpy.histogram`` returns.
        num_bins: the number of bins when binning ``sequence`` (default 64, at most 512).

    Attributes:
        histogram: the counts, one per bin.
        bins: the bin edges, one more than the counts.

    Raises:
        ValueError: more than 512 bins, edges that do not match the counts, or neither input given.
    """

    MAX_LENGTH: int = 512
    _log_type = "histogram"

    def __init__(
        self,
        sequence: Sequence[Any] | Any | None = None,
        np_histogram: tuple[Any, Any] | None = None,
        num_bins: int = 64,
    ) -> None:
        if np_histogram is not None:
            if len(np_histogram) != 2:
                raise ValueError(
                    "runyard.Histogram: np_histogram must be a (counts, bin_edges) pair, as numpy.histogram returns"
                )
            counts, edges = np_histogram
            self.histogram: list[Any] = counts.tolist() if hasattr(counts, "tolist") else list(counts)
            self.bins: list[Any] = edges.tolist() if hasattr(edges, "tolist") else list(edges)
        elif sequence is not None:
            if not isinstance(num_bins, int) or num_bins < 1:
                raise ValueError(f"runyard.Histogram: num_bins must be a positive integer, not {num_bins!r}")
            if num_bins > self.MAX_LENGTH:
                raise ValueError(f"runyard.Histogram: num_bins is {num_bins}; a histogram has at most 512 bins")
            self.histogram, self.bins = _bin(sequence, num_bins)
        else:
            raise ValueError("runyard.Histogram needs a sequence of values or np_histogram=(counts, bin_edges)")
        if len(self.histogram) > self.MAX_LENGTH:
            raise ValueError(f"runyard.Histogram: {len(self.histogram)} bins; a histogram has at most 512 bins")
        if len(self.histogram) + 1 != len(self.bins):
            raise ValueError("runyard.Histogram: len(bins) must be len(histogram) + 1")

    def bind(self, key: str, step: int | str) -> tuple[dict[str, Any], list[MediaFile]]:
        return {"_type": "histogram", "values": self.histogram, "bins": self.bins}, []

    def __repr__(self) -> str:
        return f"<runyard.Histogram {len(self.histogram)} bins>"


def _bin(sequence: Any, num_bins: int) -> tuple[list[Any], list[float]]:
    """Counts and edges as ``numpy.histogram`` gives them; non-finite values are left out (NumPy refuses them)."""
    module = type(sequence).__module__
    if module.startswith("torch"):
        sequence = sequence.detach().cpu().float().numpy()
    try:
        import numpy as np
    except ImportError:
        return _bin_python([float(v) for v in sequence], num_bins)
    try:
        values = np.asarray(sequence, dtype=np.float64).ravel()
    except (TypeError, ValueError):
        raise TypeError(
            f"runyard.Histogram: the values must be numbers, not {type(sequence).__name__} of other things"
        ) from None
    finite = values[np.isfinite(values)]
    counts, edges = np.histogram(finite, bins=num_bins)
    return counts.tolist(), edges.tolist()


def _bin_python(values: list[float], num_bins: int) -> tuple[list[Any], list[float]]:
    values = [v for v in values if math.isfinite(v)]
    lo, hi = (min(values), max(values)) if values else (0.0, 1.0)
    if lo == hi:
        lo, hi = lo - 0.5, hi + 0.5
    width = (hi - lo) / num_bins
    counts = [0] * num_bins
    for v in values:
        counts[min(int((v - lo) / width), num_bins - 1)] += 1
    return counts, [lo + i * width for i in range(num_bins)] + [hi]
