"""Run files from late or hostile clients: an upload after the end keeps the run as it ended, and no file
name a client sends can make a reader write outside the folder it downloads into.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import httpx
import pytest
from wandb_clients import ENTITY, KEY, LATEST, OLDER, LiveServer, last_line, ok

from runyard.records import KIND_EXIT, KIND_ROW, KIND_START

_CREATE_FILES = """mutation CreateRunFiles($entity: String!, $project: String!, $run: String!, $files: [String!]!) {
  createRunFiles(input: {entityName: $entity, projectName: $project, runName: $run, files: $files}) {
    runID files { name uploadUrl } } }"""


def _seed_ended(server: LiveServer, project: str, run_id: str, state: str, exit_code: int) -> None:
    """A run that ended long ago, stored as the runyard SDK stores one: no client session on the server."""
    start = {
        "session": f"s-{uuid.uuid4().hex}",
        "run_id": run_id,
        "project": project,
        "entity": ENTITY,
        "name": "ended",
        "notes": None,
        "tags": [],
        "group": None,
        "job_type": None,
        "config": {},
        "created_at": 1.0,
        "started_at": 1.0,
        "resumed": False,
        "start_step": 0,
        "runtime_offset": 0.0,
        "host": "h",
        "pid": 1,
        "username": ENTITY,
        "program": "p.py",
        "mode": "online",
    }
    server.store.ingest(
        [
            [1, KIND_START, start],
            [2, KIND_ROW, {"_step": 0, "_runtime": 1.0, "_timestamp": 2.0, "acc": 0.5}],
            [3, KIND_EXIT, {"exit_code": exit_code, "state": state, "t": 3.0, "runtime": 2.0}],
        ]
    )


def test_an_upload_after_the_end_keeps_the_run_as_it_ended(server: LiveServer, project: str, tmp_path: Path) -> None:
    store = server.store
    _seed_ended(server, project, "old1", "failed", 3)
    path = f"{ENTITY}/{project}/old1"
    result = ok(server.run_client(LATEST, "upload_file", path, "late.txt", "written later", tmp_path=tmp_path))
    assert last_line(result, "UPLOADED") == "late.txt"
    run = store.get_run(ENTITY, project, "old1")
    assert (run.state, run.exit_code, run.finished_at) == ("failed", 3, 3.0)
    assert store.file_content(ENTITY, project, "old1", "late.txt") == b"written later"

    # A run the wandb client logged and finished itself, then given one more file.
    first = ok(server.run_client(LATEST, "basic", project, "0", tmp_path=tmp_path))
    run_id = last_line(first, "RUN_ID")
    ended = store.get_run(ENTITY, project, run_id)
    assert (ended.state, ended.exit_code) == ("finished", 0)
    ok(server.run_client(LATEST, "upload_file", f"{ENTITY}/{project}/{run_id}", "model.txt", "w", tmp_path=tmp_path))
    run = store.get_run(ENTITY, project, run_id)
    assert (run.state, run.exit_code, run.finished_at) == ("finished", 0, ended.finished_at)
    assert store.file_content(ENTITY, project, run_id, "model.txt") == b"w"


def _hostile_names(tag: str) -> list[str]:
    return [
        "../../escaped.txt",
        f"/tmp/runyard-abs-{tag}.txt",
        "..\\..\\backslash.txt",
        "%2e%2e/%2e%2e/percent.txt",
        "a/../../../dotdot.txt",
        "nul\x00byte.txt",
        "C:\\drive.txt",
        ". ./. ./dots.txt",
        "fine/inner.txt",
    ]


@pytest.mark.parametrize("version", [LATEST, OLDER[-1]])
def test_hostile_file_names_stay_inside_the_download_folder(
    server: LiveServer, project: str, tmp_path: Path, version: str
) -> None:
    store = server.store
    _seed_ended(server, project, "bad1", "finished", 0)
    tag = uuid.uuid4().hex[:8]
    names = _hostile_names(tag)
    # A hostile client asks for upload URLs under those names, and uploads.
    answer = httpx.post(
        f"{server.url}/graphql",
        json={
            "query": _CREATE_FILES,
            "variables": {"entity": ENTITY, "project": project, "run": "bad1", "files": names},
        },
        auth=("api", KEY),
        timeout=30,
    )
    files = answer.json()["data"]["createRunFiles"]["files"]
    for i, entry in enumerate(files):
        assert httpx.put(entry["uploadUrl"], content=f"content {i}".encode(), timeout=30).status_code == 200
    run = store.get_run(ENTITY, project, "bad1")
    assert (run.state, run.exit_code) == ("finished", 0)  # the uploads did not reopen it either

    stored = {f.name for f in store.files(ENTITY, project, "bad1")} - {"config.yaml", "runyard-summary.json"}
    assert stored == {
        "__/__/escaped.txt",
        f"tmp/runyard-abs-{tag}.txt",
        "__/__/backslash.txt",
        "__/__/percent.txt",
        "a/__/__/__/dotdot.txt",
        "nul_byte.txt",
        "C_/drive.txt",
        "___/___/dots.txt",
        "fine/inner.txt",
    }
    # Each is found under the name it was sent with, too.
    assert store.file_content(ENTITY, project, "bad1", "../../escaped.txt") == b"content 0"

    # Downloading everything, with this wandb client and with runyard.Api(), writes inside the folder only.
    outside = tmp_path / "downloads"
    root = outside / "a" / "b" / "root"
    root.mkdir(parents=True)
    result = ok(server.run_client(version, "download_all", f"{ENTITY}/{project}/bad1", str(root), tmp_path=tmp_path))
    outcome = json.loads(last_line(result, "RESULT"))
    assert all(v == "downloaded" for v in outcome.values()), outcome
    assert set(outcome) >= stored
    from runyard.api import Api

    with Api(store_url=server.store_url) as api:
        mine = root.parent / "runyard-root"
        for f in api.run(f"{ENTITY}/{project}/bad1").files():
            f.download(root=str(mine), replace=True).close()
    written = [p for p in outside.rglob("*") if p.is_file()]
    assert written and all(root in p.parents or mine in p.parents for p in written), written
    assert (root / "__" / "__" / "escaped.txt").read_bytes() == b"content 0"
    assert (mine / "__" / "__" / "escaped.txt").read_bytes() == b"content 0"
    assert not Path(f"/tmp/runyard-abs-{tag}.txt").exists()
    assert not list(tmp_path.glob("*escaped*")) and not list((tmp_path / "downloads").glob("*.txt"))

    # The REST API lists the same safe names.
    listed = httpx.get(f"{server.url}/api/v1/runs/{ENTITY}/{project}/bad1/files", timeout=30).json()["files"]
    assert {f["name"] for f in listed} >= stored
