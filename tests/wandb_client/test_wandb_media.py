"""Media logged by the real wandb client: stored as W&B references (never flattened), listed as media keys,
served to the web app's panels, and read back by ``wandb.Api()`` with their files' bytes.

The scenario needs numpy and Pillow beside the client (``scripts/install-wandb-clients`` installs them); a
folder holding them can also be given with ``RUNYARD_TEST_CLIENT_PATH`` (put on the client's PYTHONPATH).
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import httpx
import pytest
from wandb_clients import ENTITY, VERSIONS, LiveServer, client_python, last_line, ok

TABLE_KEYS = {
    "samples",
    "line_plot_table",
    "scatter_plot_table",
    "bar_plot_table",
    "hist_plot_table",
    "series_plot_table",
    "confusion_table",
}
EXPECTED_TYPES = {
    "img": "image-file",
    "grid": "images/separated",
    "weights": "histogram",
    "samples": "table-file",
    "line_plot_table": "table-file",
    "scatter_plot_table": "table-file",
    "bar_plot_table": "table-file",
    "hist_plot_table": "table-file",
    "series_plot_table": "table-file",
    "confusion_table": "table-file",
    "page": "html-file",
    "sound": "audio-file",
    "clip": "video-file",
}


def _client_env(version: str) -> dict[str, str]:
    extra = os.environ.get("RUNYARD_TEST_CLIENT_PATH", "")
    env = {"PYTHONPATH": extra} if extra else {}
    probe = subprocess.run(
        [str(client_python(version)), "-c", "import numpy, PIL"], env={**os.environ, **env}, capture_output=True
    )
    if probe.returncode != 0:
        pytest.skip(f"wandb {version}'s environment lacks numpy or Pillow: run scripts/install-wandb-clients")
    return env


def _log_media(server: LiveServer, version: str, project: str, tmp_path: Path) -> tuple[str, dict[str, str]]:
    env = _client_env(version)
    # Before 0.31 the client saves a logged table as an artifact too, which a server without blobs refuses
    # (test_wandb_artifacts.py logs them to one with blobs).
    flags = () if version == VERSIONS[0] else ("3", "--no-tables")
    result = ok(server.run_client(version, "media", project, *flags, tmp_path=tmp_path, timeout=150, env=env))
    return last_line(result, "RUN_ID"), env


@pytest.mark.parametrize("version", VERSIONS)
def test_wandb_media_is_stored_as_references(server: LiveServer, project: str, tmp_path: Path, version: str) -> None:
    run_id, _ = _log_media(server, version, project, tmp_path)
    store = server.store
    keys = store.history_keys(ENTITY, project, run_id)
    assert not [k for k in keys if "._type" in k or k.endswith((".path", ".sha256"))], keys
    expected = (
        EXPECTED_TYPES if version == VERSIONS[0] else {k: v for k, v in EXPECTED_TYPES.items() if k not in TABLE_KEYS}
    )
    assert store.media.keys(ENTITY, project) == expected
    rows = list(store.history(ENTITY, project, run_id, keys=["img"]))
    assert [row["_step"] for row in rows] == [0, 1, 2]
    img = rows[0]["img"]
    assert img["_type"] == "image-file" and img["width"] == 48 and img["height"] == 32
    assert img["caption"] == "step 0"
    png = store.file_content(ENTITY, project, run_id, img["path"])
    assert png is not None and png.startswith(b"\x89PNG") and len(png) == img["size"]
    if version != VERSIONS[0]:
        return
    visualize = store.get_run(ENTITY, project, run_id).config["_wandb"]["visualize"]
    assert visualize["line_plot"]["panel_config"]["panelDefId"] == "wandb/line/v0"
    assert visualize["confusion"]["panel_config"]["panelDefId"] == "wandb/confusion_matrix/v1"


def test_wandb_media_through_the_rest_api(server: LiveServer, project: str, tmp_path: Path) -> None:
    run_id, _ = _log_media(server, VERSIONS[0], project, tmp_path)
    api = f"{server.url}/api/v1"
    with httpx.Client(timeout=30) as http:
        listed = http.get(f"{api}/projects/{ENTITY}/{project}/media/keys").json()["keys"]
        assert {k["key"]: k["type"] for k in listed} == EXPECTED_TYPES
        at = http.get(f"{api}/projects/{ENTITY}/{project}/media/at", params={"key": "img", "runs": run_id, "step": 1})
        body = at.json()
        assert body["steps"] == [0, 1, 2] and body["step"] == 1
        assert body["items"][0]["value"]["caption"] == "step 1"
        image = http.get(f"{api}/runs/{ENTITY}/{project}/{run_id}/files/{body['items'][0]['value']['path']}")
        assert image.status_code == 200 and image.headers["content-type"] == "image/png"
        assert "max-age" in image.headers["cache-control"]
        hist = http.get(f"{api}/runs/{ENTITY}/{project}/{run_id}/media/histogram", params={"key": "weights"}).json()
        assert hist["steps"] == [0, 1, 2] and hist["bins"] == 64
        assert len(hist["values"]) == 3 * 64
        # Every histogram logged 1000 samples: the re-binned rows still hold them all.
        for row in range(3):
            assert sum(hist["values"][row * 64 : (row + 1) * 64]) == pytest.approx(1000, rel=1e-6)
        samples = next(r["samples"] for r in server.store.history(ENTITY, project, run_id, keys=["samples"]))
        page = http.get(
            f"{api}/runs/{ENTITY}/{project}/{run_id}/media/table",
            params={"path": samples["path"], "sort": "score", "desc": True, "limit": 5},
        ).json()
        assert page["columns"] == ["id", "label", "score", "image"] and page["total"] == 20
        assert [row[0] for row in page["rows"]] == [19, 18, 17, 16, 15]
        filtered = http.get(
            f"{api}/runs/{ENTITY}/{project}/{run_id}/media/table",
            params={"path": samples["path"], "q": "class-1", "limit": 100},
        ).json()
        assert filtered["total"] == 7 and all(row[1] == "class-1" for row in filtered["rows"])


@pytest.mark.parametrize("version", VERSIONS)
def test_wandb_api_reads_media_back(server: LiveServer, project: str, tmp_path: Path, version: str) -> None:
    run_id, _ = _log_media(server, VERSIONS[0], project, tmp_path)
    result = ok(
        server.run_client(version, "media_readback", f"{ENTITY}/{project}", run_id, tmp_path=tmp_path, timeout=120)
    )
    got = json.loads(last_line(result, "RESULT"))
    assert [row["_step"] for row in got["history_img"]] == [0, 1, 2]
    assert got["history_img"][2]["img"]["_type"] == "image-file"
    assert got["history_img"][2]["img"]["caption"] == "step 2"
    assert not [k for k in got["history_all_keys"] + got["scan_keys"] if "._type" in k or k.endswith(".path")]
    assert "img" in got["scan_keys"] and "samples" in got["scan_keys"]
    assert [row["weights"]["_type"] for row in got["scan_weights"]] == ["histogram"] * 3
    assert len(got["scan_weights"][0]["weights"]["values"]) == 64
    assert "line_plot" in got["visualize"] and "confusion" in got["visualize"]
    stored = server.store.file_content(ENTITY, project, run_id, got["img_path"])
    assert bytes.fromhex(got["img_bytes"]) == stored
