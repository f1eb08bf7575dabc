"""Media logged by runyard's SDK to a real ``runyard server`` over HTTP, read back with ``runyard.Api``."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import pytest
from remote_server import ServerProcess, add_key, clean_env

import runyard
from runyard.store import Store

np = pytest.importorskip("numpy")
PILImage = pytest.importorskip("PIL.Image")

KEY = "m" * 40

TRAIN = """
import numpy as np, runyard
rng = np.random.default_rng(7)
with runyard.init(project="media", id="remote1") as run:
    for step in range(5):
        run.log({"img": runyard.Image(rng.integers(0, 256, (64, 48, 3), dtype=np.uint8)), "loss": 1 / (step + 1)})
    rows = [[i, i * 0.5, f"label{i % 3}"] for i in range(200_000)]
    run.log({"tbl": runyard.Table(columns=["i", "x", "label"], data=rows), "page": runyard.Html("<b>hi</b>")})
"""


def test_media_logged_to_a_server_read_back(store: Store, store_url: str, tmp_path: Path) -> None:
    add_key(store, KEY)
    server = ServerProcess(store_url, tmp_path).start()
    try:
        script = tmp_path / "train.py"
        script.write_text(TRAIN)
        proc = subprocess.run(
            [sys.executable, str(script)],
            cwd=tmp_path,
            env=clean_env(
                RUNYARD_DIR=str(tmp_path / "client"),
                RUNYARD_SILENT="1",
                RUNYARD_BASE_URL=server.url,
                RUNYARD_API_KEY=KEY,
            ),
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert proc.returncode == 0, proc.stderr
    finally:
        server.stop()
    api = runyard.Api(store_url=store_url)
    try:
        (run,) = [r for r in api.runs("media") if r.id == "remote1"]
        rows = list(run.scan_history())
        assert len(rows) == 6
        rng = np.random.default_rng(7)
        for row in rows[:5]:
            ref = row["img"]
            pixels = np.asarray(PILImage.open(io.BytesIO(run.file(ref["path"]).content())))
            assert np.array_equal(pixels, rng.integers(0, 256, (64, 48, 3), dtype=np.uint8))
        assert rows[5]["tbl"]["nrows"] == 200_000
        table = run.table("tbl")
        assert len(table.data) == 200_000 and table.data[-1] == [199_999, 99_999.5, "label1"]
        assert run.file(rows[5]["page"]["path"]).content() == b"<b>hi</b>"
    finally:
        api.close()
