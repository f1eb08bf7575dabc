"""Tables: built as in W&B, logged, stored whole (no 10,000-row truncation) and read back as ``Table``."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

import runyard

np = pytest.importorskip("numpy")
pd = pytest.importorskip("pandas")


def test_table_api() -> None:
    t = runyard.Table(columns=["id", "label"])
    t.add_data(1, "cat")
    t.add_data(2, "dog")
    t.add_column("score", [0.5, 0.25])
    assert t.columns == ["id", "label", "score"]
    assert t.get_column("label") == ["cat", "dog"]
    assert t.get_column("score", convert_to="numpy").tolist() == [0.5, 0.25]
    assert t.get_index() == [0, 1]
    assert t.get_dataframe().to_dict("list") == {"id": [1, 2], "label": ["cat", "dog"], "score": [0.5, 0.25]}
    assert runyard.Table(data=[[1, 2, 3]]).columns == ["Input", "Output", "Expected"]
    assert runyard.Table(data=np.zeros((2, 2))).columns == ["Column 1", "Column 2"]
    frame = pd.DataFrame({"a": [1, 2], "b": ["x", "y"]})
    assert runyard.Table(dataframe=frame) == runyard.Table(columns=["a", "b"], data=[[1, "x"], [2, "y"]])
    with pytest.raises(ValueError, match="2 cell"):
        t.add_data(3, "bird")
    with pytest.raises(KeyError, match="no column"):
        t.get_column("nope")
    with pytest.raises(ValueError, match="has 3 value"):
        t.add_column("z", [1, 2, 3])
    columns_first = runyard.Table(columns=[])
    columns_first.add_column("a", [1, 2])
    columns_first.add_column("b", ["x", "y"])
    assert columns_first.data == [[1, "x"], [2, "y"]]


def test_table_with_media_cells_round_trips(api, tmp_path: Path) -> None:
    pil = pytest.importorskip("PIL.Image")
    img = np.full((6, 5, 3), 100, dtype=np.uint8)
    table = runyard.Table(columns=["id", "image", "score", "hist", "vec"])
    table.add_data(1, runyard.Image(img, caption="one"), np.float32(0.5), runyard.Histogram([1, 2, 3]), np.arange(3))
    table.add_data(2, None, 0.25, None, [4, 5])
    with runyard.init(project="media") as run:
        run.log({"preds": table})
    r = api.run(f"media/{run.id}")
    (row,) = r.scan_history()
    ref = row["preds"]
    assert ref["_type"] == "table-file" and ref["path"].startswith("media/table/preds_0_")
    assert ref["path"].endswith(".table.json")
    assert (ref["ncols"], ref["nrows"]) == (5, 2) and ref["size"] > 0 and len(ref["sha256"]) == 64
    assert r.summary["preds"] == ref
    # As W&B users read a logged table: download the file by its path, load the JSON.
    r.file(ref["path"]).download(root=str(tmp_path)).close()
    content = json.loads((tmp_path / ref["path"]).read_text())
    assert content["columns"] == ["id", "image", "score", "hist", "vec"]
    cell = content["data"][0][1]
    assert cell["_type"] == "image-file" and cell["caption"] == "one"
    assert np.array_equal(np.asarray(pil.open(io.BytesIO(r.file(cell["path"]).content()))), img)
    assert content["data"][0][3]["_type"] == "histogram"
    # ... or as a Table, from the summary's reference or one taken from history.
    back = r.table("preds")
    assert back == r.table(ref)
    assert back.get_column("score") == [0.5, 0.25]
    assert back.get_column("vec") == [[0, 1, 2], [4, 5]]
    assert back.get_dataframe()["id"].tolist() == [1, 2]
    with pytest.raises(KeyError, match="no table"):
        r.table("nothing")


def test_tables_are_not_truncated(api) -> None:
    n = 25_000  # W&B keeps the first 10,000 rows of a logged table
    frame = pd.DataFrame({"i": np.arange(n), "x": np.linspace(0, 1, n), "label": [f"c{i % 7}" for i in range(n)]})
    with runyard.init(project="media") as run:
        run.log({"big": runyard.Table(dataframe=frame)})
    r = api.run(f"media/{run.id}")
    assert r.summary["big"]["nrows"] == n
    back = r.table("big")
    assert len(back.data) == n
    assert back.data[-1] == [n - 1, 1.0, f"c{(n - 1) % 7}"]


def test_table_cells_that_cannot_be_stored_name_the_key(api) -> None:
    with runyard.init(project="media") as run:
        run.log({"ok": 1})
        with pytest.raises(TypeError, match=r"'bad'.*object"):
            run.log({"bad": runyard.Table(columns=["a"], data=[[object()]]), "other": 2})
        run.log({"ok": 2})
    r = api.run(f"media/{run.id}")
    rows = list(r.scan_history())
    assert [(row["_step"], row["ok"]) for row in rows] == [(0, 1), (1, 2)]
    assert all("bad" not in row and "other" not in row for row in rows)
