"""Artifacts through the real wandb client: logged into runyard's artifact room (files content-addressed in the
blob store), used and downloaded, read back by ``wandb.Api()``; versions and aliases agree with runyard's SDK.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest
from wandb_clients import ENTITY, LATEST, LiveServer, last_line, ok


def test_log_use_and_download_through_the_client(blob_server: LiveServer, project: str, tmp_path: Path) -> None:
    result = ok(blob_server.run_client(LATEST, "artifact_log", project, tmp_path=tmp_path, timeout=180))
    run_id = last_line(result, "RUN_ID")
    user_id = last_line(result, "USER_ID")
    assert last_line(result, "VERSION") == "v0"
    assert last_line(result, "DOWNLOADED") == "[('data.csv', 8), ('sub/weights.bin', 6291579)]"
    store = blob_server.store
    run = store.get_run(ENTITY, project, run_id)
    assert run is not None and run.state == "finished" and run.exit_code == 0
    version = store.artifacts.get("model:v0", ENTITY, project)
    assert version.type == "model" and version.description == "a model" and version.metadata == {"epochs": 3}
    assert set(version.aliases) == {"latest", "best"}
    assert version.run_id == run_id
    files = {f.path: f for f in store.artifacts.files(version)}
    assert sorted(files) == ["data.csv", "sub/weights.bin"]
    csv = files["data.csv"]
    assert csv.digest == hashlib.sha256(b"a,b\n1,2\n").hexdigest() and csv.blob_key == csv.digest
    assert store.blobs.get(csv.blob_key) == b"a,b\n1,2\n"
    assert files["sub/weights.bin"].size == 6 * 1024 * 1024 + 123
    assert [v.id for v in store.artifacts.run_artifacts(ENTITY, project, user_id, "used")] == [version.id]
    assert [v.id for v in store.artifacts.run_artifacts(ENTITY, project, run_id, "logged")] == [version.id]


def test_versions_and_aliases_agree_with_runyards_sdk(
    blob_server: LiveServer, project: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
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

    result = ok(blob_server.run_client(LATEST, "artifact_api", ENTITY, project, tmp_path=tmp_path, timeout=180))
    assert last_line(result, "FIRST") == "v0 ['latest', 'prod'] dataset"
    assert last_line(result, "CONTENT") == repr("k,v\n1,2\n")
    assert last_line(result, "VERSIONS") == "['v0', 'v1']"
    assert last_line(result, "TYPES") == "['dataset']"
    assert last_line(result, "LOGGED") == "['shared:v1']"
    assert last_line(result, "USED") == "['shared:v0']"
    assert last_line(result, "LATEST") == "v1 ['candidate', 'latest']"

    # And runyard's API reads what the wandb client logged.
    api = runyard.Api()
    v1 = api.artifact(f"{ENTITY}/{project}/shared:candidate")
    assert v1.version == "v1" and set(v1.aliases) == {"candidate", "latest"}
    assert Path(v1.download(root=str(tmp_path / "ry"))).joinpath("new.txt").read_text() == "second version\n"
    assert set(api.artifact(f"{ENTITY}/{project}/shared:v0").aliases) == {"prod"}
