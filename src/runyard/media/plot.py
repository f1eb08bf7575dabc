"""``runyard.plot``: W&B's preset charts (``line``, ``scatter``, ``bar``, ``histogram``, ``line_series``,
``confusion_matrix``, ``pr_curve``, ``roc_curve``) and ``plot_table`` for any chart spec.

A chart logged at ``key`` is stored as W&B stores it: its data as a table logged at ``<key>_table``, and its
chart spec in the run's config at ``_wandb.visualize.<key>`` (``{"panel_type": "Vega2", "panel_config": ...}``).
``pr_curve`` and ``roc_curve`` compute their curves with NumPy (no scikit-learn needed).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from runyard.media.base import Media, MediaFile, need
from runyard.media.table import Table

__all__ = [
    "CustomChart",
    "bar",
    "confusion_matrix",
    "histogram",
    "line",
    "line_series",
    "plot_table",
    "pr_curve",
    "roc_curve",
    "scatter",
]


class CustomChart(Media):
    """A chart to log: a table and the spec that draws it. Made by the ``runyard.plot`` functions."""

    _log_type = "custom-chart"

    def __init__(
        self,
        table: Table,
        spec_name: str,
        fields: dict[str, Any],
        string_fields: dict[str, Any] | None = None,
        split_table: bool = False,
    ) -> None:
        self.table = table
        self.spec_name = spec_name
        self.fields = fields
        self.string_fields = string_fields or {}
        self.split_table = split_table

    def table_key(self, key: str) -> str:
        """The history key its table is logged at."""
        return f"Custom Chart Tables/{key}_table" if self.split_table else f"{key}_table"

    def config_value(self, key: str) -> dict[str, Any]:
        """W&B's chart spec, stored in the config at ``_wandb.visualize.<key>``."""
        return {
            "panel_type": "Vega2",
            "panel_config": {
                "panelDefId": self.spec_name,
                "fieldSettings": self.fields,
                "stringSettings": self.string_fields,
                "transform": {"name": "tableWithLeafColNames"},
                "userQuery": {
                    "queryFields": [
                        {
                            "name": "runSets",
                            "args": [{"name": "runSets", "value": "${runSets}"}],
                            "fields": [
                                {"name": "id", "fields": []},
                                {"name": "name", "fields": []},
                                {"name": "_defaultColorIndex", "fields": []},
                                {
                                    "name": "summaryTable",
                                    "args": [{"name": "tableKey", "value": self.table_key(key)}],
                                    "fields": [],
                                },
                            ],
                        }
                    ],
                },
            },
        }

    def bind(self, key: str, step: int | str) -> tuple[dict[str, Any], list[MediaFile]]:
        return self.table.bind(self.table_key(key), step)

    def __repr__(self) -> str:
        return f"<runyard.plot chart {self.spec_name}>"


def plot_table(
    vega_spec_name: str,
    data_table: Table,
    fields: dict[str, Any],
    string_fields: dict[str, Any] | None = None,
    split_table: bool = False,
) -> CustomChart:
    """A chart of ``data_table`` drawn by the Vega spec ``vega_spec_name``; ``fields`` maps its fields to columns."""
    if not isinstance(data_table, Table):
        raise TypeError(f"runyard.plot_table: data_table must be a runyard.Table, not {type(data_table).__name__}")
    return CustomChart(data_table, vega_spec_name, fields, string_fields, split_table)


def line(
    table: Table, x: str, y: str, stroke: str | None = None, title: str = "", split_table: bool = False
) -> CustomChart:
    """A line chart of columns ``x`` and ``y`` of ``table``."""
    return plot_table("wandb/line/v0", table, {"x": x, "y": y, "stroke": stroke}, {"title": title}, split_table)


def scatter(table: Table, x: str, y: str, title: str = "", split_table: bool = False) -> CustomChart:
    """A scatter plot of columns ``x`` and ``y`` of ``table``."""
    return plot_table("wandb/scatter/v0", table, {"x": x, "y": y}, {"title": title}, split_table)


def bar(table: Table, label: str, value: str, title: str = "", split_table: bool = False) -> CustomChart:
    """A bar chart: one bar per row, named by column ``label``, of height ``value``."""
    return plot_table("wandb/bar/v0", table, {"label": label, "value": value}, {"title": title}, split_table)


def histogram(table: Table, value: str, title: str = "", split_table: bool = False) -> CustomChart:
    """A histogram of column ``value`` of ``table``."""
    return plot_table("wandb/histogram/v0", table, {"value": value}, {"title": title}, split_table)


def line_series(
    xs: Iterable[Iterable[Any]] | Iterable[Any],
    ys: Iterable[Iterable[Any]],
    keys: Iterable[str] | None = None,
    title: str = "",
    xname: str = "x",
    split_table: bool = False,
) -> CustomChart:
    """Several lines on one chart: ``ys`` is one sequence per line; ``xs`` one shared sequence or one per line."""
    ys_list = [list(y) for y in ys]
    xs_list = list(xs)
    if not xs_list or not isinstance(xs_list[0], Iterable) or isinstance(xs_list[0], (str, bytes)):
        xs_list = [xs_list] * len(ys_list)
    else:
        xs_list = [list(x) for x in xs_list]
    if len(xs_list) != len(ys_list):
        raise ValueError(f"Number of x-series ({len(xs_list)}) must match y-series ({len(ys_list)}).")
    names = list(keys) if keys is not None else [f"line_{i}" for i in range(len(ys_list))]
    if len(names) != len(ys_list):
        raise ValueError(f"Number of keys ({len(names)}) must match y-series ({len(ys_list)}).")
    data = [
        [x, names[i], y]
        for i, (xx, yy) in enumerate(zip(xs_list, ys_list, strict=False))
        for x, y in zip(xx, yy, strict=False)
    ]
    return plot_table(
        "wandb/lineseries/v0",
        Table(data=data, columns=["step", "lineKey", "lineVal"]),
        {"step": "step", "lineKey": "lineKey", "lineVal": "lineVal"},
        {"title": title, "xname": xname},
        split_table,
    )


def confusion_matrix(
    probs: Sequence[Sequence[float]] | None = None,
    y_true: Sequence[Any] | None = None,
    preds: Sequence[Any] | None = None,
    class_names: Sequence[str] | None = None,
    title: str = "Confusion Matrix Curve",
    split_table: bool = False,
) -> CustomChart:
    """A confusion matrix of true labels ``y_true`` against predictions ``preds`` (or the argmax of ``probs``)."""
    np = need("numpy", "runyard.plot.confusion_matrix")
    if probs is not None and preds is not None:
        raise ValueError("Only one of `probs` or `preds` should be provided, not both.")
    if probs is not None:
        preds = np.argmax(np.asarray(probs), axis=1).tolist()
    if preds is None or y_true is None:
        raise ValueError("runyard.plot.confusion_matrix needs y_true and preds (or probs)")
    preds = list(preds.tolist() if hasattr(preds, "tolist") else preds)
    y_true = list(y_true.tolist() if hasattr(y_true, "tolist") else y_true)
    if len(preds) != len(y_true):
        raise ValueError("The number of predictions and true labels must be equal.")
    if class_names is not None:
        n_classes = len(class_names)
        class_idx: Any = list(range(n_classes))
        if len(set(preds)) > n_classes or len(set(y_true)) > n_classes:
            raise ValueError("There are more distinct labels than class names.")
    else:
        class_idx = set(preds).union(set(y_true))
        n_classes = len(class_idx)
        class_names = [f"Class_{i + 1}" for i in range(n_classes)]
    mapping = {v: i for i, v in enumerate(sorted(class_idx))}
    counts = np.zeros((n_classes, n_classes))
    for t, p in zip(y_true, preds, strict=True):
        counts[mapping[t], mapping[p]] += 1
    data = [[class_names[i], class_names[j], counts[i, j].item()] for i in range(n_classes) for j in range(n_classes)]
    return plot_table(
        "wandb/confusion_matrix/v1",
        Table(columns=["Actual", "Predicted", "nPredictions"], data=data),
        {"Actual": "Actual", "Predicted": "Predicted", "nPredictions": "nPredictions"},
        {"title": title},
        split_table,
    )


def _curve_inputs(y_true: Any, y_probas: Any, labels: Any, classes_to_plot: Any) -> list[tuple[Any, Any, Any]]:
    """``(label, is_positive, score)`` per class to plot, from labels and per-class probabilities."""
    np = need("numpy", "runyard.plot curves")
    y = np.asarray(y_true)
    probas = np.asarray(y_probas, dtype=np.float64)
    if probas.ndim != 2 or probas.shape[0] != y.shape[0]:
        raise ValueError("y_probas must be of shape (n_samples, n_classes), with one row per label in y_true")
    classes = np.unique(y)
    out = []
    for i, cls in enumerate(classes):
        if classes_to_plot is not None and cls not in classes_to_plot:
            continue
        if i >= probas.shape[1]:
            break
        label = labels[cls] if labels is not None and isinstance(cls, (int, np.integer)) else cls
        label = label.item() if hasattr(label, "item") else label
        out.append((label, y == cls, probas[:, i]))
    return out


def _thresholds(positive: Any, score: Any) -> tuple[Any, Any]:
    """Cumulative true and false positives at each distinct score, highest first (as scikit-learn computes)."""
    import numpy as np

    order = np.argsort(-score, kind="mergesort")
    s, p = score[order], positive[order]
    last = np.r_[np.where(np.diff(s))[0], s.size - 1]
    tps = np.cumsum(p)[last]
    fps = (1 + last) - tps
    return tps, fps


def roc_curve(
    y_true: Sequence[Any],
    y_probas: Sequence[Sequence[float]] | None = None,
    labels: list[str] | None = None,
    classes_to_plot: list[Any] | None = None,
    title: str = "ROC Curve",
    split_table: bool = False,
) -> CustomChart:
    """ROC curves, one per class: ``y_true`` labels, ``y_probas`` one probability per class and sample."""
    import numpy as np

    rows: list[list[Any]] = []
    for label, positive, score in _curve_inputs(y_true, y_probas, labels, classes_to_plot):
        tps, fps = _thresholds(positive, score)
        tpr = np.r_[0, tps] / max(tps[-1], 1)
        fpr = np.r_[0, fps] / max(fps[-1], 1)
        rows.extend([label, round(float(f), 3), round(float(t), 3)] for f, t in zip(fpr, tpr, strict=True))
    return plot_table(
        "wandb/area-under-curve/v0",
        Table(columns=["class", "fpr", "tpr"], data=rows),
        {"x": "fpr", "y": "tpr", "class": "class"},
        {"title": title, "x-axis-title": "False positive rate", "y-axis-title": "True positive rate"},
        split_table,
    )


def pr_curve(
    y_true: Sequence[Any] | None = None,
    y_probas: Sequence[Sequence[float]] | None = None,
    labels: list[str] | None = None,
    classes_to_plot: list[Any] | None = None,
    interp_size: int = 21,
    title: str = "Precision-Recall Curve",
    split_table: bool = False,
) -> CustomChart:
    """Precision-recall curves, one per class, sampled at ``interp_size`` recall levels as W&B does."""
    import numpy as np

    rows: list[list[Any]] = []
    interp_recall = np.linspace(0, 1, interp_size)[::-1]
    for label, positive, score in _curve_inputs(y_true, y_probas, labels, classes_to_plot):
        tps, fps = _thresholds(positive, score)
        precision = np.r_[tps / np.maximum(tps + fps, 1), 1.0]
        recall = np.r_[tps / max(tps[-1], 1), 0.0]
        # precision at each recall level: the best precision reachable at that recall or beyond
        best = np.maximum.accumulate(precision[::-1])[::-1]
        order = np.argsort(recall, kind="mergesort")
        idx = np.clip(np.searchsorted(recall[order], interp_recall, side="left"), 0, recall.size - 1)
        values = best[order][idx]
        rows.extend([label, round(float(p), 3), round(float(r), 3)] for p, r in zip(values, interp_recall, strict=True))
    return plot_table(
        "wandb/area-under-curve/v0",
        Table(columns=["class", "precision", "recall"], data=rows),
        {"x": "recall", "y": "precision", "class": "class"},
        {"title": title, "x-axis-title": "Recall", "y-axis-title": "Precision"},
        split_table,
    )
