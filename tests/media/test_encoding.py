"""Images are encoded off the training thread: finish() waits for them, a crash loses no logged row."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import runyard

np = pytest.importorskip("numpy")


def test_finish_waits_for_every_encode(api) -> None:
    rng = np.random.default_rng(3)
    with runyard.init(project="media") as run:
        for step in range(40):
            run.log({"img": runyard.Image(rng.integers(0, 256, (128, 128, 3), dtype=np.uint8)), "step": step})
    r = api.run(f"media/{run.id}")
    names = {f.name for f in r.files()}
    rows = list(r.scan_history())
    assert len(rows) == 40
    assert {row["img"]["path"] for row in rows} <= names


def test_finish_says_when_it_waits(tmp_path: Path, child_env) -> None:
    script = tmp_path / "train.py"
    script.write_text(
        "import numpy as np, runyard\n"
        "rng = np.random.default_rng(0)\n"
        "run = runyard.init(project='media')\n"
        "for i in range(60):\n"
        "    run.log({'img': runyard.Image(rng.integers(0, 256, (256, 256, 3), dtype=np.uint8))})\n"
        "run.media_pending = run._media.pending\n"
        "print('pending', run.media_pending, flush=True)\n"
        "run.finish()\n"
    )
    env = {**child_env, "RUNYARD_SILENT": "false"}
    proc = subprocess.run([sys.executable, str(script)], env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    pending = int(proc.stdout.split()[-1])
    if pending == 0:
        pytest.skip("every image was encoded before finish(): nothing to wait for on this machine")
    assert "media file(s) to be encoded" in proc.stderr


CRASH = """
import os, signal, numpy as np, runyard
rng = np.random.default_rng(0)
run = runyard.init(project="media", id="crashed")
for step in range(30):
    run.log({"img": runyard.Image(rng.integers(0, 256, (512, 512, 3), dtype=np.uint8)), "step": step})
os.kill(os.getpid(), signal.SIGKILL)  # mid-encode: files still queued die with the process
"""


def test_a_crash_mid_encode_loses_no_logged_row(api, tmp_path: Path, child_env) -> None:
    script = tmp_path / "train.py"
    script.write_text(CRASH)
    env = {**child_env, "RUNYARD_CRASH_TIMEOUT": "1"}
    proc = subprocess.run([sys.executable, str(script)], env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == -9, proc.stderr
    sync = subprocess.run(
        [sys.executable, "-m", "runyard.cli", "sync", "--dir", os.environ["RUNYARD_DIR"]],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert sync.returncode == 0, sync.stderr
    r = api.run("media/crashed")
    rows = list(r.scan_history())
    assert [row["step"] for row in rows] == list(range(30))
    assert all(row["img"]["_type"] == "image-file" for row in rows)
    names = {f.name for f in r.files()}
    stored = [row for row in rows if row["img"]["path"] in names]
    # Files encoded before the kill are there, whole; the others are the only loss.
    for row in stored:
        assert r.file(row["img"]["path"]).content().startswith(b"\x89PNG")
