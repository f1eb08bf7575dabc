"""W&B summary semantics: fold logged rows, explicit writes and metric definitions into a run summary.

Shared by the SDK (in the training thread, once per ``log()``, so the common case must cost about as much as
``dict.update``) and the store (while ingesting a run log, so a replay rebuilds the same summary).

Rules, as W&B applies them:

* By default the summary holds the last logged value of every key (``_step``, ``_runtime`` and ``_timestamp``
  included). Nested dicts merge leaf by leaf.
* ``define_metric(name, summary=...)`` replaces that with a dict of aggregates (``{"min": 2, "max": 7}``)
  for ``min``, ``max``, ``mean``, ``first``, ``last``; ``copy`` (or no summary) keeps the default; ``none``
  drops the key. min/max/mean/first skip non-numbers (strings, bools), but NaN propagates.
* A name may end in ``*`` (``"train/*"``, ``"*"``): an exact name beats a glob, the longest glob prefix beats
  a shorter one, and globs never match keys starting with ``_``.
* An explicit ``summary[k] = v`` overrides, until the key is logged again.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

from runyard.flatten import iter_leaves, nest_pop, nest_set

__all__ = ["AGGREGATES", "SummaryFolder"]

AGGREGATES = ("min", "max", "mean", "first", "last")
"""The summary kinds that turn a key's summary into a dict of aggregates."""

_Aggs = tuple[str, ...]
_BEST = {"best_min": "min", "best_max": "max"}
_NONE: _Aggs = ("none",)


def _aggregates_of(metric: Mapping[str, Any]) -> _Aggs | None:
    """The aggregates a definition asks for; None for the default (copy) behaviour."""
    kinds = metric.get("summary") or ()
    if "none" in kinds:
        return _NONE
    aggs = tuple(k for k in kinds if k in AGGREGATES)
    if "best" in kinds:
        # W&B's (deprecated) "best": the min or the max, as the metric's goal says (minimize by default).
        aggs += ("best_max" if metric.get("goal") == "maximize" else "best_min",)
    return aggs or None


def _is_number(value: Any) -> bool:
    kind = type(value)
    return kind is float or kind is int


class SummaryFolder:
    """Holds one run's summary and folds rows into it. ``summary``, ``state`` and ``metrics`` are public data.

    ``state`` keeps what the aggregates need between rows (per flattened key: count, compensated sum, min,
    max, first, last). It is JSON-able (NaN aside), and the store persists it beside the summary so that a
    resumed run keeps averaging where it stopped.
    """

    __slots__ = ("_exact", "_globs", "_has_metrics", "_plain", "_resolved", "metrics", "state", "summary")

    def __init__(
        self,
        summary: dict[str, Any] | None = None,
        state: dict[str, Any] | None = None,
        metrics: Iterable[Mapping[str, Any]] | None = None,
    ) -> None:
        self.summary: dict[str, Any] = summary if summary is not None else {}
        self.state: dict[str, Any] = state if state is not None else {}
        # MetricBody dicts (runyard.records), in definition order, one per name.
        self.metrics: list[dict[str, Any]] = [dict(m) for m in metrics] if metrics else []
        self._exact: dict[str, _Aggs | None] = {}
        self._globs: list[tuple[str, _Aggs | None]] = []
        # key -> aggregates (None: plain last value); filled lazily, cleared by define().
        self._resolved: dict[str, _Aggs | None] = {}
        # The keys known to resolve to None: lets fold_row test a whole row with one C-level set operation.
        self._plain: set[str] = set()
        self._has_metrics = False
        self._rebuild()

    # -- definitions ----------------------------------------------------------------------------------------

    def define(self, metric: Mapping[str, Any]) -> None:
        """Add a metric definition (a ``MetricBody``), or replace the one with the same name."""
        body = dict(metric)
        for i, existing in enumerate(self.metrics):
            if existing["name"] == body["name"]:
                self.metrics[i] = body
                break
        else:
            self.metrics.append(body)
        self._rebuild()

    def _rebuild(self) -> None:
        self._exact.clear()
        self._globs.clear()
        self._resolved.clear()
        self._plain.clear()
        for metric in self.metrics:
            name = metric["name"]
            aggs = _aggregates_of(metric)
            if name.endswith("*"):
                self._globs.append((name[:-1], aggs))
            else:
                self._exact[name] = aggs
        # Longest prefix first, so the first match in _resolve is the most specific glob.
        self._globs.sort(key=lambda g: len(g[0]), reverse=True)
        self._has_metrics = any(a is not None for a in self._exact.values()) or any(
            a is not None for _, a in self._globs
        )

    def _resolve(self, key: str) -> _Aggs | None:
        try:
            return self._resolved[key]
        except KeyError:
            pass
        if key in self._exact:
            aggs = self._exact[key]
        else:
            aggs = None
            if not key.startswith("_"):
                for prefix, glob_aggs in self._globs:
                    if key.startswith(prefix):
                        aggs = glob_aggs
                        break
        self._resolved[key] = aggs
        if aggs is None:
            self._plain.add(key)
        return aggs

    # -- folding --------------------------------------------------------------------------------------------

    def fold_row(self, row: Mapping[str, Any]) -> None:
        """Fold one logged history row (as in a ``row`` record body; values may be nested dicts)."""
        if (not self._has_metrics or self._plain.issuperset(row)) and dict not in map(type, row.values()):
            self.summary.update(row)
            return
        summary = self.summary
        for key, value in row.items():
            if isinstance(value, dict):
                for path, leaf in iter_leaves(value, (key,)):
                    self._fold_leaf(".".join(path), path, leaf)
                continue
            aggs = self._resolve(key) if self._has_metrics else None
            if aggs is None:
                summary[key] = value
            else:
                self._fold_aggregates(key, (key,), value, aggs)

    def _fold_leaf(self, flat_key: str, path: tuple[str, ...], value: Any) -> None:
        aggs = self._resolve(flat_key) if self._has_metrics else None
        if aggs is None:
            nest_set(self.summary, path, value)
        else:
            self._fold_aggregates(flat_key, path, value, aggs)

    def _fold_aggregates(self, flat_key: str, path: tuple[str, ...], value: Any, aggs: _Aggs) -> None:
        if aggs is _NONE:
            nest_pop(self.summary, path)
            return
        st = self.state.get(flat_key)
        if st is None:
            st = self.state[flat_key] = {}
        _accumulate(st, value)
        out = {}
        for agg in aggs:
            source = _BEST.get(agg, agg)
            if source in st:
                out["best" if agg in _BEST else agg] = st[source]
        if out:
            nest_set(self.summary, path, out)

    # -- explicit writes ------------------------------------------------------------------------------------

    def set(self, values: Mapping[str, Any]) -> None:
        """Explicit ``summary[k] = v`` writes (top-level keys); a later logged value overrides them again."""
        self.summary.update(values)

    def delete(self, keys: Iterable[str]) -> None:
        """Remove top-level summary keys."""
        for key in keys:
            self.summary.pop(key, None)


def _accumulate(st: dict[str, Any], value: Any) -> None:
    """Update one key's aggregator state with a logged value."""
    st["last"] = value
    if not _is_number(value):
        return
    try:
        fv = float(value)
    except OverflowError:  # an int beyond float range
        fv = math.inf if value > 0 else -math.inf
    if "first" not in st:
        st["first"] = value
        st["min"] = value
        st["max"] = value
        st["n"] = 1
        st["sum"] = fv
        st["c"] = 0.0
    else:
        st["n"] += 1
        if fv != fv:  # NaN poisons min and max for good, as it does in W&B
            st["min"] = st["max"] = value
        else:
            cur = st["min"]
            if cur == cur and value < cur:
                st["min"] = value
            cur = st["max"]
            if cur == cur and value > cur:
                st["max"] = value
        # Neumaier compensated sum: the mean stays accurate over millions of points without keeping them.
        s = st["sum"]
        t = s + fv
        if math.isfinite(t):
            if abs(s) >= abs(fv):
                st["c"] += (s - t) + fv
            else:
                st["c"] += (fv - t) + s
        st["sum"] = t
    s = st["sum"]
    st["mean"] = (s + st["c"] if math.isfinite(s) else s) / st["n"]
