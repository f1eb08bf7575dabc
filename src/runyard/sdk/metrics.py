"""``run.define_metric``: validating and merging metric definitions."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from runyard.errors import UsageError

SUMMARY_CHOICES = frozenset({"min", "max", "mean", "first", "last", "copy", "none", "best"})
_GOALS = {"min": "minimize", "minimize": "minimize", "max": "maximize", "maximize": "maximize"}


@dataclass(frozen=True)
class Metric:
    """A defined metric, as returned by ``run.define_metric`` (W&B's ``wandb.Metric``)."""

    name: str
    step_metric: str | None = None
    step_sync: bool | None = None
    hidden: bool | None = None
    summary: tuple[str, ...] | None = None
    goal: str | None = None

    def body(self) -> dict[str, Any]:
        """The ``metric`` record body of this definition."""
        return {
            "name": self.name,
            "step_metric": self.step_metric,
            "step_sync": self.step_sync,
            "hidden": self.hidden,
            "summary": list(self.summary) if self.summary is not None else None,
            "goal": self.goal,
        }


def _parse_summary(summary: str | list[str] | tuple[str, ...] | None) -> tuple[str, ...] | None:
    if summary is None:
        return None
    parts = summary.split(",") if isinstance(summary, str) else list(summary)
    out: list[str] = []
    for raw in parts:
        item = raw.strip().lower()
        if not item:
            continue
        if item not in SUMMARY_CHOICES:
            raise UsageError(
                f"define_metric: unknown summary {raw!r}; use min, max, mean, first, last, copy or none "
                "(several separated by commas)"
            )
        out.append(item)
    return tuple(dict.fromkeys(out))


def build_metric(
    name: str,
    step_metric: str | None,
    step_sync: bool | None,
    hidden: bool | None,
    summary: str | list[str] | tuple[str, ...] | None,
    goal: str | None,
    overwrite: bool | None,
    previous: Metric | None,
) -> Metric:
    """Validate one ``define_metric`` call and merge it with the earlier definition of the same name."""
    if not isinstance(name, str) or not name:
        raise UsageError("define_metric: name must be a non-empty string")
    star = name.find("*")
    if star != -1 and star != len(name) - 1:
        raise UsageError(f"define_metric: {name!r}: only a trailing '*' is supported (e.g. 'train/*' or '*')")
    if step_metric is not None and not isinstance(step_metric, str):
        step_metric = getattr(step_metric, "name", None)
        if not isinstance(step_metric, str):
            raise UsageError("define_metric: step_metric must be a metric name")
    goal_value: str | None = None
    if goal is not None:
        goal_value = _GOALS.get(str(goal).lower())
        if goal_value is None:
            raise UsageError(f"define_metric: goal must be 'minimize' or 'maximize'; got {goal!r}")
    parsed = _parse_summary(summary)
    if step_metric is not None and step_sync is None:
        step_sync = True
    if previous is not None and overwrite is False:
        merged_summary = parsed
        if previous.summary is not None:
            merged_summary = tuple(dict.fromkeys((*previous.summary, *(parsed or ()))))
        return Metric(
            name=name,
            step_metric=step_metric if step_metric is not None else previous.step_metric,
            step_sync=step_sync if step_sync is not None else previous.step_sync,
            hidden=hidden if hidden is not None else previous.hidden,
            summary=merged_summary,
            goal=goal_value if goal_value is not None else previous.goal,
        )
    return Metric(name, step_metric, step_sync, hidden, parsed, goal_value)


def metric_for(key: str, metrics: dict[str, Metric]) -> Metric | None:
    """The definition that applies to ``key``: an exact name, else the glob with the longest prefix."""
    exact = metrics.get(key)
    if exact is not None:
        return exact
    if key.startswith("_"):
        return None
    best: Metric | None = None
    best_len = -1
    for name, metric in metrics.items():
        if name.endswith("*") and key.startswith(name[:-1]) and len(name) > best_len:
            best, best_len = metric, len(name)
    return best
