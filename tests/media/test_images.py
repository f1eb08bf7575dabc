"""Images logged with the SDK, stored, and read back through ``runyard.Api`` as W&B users read them."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest

import runyard

np = pytest.importorskip("numpy")
PILImage = pytest.importorskip("PIL.Image")

PATH = re.compile(r"^media/images/(?P<key>.+)_(?P<step>\d+)_[0-9a-f]{20}\.(png|jpg)$")


def _pixels(api_run: runyard.Api, ref: dict) -> np.ndarray:
    return np.asarray(PILImage.open(io.BytesIO(api_run.file(ref["path"]).content())))


def test_every_image_source_round_trips(api, tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    hwc = rng.integers(0, 256, (24, 32, 3), dtype=np.uint8)
    rgba = rng.integers(0, 256, (24, 32, 4), dtype=np.uint8)
    gray = rng.integers(0, 256, (24, 32), dtype=np.uint8)
    chw = rng.random((3, 24, 32))  # floats in 0..1, channels first
    signed = rng.normal(size=(24, 32, 3)).astype(np.float32)  # any range: rescaled to 0..255, as W&B does
    PILImage.fromarray(hwc).save(tmp_path / "pic.png")
    PILImage.fromarray(hwc).save(tmp_path / "pic.jpg", quality=95)
    with runyard.init(project="media") as run:
        run.log(
            {
                "hwc": runyard.Image(hwc, caption="a cat"),
                "rgba": runyard.Image(rgba, mode="RGBA"),
                "gray": runyard.Image(gray),
                "chw": runyard.Image(chw),
                "signed": runyard.Image(signed),
                "pil": runyard.Image(PILImage.fromarray(hwc)),
                "png": runyard.Image(str(tmp_path / "pic.png")),
                "jpg": runyard.Image(tmp_path / "pic.jpg"),
                "loss": 0.5,
            }
        )
        hwc[:] = 0  # the caller reuses its buffer: what was logged is kept
        run.log({"val": {"nested": runyard.Image(gray)}})
    r = api.run(f"media/{run.id}")
    row, nested_row = r.scan_history()
    assert row["loss"] == 0.5
    ref = row["hwc"]
    assert PATH.match(ref["path"]) and PATH.match(ref["path"])["key"] == "hwc"
    assert {k: v for k, v in ref.items() if k != "path"} == {
        "_type": "image-file",
        "format": "png",
        "width": 32,
        "height": 24,
        "caption": "a cat",
    }
    assert row["chw"]["width"] == 32 and row["chw"]["height"] == 24
    rng = np.random.default_rng(1)
    expected = rng.integers(0, 256, (24, 32, 3), dtype=np.uint8)
    assert np.array_equal(_pixels(r, ref), expected)
    assert np.array_equal(_pixels(r, row["rgba"]), rgba)
    assert np.array_equal(_pixels(r, row["gray"]), gray)
    assert np.array_equal(_pixels(r, row["chw"]), (chw * 255).astype(np.uint8).transpose(1, 2, 0))
    lo, hi = signed.min(), signed.max()
    rescaled = ((signed.astype(np.float64) - lo) / (hi - lo) * 255).clip(0, 255).astype(np.uint8)
    assert np.array_equal(_pixels(r, row["signed"]), rescaled)
    assert np.array_equal(_pixels(r, row["pil"]), expected)
    # A file is stored as it is, with its digest and size, as W&B's reference has them.
    png = (tmp_path / "pic.png").read_bytes()
    assert r.file(row["png"]["path"]).content() == png
    assert row["png"]["size"] == len(png) and len(row["png"]["sha256"]) == 64
    assert row["jpg"]["format"] == "jpg" and row["jpg"]["path"].endswith(".jpg")
    assert r.file(row["jpg"]["path"]).content() == (tmp_path / "pic.jpg").read_bytes()
    assert (row["jpg"]["width"], row["jpg"]["height"]) == (32, 24)
    # A nested key is one series named with dots; its reference is whole.
    assert nested_row["val.nested"]["_type"] == "image-file"
    assert nested_row["val.nested"]["path"].startswith("media/images/val.nested_1_")
    # W&B users download by path.
    out = tmp_path / "down"
    r.file(ref["path"]).download(root=str(out)).close()
    assert np.array_equal(np.asarray(PILImage.open(out / ref["path"])), expected)


def test_history_keeps_one_reference_per_key_never_flattened(api) -> None:
    img = np.full((8, 8, 3), 200, dtype=np.uint8)
    with runyard.init(project="media") as run:
        for step in range(5):
            run.log({"img": runyard.Image(img, caption=f"step {step}"), "acc": step / 10})
    r = api.run(f"media/{run.id}")
    rows = list(r.scan_history())
    assert all(not any("._type" in k or k.startswith("img.") for k in row) for row in rows)
    assert [row["img"]["caption"] for row in rows] == [f"step {s}" for s in range(5)]
    picked = r.history(keys=["img"], pandas=False)
    assert [row["_step"] for row in picked] == list(range(5))
    assert all(row["img"]["_type"] == "image-file" for row in picked)
    # The summary of a media key holds its last reference, as in W&B.
    assert r.summary["img"] == rows[-1]["img"]
    # Same pixels, other step: a file of its own per step (W&B's key_step_hash names).
    assert len({row["img"]["path"] for row in rows}) == 5
    assert all(r.file(row["img"]["path"]).size > 0 for row in rows)


def test_a_list_of_images_is_one_reference(api) -> None:
    a = np.zeros((10, 12, 3), dtype=np.uint8)
    b = np.full((10, 12), 255, dtype=np.uint8)
    with runyard.init(project="media") as run:
        run.log({"examples": [runyard.Image(a, caption="black"), runyard.Image(b, caption="white")]})
    r = api.run(f"media/{run.id}")
    (row,) = r.scan_history()
    ref = row["examples"]
    assert ref["_type"] == "images/separated"
    assert (ref["count"], ref["width"], ref["height"], ref["format"]) == (2, 12, 10, "png")
    assert ref["captions"] == ["black", "white"]
    assert len(ref["filenames"]) == 2
    assert np.array_equal(_pixels(r, {"path": ref["filenames"][0]}), a)
    assert np.array_equal(_pixels(r, {"path": ref["filenames"][1]}), b)


def test_many_image_rows_are_sampled_as_whole_references(api) -> None:
    img = np.zeros((4, 4, 3), dtype=np.uint8)
    with runyard.init(project="media") as run:
        for step in range(300):
            run.log({"img": runyard.Image(img), "loss": 1 / (step + 1)})
    r = api.run(f"media/{run.id}")
    picked = r.history(keys=["img"], samples=30, pandas=False)
    assert 0 < len(picked) <= 300
    assert all(set(row["img"]) >= {"_type", "path", "width", "height"} for row in picked)
    assert len(list(r.scan_history(keys=["img"]))) == 300


def test_matplotlib_figures_are_logged_as_png(api) -> None:
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(4, 3), dpi=50)
    ax.plot([0, 1, 2], [2, 0, 1])
    with runyard.init(project="media") as run:
        run.log({"figure": runyard.Image(fig), "current": runyard.Image(plt)})
    plt.close(fig)
    r = api.run(f"media/{run.id}")
    (row,) = r.scan_history()
    for key in ("figure", "current"):
        ref = row[key]
        assert (ref["_type"], ref["format"], ref["width"], ref["height"]) == ("image-file", "png", 200, 150)
        data = r.file(ref["path"]).content()
        assert len(data) == ref["size"] and PILImage.open(io.BytesIO(data)).size == (200, 150)


def test_media_set_in_the_summary_are_stored(api) -> None:
    img = np.full((5, 6, 3), 9, dtype=np.uint8)
    with runyard.init(project="media") as run:
        run.log({"loss": 1.0})
        run.summary["best_example"] = runyard.Image(img, caption="best")
        run.summary.update({"final": runyard.Table(columns=["a"], data=[[1], [2]])})
    r = api.run(f"media/{run.id}")
    ref = r.summary["best_example"]
    assert ref["_type"] == "image-file" and ref["path"].startswith("media/images/best_example_summary_")
    assert ref["caption"] == "best"
    assert np.array_equal(_pixels(r, ref), img)
    assert r.table("final").data == [[1], [2]]
    assert [row["loss"] for row in r.scan_history()] == [1.0]
