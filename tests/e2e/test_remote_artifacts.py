"""Artifacts from runyard's SDK to a real ``runyard server`` process, on SQLite and PostgreSQL stores: files
uploaded to the ingest API (unchanged ones never sent again), versions committed from the run log, used and
downloaded by another run, and a wrong key refused with nothing lost."""

from __future__ import annotations

import getpass
import hashlib
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from remote_server import ServerProcess, add_key, clean_env

import runyard
from runyard.store import Store

ENTITY = getpass.getuser()
KEY = "e" * 40

LOGS = """
import os, runyard
run = runyard.init(project="p", id=os.environ["RUN_ID"])
for step in range(50):
    run.log({"x": step})
art = runyard.Artifact("ckpt", "model", metadata={"epoch": int(os.environ["EPOCH"])})
art.add_file("model.bin")
art.add_file("notes.txt")
run.log_artifact(art, aliases=["best"])
run.log({"x": 50})
run.finish()
print(art.version, art._pending.new_bytes, flush=True)
"""

USES = """
import runyard
run = runyard.init(project="p", id="user")
art = run.use_artifact("ckpt:best", type="model")
folder = art.download()
art.verify()
print(art.version, folder, art.metadata["epoch"], flush=True)
run.finish()
"""


OFFLINE = """
import runyard
run = runyard.init(project="p", id="off", mode="offline")
run.log({"x": 1})
art = runyard.Artifact("ckpt", "model")
art.add_file("model.bin")
run.log_artifact(art, aliases=["offline"])
run.finish()
"""


@pytest.fixture
def server_store(store_url: str, tmp_path: Path) -> Iterator[Store]:
    """The server's store, with a blob folder it records (so `runyard server` keeps artifact files there)."""
    opened = Store.open(store_url, blobs=str(tmp_path / "server-blobs"))
    add_key(opened, KEY)
    try:
        yield opened
    finally:
        opened.close()


@pytest.fixture
def server(server_store: Store, store_url: str, tmp_path: Path) -> Iterator[ServerProcess]:
    started = ServerProcess(store_url, tmp_path).start()
    yield started
    started.stop()


def train(code: str, folder: Path, url: str, key: str = KEY, **env: str) -> subprocess.CompletedProcess[str]:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "train.py").write_text(code)
    return subprocess.run(
        [sys.executable, "train.py"],
        cwd=folder,
        env=clean_env(
            **{
                "RUNYARD_DIR": str(folder / "client"),
                "RUNYARD_SILENT": "1",
                "RUNYARD_BASE_URL": url,
                "RUNYARD_API_KEY": key,
                **env,
            }
        ),
        capture_output=True,
        text=True,
        timeout=180,
    )


def write_files(folder: Path, notes: str) -> bytes:
    folder.mkdir(parents=True, exist_ok=True)
    model = hashlib.sha256(b"weights").digest() * 40_000  # 1.28 MB
    (folder / "model.bin").write_bytes(model)
    (folder / "notes.txt").write_text(notes)
    return model


def test_artifacts_go_to_the_server_and_unchanged_files_are_not_sent_again(
    server_store: Store, server: ServerProcess, tmp_path: Path
) -> None:
    work = tmp_path / "work"
    model = write_files(work, "first")
    first = train(LOGS, work, server.url, RUN_ID="r1", EPOCH="1")
    assert first.returncode == 0, first.stderr
    assert first.stdout.split() == ["v0", str(len(model) + len("first"))]

    with runyard.Api(store_url=server.store_url) as api:
        found = api.artifact(f"{ENTITY}/p/ckpt:best")
        assert found.version == "v0" and found.type == "model" and found.metadata == {"epoch": 1}
        assert sorted(e.path for e in found.files()) == ["model.bin", "notes.txt"]
        assert found.logged_by() == "r1"
        assert api.run(f"{ENTITY}/p/r1").state == "finished"
    assert server_store.series(ENTITY, "p", "r1", "x")[0] == list(range(51))  # the run's rows all arrived

    # The same checkpoint with new notes: only the notes travel.
    (work / "notes.txt").write_text("second")
    second = train(LOGS, work, server.url, RUN_ID="r2", EPOCH="2")
    assert second.returncode == 0, second.stderr
    assert second.stdout.split() == ["v1", str(len("second"))]

    used = train(USES, tmp_path / "user", server.url)
    assert used.returncode == 0, used.stderr
    version, folder, epoch = used.stdout.split()
    assert (version, epoch) == ("v1", "2")
    downloaded = tmp_path / "user" / folder
    assert (downloaded / "model.bin").read_bytes() == model
    assert (downloaded / "notes.txt").read_text() == "second"
    with runyard.Api(store_url=server.store_url) as api:
        assert [a.name for a in api.run(f"{ENTITY}/p/user").used_artifacts()] == ["ckpt:v1"]


def test_the_blob_route_checks_key_content_and_answers_what_it_holds(server: ServerProcess) -> None:
    content = b"some checkpoint bytes"
    key = hashlib.sha256(content).hexdigest()
    url = f"{server.url}/api/v1/ingest/blobs/{key}"
    auth = {"Authorization": f"Bearer {KEY}"}
    assert httpx.head(url, headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert httpx.put(url, content=content, headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert httpx.head(url, headers=auth).status_code == 404
    bad = httpx.put(url, content=b"other bytes", headers=auth)
    assert bad.status_code == 400 and "SHA-256" in bad.json()["error"]["message"]
    assert httpx.head(url, headers=auth).status_code == 404  # nothing stored under a wrong key
    put = httpx.put(url, content=content, headers=auth)
    assert put.status_code == 200 and put.json()["stored"] == len(content)
    again = httpx.put(url, content=content, headers=auth)
    assert again.status_code == 200 and again.json()["stored"] == 0
    assert httpx.head(url, headers=auth).status_code == 200
    assert httpx.get(url, headers=auth).content == content


def test_a_wrong_key_is_a_clear_error_and_loses_no_row(
    server_store: Store, server: ServerProcess, tmp_path: Path
) -> None:
    work = tmp_path / "work"
    write_files(work, "first")
    script = LOGS.replace('id=os.environ["RUN_ID"]', "").replace("print(art.version", "print(run.id")
    wrong = train(script, work, server.url, key="wrong", EPOCH="1", RUNYARD_SILENT="0")
    assert wrong.returncode == 0, wrong.stderr  # the training script is not failed for it
    assert "artifact ckpt was not stored" in wrong.stderr and "refused the API key" in wrong.stderr
    assert f"runyard login {server.url}" in wrong.stderr
    assert server_store.artifacts.version(ENTITY, "p", "ckpt") is None
    # The rows stay in the run log; synced with a good key, they all arrive.
    synced = subprocess.run(
        [sys.executable, "-m", "runyard.cli", "sync"],
        cwd=work,
        env=clean_env(RUNYARD_DIR=str(work / "client"), RUNYARD_BASE_URL=server.url, RUNYARD_API_KEY=KEY),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert synced.returncode == 0, synced.stderr
    [run] = server_store.list_runs(ENTITY, "p")
    assert server_store.series(ENTITY, "p", run.run_id, "x")[0] == list(range(51))


def test_an_offline_run_keeps_its_artifact_files_and_sync_sends_them(
    server_store: Store, server: ServerProcess, tmp_path: Path
) -> None:
    work = tmp_path / "work"
    model = write_files(work, "notes")
    offline = train(OFFLINE, work, server.url)
    assert offline.returncode == 0, offline.stderr
    kept = [p for p in (work / "client").rglob("*") if p.is_file() and ".rylog.blobs" in str(p)]
    assert [p.read_bytes() for p in kept] == [model]  # kept by content beside the run log, for sync
    assert server_store.artifacts.version(ENTITY, "p", "ckpt") is None

    synced = subprocess.run(
        [sys.executable, "-m", "runyard.cli", "sync"],
        cwd=work,
        env=clean_env(RUNYARD_DIR=str(work / "client"), RUNYARD_BASE_URL=server.url, RUNYARD_API_KEY=KEY),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert synced.returncode == 0, synced.stderr
    version = server_store.artifacts.version(ENTITY, "p", "ckpt", "offline")
    assert version is not None and version.run_id == "off"
    [entry] = server_store.artifacts.files(version)
    assert entry.blob_key is not None and server_store.artifacts.blobs.get(entry.blob_key) == model


def test_an_offline_run_synced_into_a_local_store_stores_its_artifact(tmp_path: Path) -> None:
    work = tmp_path / "work"
    model = write_files(work, "notes")
    offline = train(OFFLINE, work, "")
    assert offline.returncode == 0, offline.stderr
    env = clean_env(RUNYARD_DIR=str(work / "client"))
    synced = subprocess.run(
        [sys.executable, "-m", "runyard.cli", "sync"], cwd=work, env=env, capture_output=True, text=True, timeout=120
    )
    assert synced.returncode == 0, synced.stderr
    [db] = (work / "client").rglob("*.db")
    with runyard.Api(store_url=f"sqlite:///{db}") as api:
        found = api.artifact(f"{ENTITY}/p/ckpt:offline")
        folder = Path(found.download(root=str(tmp_path / "down")))
        assert (folder / "model.bin").read_bytes() == model
