"""Artifacts through the real wandb client: logged into runyard's artifact room (files content-addressed in the
blob store), used and downloaded, read back by ``wandb.Api()``; versions and aliases agree with runyard's SDK.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

import httpx
import pytest
from test_wandb_media import EXPECTED_TYPES, _client_env
from wandb_clients import ENTITY, KEY, LATEST, OLDER, LiveServer, last_line, ok


@pytest.mark.parametrize(
    ("backend", "version"), [("sqlite", LATEST), ("postgresql", LATEST), *(("sqlite", v) for v in OLDER)]
)
def test_log_use_and_download_through_the_client(
    request: pytest.FixtureRequest, backend: str, version: str, project: str, tmp_path: Path
) -> None:
    blob_server: LiveServer = request.getfixturevalue("blob_server" if backend == "sqlite" else "pg_blob_server")
    result = ok(blob_server.run_client(version, "artifact_log", project, tmp_path=tmp_path, timeout=180))
    run_id = last_line(result, "RUN_ID")
    user_id = last_line(result, "USER_ID")
    assert last_line(result, "VERSION") == "v0"
    assert last_line(result, "DOWNLOADED") == "[('data.csv', 8), ('ref.txt', 17), ('sub/weights.bin', 6291579)]"
    store = blob_server.store
    run = store.get_run(ENTITY, project, run_id)
    assert run is not None and run.state == "finished" and run.exit_code == 0
    version = store.artifacts.get("model:v0", ENTITY, project)
    assert version.type == "model" and version.description == "a model" and version.metadata == {"epochs": 3}
    assert set(version.aliases) == {"best"}  # latest moved to v1, the draft logged at the end
    assert version.run_id == run_id
    files = {f.path: f for f in store.artifacts.files(version)}
    assert sorted(files) == ["data.csv", "ref.txt", "sub/weights.bin"]
    # A reference is kept as one: its bytes were never copied.
    assert files["ref.txt"].blob_key is None and (files["ref.txt"].ref or "").startswith("file://")
    csv = files["data.csv"]
    assert csv.digest == hashlib.sha256(b"a,b\n1,2\n").hexdigest() and csv.blob_key == csv.digest
    assert store.blobs.get(csv.blob_key) == b"a,b\n1,2\n"
    assert files["sub/weights.bin"].size == 6 * 1024 * 1024 + 123
    assert [v.id for v in store.artifacts.run_artifacts(ENTITY, project, user_id, "used")] == [version.id]
    assert [v.id for v in store.artifacts.run_artifacts(ENTITY, project, run_id, "logged")] == [version.id]

    # The draft of v0 with one file more is v1; its unchanged files are v0's blobs.
    assert last_line(result, "INCREMENTAL") == "v1"
    v1 = {f.path: f for f in store.artifacts.files(store.artifacts.get("model:v1", ENTITY, project))}
    assert sorted(v1) == ["data.csv", "extra.txt", "ref.txt", "sub/weights.bin"]
    assert v1["sub/weights.bin"].blob_key == files["sub/weights.bin"].blob_key
    assert set(store.artifacts.get("model:latest", ENTITY, project).aliases) == {"latest"}

    # The file URLs the client is handed answer ranged GETs (its parallel download of large files).
    query = (
        "query Files($p: String!, $e: String!) { project(name: $p, entityName: $e) { artifactCollection(name: "
        '"model") { artifactMembership(aliasName: "best") { files { edges { node { name directUrl } } } } } } }'
    )
    body = {"query": query, "variables": {"p": project, "e": ENTITY}}
    answer = httpx.post(f"{blob_server.url}/graphql", json=body, auth=("api", KEY), timeout=30).json()
    edges = answer["data"]["project"]["artifactCollection"]["artifactMembership"]["files"]["edges"]
    url = next(e["node"]["directUrl"] for e in edges if e["node"]["name"] == "sub/weights.bin")
    whole = httpx.get(url, timeout=30)
    assert whole.status_code == 200 and len(whole.content) == 6 * 1024 * 1024 + 123
    part = httpx.get(url, headers={"Range": "bytes=1000-1999999"}, timeout=30)
    assert part.status_code == 206 and part.content == whole.content[1000:2_000_000]
    assert part.headers["content-range"] == f"bytes 1000-1999999/{len(whole.content)}"
    tail = httpx.get(url, headers={"Range": "bytes=6291000-"}, timeout=30)
    assert tail.status_code == 206 and tail.content == whole.content[6291000:]
    assert httpx.get(url.replace("/wandb/artifacts/", "/wandb/artifacts/x"), timeout=30).status_code == 403


@pytest.mark.parametrize("version", [LATEST, *OLDER])
def test_versions_and_aliases_agree_with_runyards_sdk(
    blob_server: LiveServer, project: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, version: str
) -> None:
    import runyard

    for name in list(os.environ):
        if name.startswith(("RUNYARD_", "WANDB_")):
            monkeypatch.delenv(name)
    monkeypatch.setenv("RUNYARD_DIR", str(tmp_path / "runyard-dir"))
    monkeypatch.setenv("RUNYARD_STORE_URL", blob_server.store_url)
    monkeypatch.setenv("RUNYARD_SILENT", "true")
    (tmp_path / "table.csv").write_text("k,v\n1,2\n")
    with runyard.init(project=project, entity=ENTITY) as run:
        artifact = runyard.Artifact("shared", type="dataset")
        artifact.add_file(str(tmp_path / "table.csv"))
        run.log_artifact(artifact, aliases=["prod"]).wait()
        sdk_run_id = run.id

    result = ok(blob_server.run_client(version, "artifact_api", ENTITY, project, tmp_path=tmp_path, timeout=180))
    assert last_line(result, "FIRST") == "v0 ['latest', 'prod'] dataset"
    assert last_line(result, "CONTENT") == repr("k,v\n1,2\n")
    assert last_line(result, "VERSIONS") == "['v0', 'v1']"
    assert last_line(result, "TYPES") == "['dataset']"
    assert last_line(result, "COLLECTIONS") == "['shared']"
    assert last_line(result, "COLLECTION") == "shared"
    assert last_line(result, "LOGGED") == "['shared:v1']"
    assert last_line(result, "USED") == "['shared:v0']"
    assert last_line(result, "LATEST") == "v1 ['candidate', 'latest']"

    assert last_line(result, "DEDUP") == "v0"
    assert last_line(result, "MAKER") == sdk_run_id
    assert last_line(result, "USERS") == f"[{last_line(result, 'RUN_ID')!r}]"
    clash = last_line(result, "CLASH")
    assert "dataset" in clash and "model" in clash, clash
    assert [v.version for v in blob_server.store.artifacts.versions(ENTITY, project, "shared")] == ["v1", "v0"]

    assert last_line(result, "EDITED") == "['production']"

    # And runyard's API reads what the wandb client logged (and edited).
    api = runyard.Api()
    v1 = api.artifact(f"{ENTITY}/{project}/shared:production")
    assert v1.version == "v1" and set(v1.aliases) == {"production"}  # latest moved to v0, logged again
    assert v1.description == "edited"
    assert Path(v1.download(root=str(tmp_path / "ry"))).joinpath("new.txt").read_text() == "second version\n"
    assert set(api.artifact(f"{ENTITY}/{project}/shared:v0").aliases) == {"prod", "latest"}


@pytest.mark.parametrize("version", OLDER)
def test_older_clients_tables_finish_and_show(
    blob_server: LiveServer, project: str, tmp_path: Path, version: str
) -> None:
    # wandb before 0.31 saves each logged Table in a `run_table` artifact as well as in the run's files.
    env = _client_env(version)
    result = ok(blob_server.run_client(version, "media", project, "3", tmp_path=tmp_path, timeout=180, env=env))
    run_id = last_line(result, "RUN_ID")
    store = blob_server.store
    run = store.get_run(ENTITY, project, run_id)
    assert run is not None and run.state == "finished" and run.exit_code == 0
    tables = [c for c in store.artifacts.collections(ENTITY, project) if c.type == "run_table"]
    assert tables, "no run_table artifact was stored"
    assert {c.name for c in tables} >= {f"run-{run_id}-samples", f"run-{run_id}-confusion_table"}
    assert store.media.keys(ENTITY, project) == EXPECTED_TYPES
    # The history's table-file refs point at the run's copy of the table: the media panel reads it.
    samples = next(r["samples"] for r in store.history(ENTITY, project, run_id, keys=["samples"]))
    page = httpx.get(
        f"{blob_server.url}/api/v1/runs/{ENTITY}/{project}/{run_id}/media/table",
        params={"path": samples["path"], "limit": 5},
        timeout=30,
    ).json()
    assert page["columns"] == ["id", "label", "score", "image"] and page["total"] == 20
    # The artifact holds the table too (its image cells name the artifact's own copies).
    version = store.artifacts.get(f"run-{run_id}-samples:latest", ENTITY, project)
    entry = next(f for f in store.artifacts.files(version) if f.path == "samples.table.json")
    table = json.loads(store.artifacts.blobs.get(entry.blob_key or ""))
    assert table["columns"] == ["id", "label", "score", "image"] and len(table["data"]) == 20


def test_a_file_over_the_multipart_threshold(blob_server: LiveServer, project: str, tmp_path: Path) -> None:
    # wandb uploads files of 2 GiB and more in parts where the server hands out part URLs; runyard hands out one
    # upload URL, and the client PUTs the file whole.
    if os.environ.get("RUNYARD_TEST_LARGE_FILES") != "1":
        pytest.skip("writes about 6 GiB and takes a minute: set RUNYARD_TEST_LARGE_FILES=1 to run it")
    size = 2 * 1024**3 + 7
    if shutil.disk_usage(tmp_path).free < 4 * size:
        pytest.skip("needs about 9 GiB of free disk (the file, its upload's spool and its blob)")
    result = ok(blob_server.run_client(LATEST, "artifact_large", project, str(size), tmp_path=tmp_path, timeout=600))
    assert last_line(result, "VERSION") == "v0"
    version = blob_server.store.artifacts.get("large:v0", ENTITY, project)
    (entry,) = blob_server.store.artifacts.files(version)
    assert entry.size == size
    zeros = hashlib.sha256()
    for _ in range(2 * 1024):
        zeros.update(bytes(1024**2))
    zeros.update(bytes(7))
    assert entry.blob_key == zeros.hexdigest()
