"""Bad media input: a clear error naming what was wrong, and nothing else lost."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import runyard

np = pytest.importorskip("numpy")


@pytest.mark.parametrize(
    ("data", "error", "message"),
    [
        (np.zeros((5, 5, 7), dtype=np.uint8), ValueError, r"shape \(5, 5, 7\) is not an image"),
        (np.zeros((2, 3, 4, 5), dtype=np.uint8), ValueError, r"shape \(2, 3, 4, 5\) is not an image"),
        (np.zeros(10, dtype=np.uint8), ValueError, r"shape \(10,\) is not an image"),
        (np.zeros((0, 5, 3), dtype=np.uint8), ValueError, "is empty"),
        (np.zeros((4, 4), dtype=np.complex64), TypeError, "complex64 is not an image"),
        (np.array([["a", "b"]]), TypeError, "is not an image"),
        (object(), TypeError, "cannot make an image of object"),
        ("no/such/file.png", ValueError, "is not a file"),
    ],
)
def test_bad_images_raise_clear_errors(data: object, error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        runyard.Image(data)


def test_mode_must_match_the_channels() -> None:
    with pytest.raises(ValueError, match="mode 'RGB' needs 3 channel"):
        runyard.Image(np.zeros((4, 4), dtype=np.uint8), mode="RGB")
    with pytest.raises(ValueError, match="mode must be one of"):
        runyard.Image(np.zeros((4, 4), dtype=np.uint8), mode="CMYK")


def test_bad_values_in_log_name_the_key_and_lose_nothing(api) -> None:
    img = np.zeros((4, 4, 3), dtype=np.uint8)
    with runyard.init(project="media") as run:
        run.log({"img": runyard.Image(img), "loss": 1.0})
        with pytest.raises(TypeError, match=r"'mixed'.*mixes Audio, Image"):
            run.log({"mixed": [runyard.Image(img), runyard.Audio(np.zeros(4), sample_rate=4)], "loss": 9.0})
        with pytest.raises(TypeError, match=r"'t'.*cannot be logged.*set"):
            run.log({"t": runyard.Table(columns=["a"], data=[[{1, 2}]]), "loss": 9.0})
        run.log({"img": runyard.Image(img), "loss": 2.0})
    r = api.run(f"media/{run.id}")
    rows = list(r.scan_history())
    assert [(row["_step"], row["loss"]) for row in rows] == [(0, 1.0), (1, 2.0)]
    assert all(r.file(row["img"]["path"]).size > 0 for row in rows)
    assert r.summary["loss"] == 2.0


MISSING_PILLOW = """
import sys
sys.modules["PIL"] = None  # as if Pillow were not installed
import numpy as np, runyard
from runyard.media import MediaDependencyError
with runyard.init(project="media", id="nopil") as run:
    run.log({{"ok": runyard.Image(np.zeros((4, 4, 3), dtype=np.uint8))}})  # arrays need no Pillow
    try:
        runyard.Image({jpg!r})
    except MediaDependencyError as exc:
        print("ERROR:", exc)
    run.log({{"after": 1}})
"""


def test_a_missing_pillow_names_the_extra_and_arrays_still_work(api, tmp_path: Path, child_env) -> None:
    pil = pytest.importorskip("PIL.Image")
    pil.fromarray(np.zeros((4, 4, 3), dtype=np.uint8)).save(tmp_path / "pic.jpg")
    script = tmp_path / "train.py"
    script.write_text(MISSING_PILLOW.format(jpg=str(tmp_path / "pic.jpg")))
    proc = subprocess.run([sys.executable, str(script)], env=child_env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "runyard.Image of a .jpg file needs the Pillow package" in proc.stdout
    assert "pip install 'runyard[media]'" in proc.stdout
    r = api.run("media/nopil")
    rows = list(r.scan_history())
    assert rows[0]["ok"]["_type"] == "image-file" and r.file(rows[0]["ok"]["path"]).size > 0
    assert rows[1]["after"] == 1
