"""Which parameters of a sweep matter for its metric: correlation, and a random forest's importance.

As W&B's parameter importance panel: for each parameter, the Pearson correlation of its value with the metric
(categories by their position in ``values``), and the impurity importance of a random forest fitted to predict
the metric from all parameters (scikit-learn, from the ``sweeps`` extra; None without it or with too few runs).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from runyard.sweeps.config import SweepConfig

__all__ = ["parameter_importance"]

MIN_RUNS = 4


def _number(config: SweepConfig, name: str, value: Any) -> float | None:
    param = next((p for p in config.params if p.name == name), None)
    if param is not None and param.distribution == "categorical":
        for i, v in enumerate(param.values):
            if v == value:
                return float(i)
        return None
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, (int, float)) and math.isfinite(value):
        return float(value)
    return None


def _pearson(xs: Sequence[float], ys: Sequence[float]) -> float | None:
    n = len(xs)
    if n < 2:
        return None
    mx, my = sum(xs) / n, sum(ys) / n
    sxy = sum((x - mx) * (y - my) for x, y in zip(xs, ys))
    sxx = sum((x - mx) ** 2 for x in xs)
    syy = sum((y - my) ** 2 for y in ys)
    if sxx <= 0 or syy <= 0:
        return None
    return sxy / math.sqrt(sxx * syy)


def parameter_importance(config: SweepConfig, runs: Sequence[tuple[Mapping[str, Any], float]]) -> list[dict[str, Any]]:
    """``[{"param", "correlation", "importance"}]`` for the searched parameters, most important first.

    Args:
        config: the sweep's config.
        runs: each finished run's parameters (flat, by dotted name) and metric value.
    """
    names = [p.name for p in config.params if p.distribution != "constant"]
    rows = []
    for params, metric in runs:
        row = [_number(config, n, params.get(n)) for n in names]
        if all(v is not None for v in row) and math.isfinite(metric):
            rows.append(([float(v) for v in row if v is not None], metric))
    out = []
    for i, name in enumerate(names):
        corr = _pearson([r[0][i] for r in rows], [r[1] for r in rows])
        out.append({"param": name, "correlation": corr, "importance": None})
    if len(rows) >= MIN_RUNS and names:
        try:
            from sklearn.ensemble import RandomForestRegressor
        except ImportError:
            return out
        forest = RandomForestRegressor(n_estimators=100, random_state=0, n_jobs=1)
        forest.fit([r[0] for r in rows], [r[1] for r in rows])
        for entry, value in zip(out, forest.feature_importances_):
            entry["importance"] = float(value)
        out.sort(key=lambda e: -float(e["importance"] or 0.0))
    return out
