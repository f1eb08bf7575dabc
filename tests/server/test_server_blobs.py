"""A server with blobs: uploads over the wandb protocol land in the blob folder and download back (REST and
wandb URLs), on SQLite and PostgreSQL; ``runyard server --blobs`` starts, records the location and serves."""

from __future__ import annotations

import hashlib
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn

from runyard.server import create_app
from runyard.server.deps import User
from runyard.server.serve import bind
from runyard.store import Store

KEY = "0123456789abcdef0123456789abcdef01234567"
ENTITY = "local"
PROJECT = "blobs"

_CREATE_FILES = """mutation CreateRunFiles($entity: String!, $project: String!, $run: String!, $files: [String!]!) {
  createRunFiles(input: {entityName: $entity, projectName: $project, runName: $run, files: $files}) {
    files { name uploadUrl } } }"""

_RUN_FILES = """query RunFiles($entity: String!, $project: String!, $run: String!, $names: [String]) {
  project(name: $project, entityName: $entity) { run(name: $run) {
    files(names: $names) { edges { node { name directUrl sizeBytes } } } } } }"""


@pytest.fixture
def blob_server(store_url: str, tmp_path: Path) -> Iterator[tuple[str, Store, Path]]:
    """A live server over a store whose run files go to ``tmp_path/blobs``: (URL, store, blob folder)."""
    folder = tmp_path / "blobs"
    store = Store.open(store_url, blobs=str(folder))
    store.create_api_key(ENTITY, "tests", key=KEY)
    sock = bind("127.0.0.1", 0)
    app = create_app(store, user=User(username=ENTITY, entity=ENTITY))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the server did not start"
        time.sleep(0.005)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}", store, folder
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()
        store.close()


def _graphql(url: str, query: str, variables: dict[str, object]) -> dict[str, object]:
    answer = httpx.post(f"{url}/graphql", json={"query": query, "variables": variables}, auth=("api", KEY), timeout=30)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert "errors" not in body, body
    data: dict[str, object] = body["data"]
    return data


def _upload_urls(url: str, run: str, names: list[str]) -> dict[str, str]:
    data = _graphql(url, _CREATE_FILES, {"entity": ENTITY, "project": PROJECT, "run": run, "files": names})
    files = data["createRunFiles"]["files"]  # type: ignore[index]
    return {f["name"]: f["uploadUrl"] for f in files}


def _in_folder(folder: Path, content: bytes) -> Path:
    key = hashlib.sha256(content).hexdigest()
    return folder / key[:2] / key[2:4] / key


def test_uploads_land_in_the_blob_folder_and_download_back(blob_server: tuple[str, Store, Path]) -> None:
    url, store, folder = blob_server
    weights = os.urandom(3 * 1024 * 1024) + b"end"  # several chunks, past the in-memory spool too
    notes = b"first notes\n"
    urls = _upload_urls(url, "r1", ["model.bin", "notes.txt", "copy.bin"])
    for name, content in (("model.bin", weights), ("notes.txt", notes), ("copy.bin", weights)):
        assert httpx.put(urls[name], content=content, timeout=60).status_code == 200

    # In the blob folder, once per content; the database row only names the blob.
    assert _in_folder(folder, weights).read_bytes() == weights
    assert _in_folder(folder, notes).read_bytes() == notes
    assert len([p for p in folder.rglob("*") if p.is_file()]) == 2
    with store.engine.connect() as conn:
        rows = conn.exec_driver_sql("SELECT name, content, blob_key, size FROM run_files ORDER BY name").fetchall()
    assert [(r[0], r[1], r[2], r[3]) for r in rows] == [
        ("copy.bin", None, hashlib.sha256(weights).hexdigest(), len(weights)),
        ("model.bin", None, hashlib.sha256(weights).hexdigest(), len(weights)),
        ("notes.txt", None, hashlib.sha256(notes).hexdigest(), len(notes)),
    ]

    # REST.
    rest = f"{url}/api/v1/runs/{ENTITY}/{PROJECT}/r1/files"
    listed = {f["name"]: f["size"] for f in httpx.get(rest, timeout=30).json()["files"]}
    assert listed["model.bin"] == len(weights) and listed["notes.txt"] == len(notes)
    assert httpx.get(f"{rest}/model.bin", timeout=60).content == weights
    assert httpx.get(f"{rest}/notes.txt", timeout=30).text == "first notes\n"

    # The wandb protocol: the file's download URL.
    variables = {"entity": ENTITY, "project": PROJECT, "run": "r1", "names": ["model.bin"]}
    data = _graphql(url, _RUN_FILES, variables)
    node = data["project"]["run"]["files"]["edges"][0]["node"]  # type: ignore[index]
    assert node["sizeBytes"] == len(weights)
    assert httpx.get(node["directUrl"], timeout=60).content == weights

    # A later upload of a name replaces it.
    again = _upload_urls(url, "r1", ["notes.txt"])
    assert httpx.put(again["notes.txt"], content=b"second notes\n", timeout=30).status_code == 200
    assert store.file_content(ENTITY, PROJECT, "r1", "notes.txt") == b"second notes\n"


def test_uploads_past_the_database_limit_are_streamed_to_blobs(blob_server: tuple[str, Store, Path]) -> None:
    from runyard.server.wandb.routes import MAX_BLOB_FILE_BYTES, MAX_FILE_BYTES

    url, store, folder = blob_server
    assert MAX_BLOB_FILE_BYTES > MAX_FILE_BYTES
    chunk = os.urandom(1024 * 1024)
    count = MAX_FILE_BYTES // len(chunk) + 1  # over what a server without blobs accepts
    put = _upload_urls(url, "r2", ["huge.bin"])["huge.bin"]
    sent = httpx.put(put, content=(chunk for _ in range(count)), timeout=120)  # chunked: no content-length
    assert sent.status_code == 200, sent.text
    digest = hashlib.sha256()
    for _ in range(count):
        digest.update(chunk)
    key = digest.hexdigest()
    assert (folder / key[:2] / key[2:4] / key).stat().st_size == count * len(chunk)
    assert [f.size for f in store.files(ENTITY, PROJECT, "r2") if f.name == "huge.bin"] == [count * len(chunk)]

    # Downloaded back streamed, with its length announced; checked chunk by chunk.
    rest = f"{url}/api/v1/runs/{ENTITY}/{PROJECT}/r2/files/huge.bin"
    back = hashlib.sha256()
    with httpx.stream("GET", rest, timeout=120) as got:
        assert got.status_code == 200 and got.headers["content-length"] == str(count * len(chunk))
        for part in got.iter_bytes():
            back.update(part)
    assert back.hexdigest() == key

    # A blob gone from the folder is an error answer before any byte, never a 200 cut short.
    (folder / key[:2] / key[2:4] / key).unlink()
    gone = httpx.get(rest, timeout=30)
    assert gone.status_code >= 400
    assert "huge.bin" in gone.json()["error"]["message"]


# -- runyard server --blobs, a real process ---------------------------------------------------------------------

_URL = re.compile(r"at (http://127\.0\.0\.1:\d+/)")


def _env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RUNYARD_", "WANDB_"))}
    env["RUNYARD_DIR"] = str(tmp_path)
    return env


def test_runyard_server_with_blobs(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path}/db/runyard.db"
    folder = tmp_path / "team-blobs"
    with Store.open(db) as made:  # `runyard server` has accounts: its keys belong to users
        made.accounts.create_user(ENTITY, None)
        made.create_api_key(ENTITY, "tests", key=KEY)
    proc = subprocess.Popen(
        [sys.executable, "-m", "runyard.cli", "server", "--db", db, "--blobs", str(folder), "--port", "0"],
        cwd=tmp_path,
        env=_env(tmp_path),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        seen: list[str] = []
        for line in proc.stdout:
            seen.append(line)
            if "run files are stored in" in line:
                break
        text = "".join(seen)
        found = _URL.search(text)
        assert found is not None and f"run files are stored in {folder.as_uri()}" in text, text
        url = found.group(1)
        key = KEY
        deadline = time.monotonic() + 20
        while True:  # the URL is printed as uvicorn starts listening
            try:
                assert httpx.get(url + "api/v1/health", timeout=10).json()["ok"] is True
                break
            except httpx.ConnectError:
                assert time.monotonic() < deadline, "the server did not answer"
                time.sleep(0.05)
        mutation = {
            "query": _CREATE_FILES,
            "variables": {"entity": ENTITY, "project": PROJECT, "run": "r1", "files": ["a.txt"]},
        }
        answer = httpx.post(url + "graphql", json=mutation, auth=("api", key), timeout=30).json()
        upload = answer["data"]["createRunFiles"]["files"][0]["uploadUrl"]
        assert httpx.put(upload, content=b"through the CLI", timeout=30).status_code == 200
        assert _in_folder(folder, b"through the CLI").read_bytes() == b"through the CLI"
        signed = {"Authorization": f"Bearer {KEY}"}
        user = httpx.get(url + "api/v1/projects", headers=signed, timeout=10).json()["projects"][0]["entity"]
        got = httpx.get(f"{url}api/v1/runs/{user}/{PROJECT}/r1/files/a.txt", headers=signed, timeout=10)
        assert got.content == b"through the CLI"
    finally:
        proc.send_signal(signal.SIGINT)
        assert proc.wait(10) == 0

    # The location is recorded: the store opened without it (runyard.Api(), the CLI) finds the file.
    with Store.open(db) as store:
        assert store.blobs is not None and store.blobs.url == folder.as_uri()
    # Another location for the same store is refused, saying both.
    other = subprocess.run(
        [sys.executable, "-m", "runyard.cli", "server", "--db", db, "--blobs", str(tmp_path / "other"), "--port", "0"],
        cwd=tmp_path,
        env=_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert other.returncode == 2
    assert folder.as_uri() in other.stderr and (tmp_path / "other").as_uri() in other.stderr


def test_unknown_blob_scheme_is_a_clear_error(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "runyard.cli", "server", "--db", f"sqlite:///{tmp_path}/x.db", "--blobs", "gs://b"],
        cwd=tmp_path,
        env=_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "unsupported blob location 'gs://b'" in done.stderr and "s3://" in done.stderr
