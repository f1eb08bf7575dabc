"""Audio, Video, Html, Object3D and Molecule: stored as files at their reference's path, bytes as given."""

from __future__ import annotations

import importlib.util
import io
import json
import wave
from pathlib import Path

import pytest

import runyard
from runyard.media import MediaDependencyError

np = pytest.importorskip("numpy")


def test_file_media_round_trip(api, tmp_path: Path) -> None:
    samples = np.sin(np.linspace(0, 440 * 2 * np.pi, 8000)).astype(np.float32)
    (tmp_path / "clip.gif").write_bytes(b"GIF89a fake video bytes")
    (tmp_path / "cube.obj").write_text("v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 3\n")
    (tmp_path / "water.pdb").write_text("ATOM      1  O   HOH A   1       0.000   0.000   0.000\nEND\n")
    (tmp_path / "page.html").write_text("<p>from a file</p>")
    points = np.array([[0, 0, 0], [1, 1, 1], [2, 0, 1]], dtype=np.float32)
    with runyard.init(project="media") as run:
        run.log(
            {
                "audio": runyard.Audio(samples, sample_rate=8000, caption="a tone"),
                "video": runyard.Video(str(tmp_path / "clip.gif"), caption="rollout"),
                "html": runyard.Html("<h1>report</h1>"),
                "html_file": runyard.Html(str(tmp_path / "page.html")),
                "cloud": runyard.Object3D(points),
                "mesh": runyard.Object3D(str(tmp_path / "cube.obj")),
                "mol": runyard.Molecule(str(tmp_path / "water.pdb")),
                "sounds": [
                    runyard.Audio(samples[:100], sample_rate=8000),
                    runyard.Audio(samples[:200], sample_rate=8000),
                ],
            }
        )
    r = api.run(f"media/{run.id}")
    (row,) = r.scan_history()
    kinds = {
        "audio": ("audio-file", "media/audio/audio_0_", ".wav"),
        "video": ("video-file", "media/videos/video_0_", ".gif"),
        "html": ("html-file", "media/html/html_0_", ".html"),
        "cloud": ("object3D-file", "media/object3D/cloud_0_", ".pts.json"),
        "mesh": ("object3D-file", "media/object3D/mesh_0_", ".obj"),
        "mol": ("molecule-file", "media/molecule/mol_0_", ".pdb"),
    }
    for key, (kind, prefix, suffix) in kinds.items():
        ref = row[key]
        assert ref["_type"] == kind, key
        assert ref["path"].startswith(prefix) and ref["path"].endswith(suffix), ref["path"]
        assert r.file(ref["path"]).size == ref["size"]
    with wave.open(io.BytesIO(r.file(row["audio"]["path"]).content())) as w:
        assert (w.getframerate(), w.getnframes(), w.getnchannels()) == (8000, 8000, 1)
    assert row["audio"]["caption"] == "a tone" and row["audio"]["sample_rate"] == 8000
    assert r.file(row["video"]["path"]).content() == b"GIF89a fake video bytes"
    assert r.file(row["html"]["path"]).content() == b"<h1>report</h1>"
    assert r.file(row["html_file"]["path"]).content() == b"<p>from a file</p>"
    assert json.loads(r.file(row["cloud"]["path"]).content()) == points.tolist()
    assert r.file(row["mol"]["path"]).content() == (tmp_path / "water.pdb").read_bytes()
    sounds = row["sounds"]
    assert sounds["_type"] == "audio" and sounds["count"] == 2 and sounds["sampleRates"] == [8000, 8000]
    assert all(r.file(a["path"]).size > 44 for a in sounds["audio"])


def test_file_media_input_errors(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="sample_rate"):
        runyard.Audio(np.zeros(10))
    with pytest.raises(ValueError, match="not a file"):
        runyard.Video(str(tmp_path / "missing.mp4"))
    (tmp_path / "x.txt").write_text("x")
    with pytest.raises(ValueError, match="not one of the file types"):
        runyard.Molecule(str(tmp_path / "x.txt"))
    with pytest.raises(ValueError, match="point cloud"):
        runyard.Object3D(np.zeros((4, 5)))
    with pytest.raises(ValueError, match="time, channels, height, width"):
        runyard.Video(np.zeros((2, 3, 4)))


@pytest.mark.skipif(importlib.util.find_spec("imageio") is not None, reason="imageio is installed")
def test_video_from_frames_without_imageio_names_the_extra() -> None:
    with pytest.raises(MediaDependencyError, match=r"pip install 'runyard\[media\]'"):
        runyard.Video(np.zeros((2, 3, 8, 8), dtype=np.uint8))
