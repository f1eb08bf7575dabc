"""``runyard.plot`` charts: a table at ``<key>_table`` and the chart spec in the config, as W&B stores them."""

from __future__ import annotations

import pytest

import runyard

np = pytest.importorskip("numpy")


def test_every_chart_stores_its_table_and_spec(api) -> None:
    xy = runyard.Table(columns=["x", "y"], data=[[i, i * i] for i in range(10)])
    bars = runyard.Table(columns=["label", "value"], data=[["a", 1], ["b", 3]])
    y_true = np.array([0, 1, 1, 0, 1, 0, 1, 1])
    probas = np.array([[0.9, 0.1], [0.2, 0.8], [0.4, 0.6], [0.6, 0.4], [0.3, 0.7], [0.8, 0.2], [0.6, 0.4], [0.1, 0.9]])
    charts = {
        "line": (runyard.plot.line(xy, "x", "y", title="squares"), "wandb/line/v0"),
        "scatter": (runyard.plot.scatter(xy, "x", "y"), "wandb/scatter/v0"),
        "bar": (runyard.plot.bar(bars, "label", "value"), "wandb/bar/v0"),
        "hist": (runyard.plot.histogram(xy, "y"), "wandb/histogram/v0"),
        "series": (runyard.plot.line_series([0, 1, 2], [[1, 2, 3], [3, 2, 1]], keys=["up", "down"]), None),
        "cm": (runyard.plot.confusion_matrix(y_true=[0, 1, 1], preds=[0, 1, 0], class_names=["no", "yes"]), None),
        "roc": (runyard.plot.roc_curve(y_true, probas), "wandb/area-under-curve/v0"),
        "pr": (runyard.plot.pr_curve(y_true, probas), "wandb/area-under-curve/v0"),
        "custom": (runyard.plot_table("me/my-chart/v1", xy, {"a": "x"}, {"title": "t"}), "me/my-chart/v1"),
    }
    with runyard.init(project="media") as run:
        run.log({key: chart for key, (chart, _) in charts.items()})
    r = api.run(f"media/{run.id}")
    (row,) = r.scan_history()
    visualize = r.config["_wandb"]["visualize"]
    assert set(visualize) == set(charts)
    for key, (_, spec_name) in charts.items():
        assert key not in row
        assert row[f"{key}_table"]["_type"] == "table-file"
        spec = visualize[key]
        assert spec["panel_type"] == "Vega2"
        query = spec["panel_config"]["userQuery"]["queryFields"][0]["fields"][3]
        assert query["name"] == "summaryTable" and query["args"][0]["value"] == f"{key}_table"
        if spec_name:
            assert spec["panel_config"]["panelDefId"] == spec_name
    assert visualize["line"]["panel_config"]["fieldSettings"] == {"x": "x", "y": "y", "stroke": None}
    assert visualize["line"]["panel_config"]["stringSettings"] == {"title": "squares"}
    assert visualize["series"]["panel_config"]["panelDefId"] == "wandb/lineseries/v0"
    assert visualize["cm"]["panel_config"]["panelDefId"] == "wandb/confusion_matrix/v1"
    assert r.table("line_table") == xy
    series = r.table("series_table")
    assert series.columns == ["step", "lineKey", "lineVal"]
    assert series.data[:3] == [[0, "up", 1], [1, "up", 2], [2, "up", 3]]
    cm = r.table("cm_table")
    assert cm.data == [["no", "no", 1.0], ["no", "yes", 0.0], ["yes", "no", 1.0], ["yes", "yes", 1.0]]
    roc = r.table("roc_table")
    assert roc.columns == ["class", "fpr", "tpr"]
    ones = [row for row in roc.data if row[0] == 1]
    assert ones[0][1:] == [0.0, 0.0] and ones[-1][1:] == [1.0, 1.0]
    pr = r.table("pr_table")
    assert pr.columns == ["class", "precision", "recall"]
    assert len(pr.data) == 2 * 21 and all(0.0 <= p <= 1.0 for _, p, _ in pr.data)


def test_charts_logged_at_two_keys_keep_both_specs(api) -> None:
    xy = runyard.Table(columns=["x", "y"], data=[[0, 1]])
    with runyard.init(project="media", config={"lr": 0.1}) as run:
        run.log({"a": runyard.plot.line(xy, "x", "y")})
        run.log({"b": runyard.plot.scatter(xy, "x", "y")})
    r = api.run(f"media/{run.id}")
    assert set(r.config["_wandb"]["visualize"]) == {"a", "b"}
    assert r.config["lr"] == 0.1
