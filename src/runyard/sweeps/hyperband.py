"""Hyperband early termination, as W&B's sweeps apply it: stop the runs that fall behind at a band.

A band is an iteration count (the number of times a run has logged the sweep's metric). When a run reaches a
band, it is compared with every run of the sweep that reached the same band: a run whose best value so far is
worse than the best ``1/eta`` of them is stopped. The store then stops it through the path of the web app's
Stop (:meth:`runyard.store.Store.request_stop`), and the run ends ``killed``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from runyard.sweeps.config import Hyperband, Objective

__all__ = ["runs_to_stop"]


def _best(values: Sequence[float], objective: Objective) -> float:
    return min(values) if objective.goal == "minimize" else max(values)


def _quantile(sorted_values: Sequence[float], q: float) -> float:
    # Linear interpolation between order statistics, as numpy.quantile's default.
    pos = (len(sorted_values) - 1) * q
    lo = math.floor(pos)
    hi = min(lo + 1, len(sorted_values) - 1)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (pos - lo)


def runs_to_stop(
    hyperband: Hyperband,
    objective: Objective,
    series: Mapping[str, Sequence[float]],
    running: set[str] | frozenset[str],
) -> list[str]:
    """The running runs that hyperband stops now.

    Args:
        hyperband: the sweep's bands and eta.
        objective: the metric and its goal.
        series: each run's metric values in the order logged (finished runs too: they set the bar).
        running: the ids of the runs that still run.
    """
    stop = []
    for run_id in sorted(running):
        values = [v for v in series.get(run_id, ()) if math.isfinite(v)]
        reached = [b for b in hyperband.bands if len(values) >= b]
        if not reached:
            continue
        band = max(reached)
        peers = sorted(_best(vals[:band], objective) for vals in series.values() if len(vals) >= band)
        if len(peers) < 2:
            continue
        mine = _best(values[:band], objective)
        if objective.goal == "minimize":
            if mine > _quantile(peers, 1.0 / hyperband.eta):
                stop.append(run_id)
        elif mine < _quantile(peers, 1.0 - 1.0 / hyperband.eta):
            stop.append(run_id)
    return stop
