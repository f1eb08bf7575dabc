"""Artifacts over the REST API, on a real server: project types and collections, versions, files, lineage."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from runyard.manifest_digest import manifest_digest
from runyard.server import create_app
from runyard.server.serve import bind
from runyard.store import Store


@pytest.fixture
def served(store_url: str, tmp_path: Path) -> Iterator[tuple[httpx.Client, Store]]:
    store = Store.open(store_url, blobs=str(tmp_path / "blobs"))
    sock = bind("127.0.0.1", 0)
    server = uvicorn.Server(uvicorn.Config(create_app(store), log_level="warning", access_log=False, lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the server did not start"
        time.sleep(0.005)
    with httpx.Client(base_url=f"http://127.0.0.1:{sock.getsockname()[1]}/api/v1", timeout=30) as client:
        yield client, store
    server.should_exit = True
    thread.join(10)
    sock.close()
    store.close()


def _session(store: Store, run_id: str, records: list[tuple[str, dict[str, Any]]]) -> None:
    start = {"session": uuid.uuid4().hex, "run_id": run_id, "project": "p", "entity": "e", "config": {}}
    store.ingest([[1, "start", start]] + [[i + 2, kind, body] for i, (kind, body) in enumerate(records)])


def test_artifacts_over_rest(served: tuple[httpx.Client, Store]) -> None:
    client, store = served
    content = b"weights " * 1000
    files = [["w.bin", store.artifacts.blobs.put(content), len(content), None], ["ext", "etag1", 5, "s3://b/k"]]
    body = {"action": "log", "name": "net", "type": "model", "files": files, "digest": manifest_digest(files),
            "aliases": ["prod"], "metadata": {"acc": 0.9}}  # fmt: skip
    _session(store, "maker", [("artifact", body)])
    use = {"action": "use", "entity": "e", "project": "p", "name": "net", "digest": body["digest"]}
    _session(store, "user", [("artifact", use)])

    types = client.get("/projects/e/p/artifacts").json()["types"]
    assert types == [{"name": "model", "collections": [{"name": "net", "description": None, "versions": 1,
                                                        "keep_last": None}]}]  # fmt: skip
    [version] = client.get("/projects/e/p/artifacts/net").json()["versions"]
    assert version["version"] == "v0" and set(version["aliases"]) == {"latest", "prod"}
    detail = client.get("/projects/e/p/artifacts/net/prod").json()
    assert detail["logged_by"] == "maker" and detail["used_by"] == [{"entity": "e", "project": "p", "run_id": "user"}]
    assert detail["metadata"] == {"acc": 0.9} and [f["path"] for f in detail["files"]] == ["ext", "w.bin"]
    got = httpx.get(client.base_url.join(detail["files"][1]["url"].removeprefix("/api/v1/")))
    assert got.status_code == 200 and got.content == content
    assert got.headers["content-security-policy"] == "sandbox"
    assert client.get("/projects/e/p/artifacts/net/v0/files/ext").status_code == 404
    missing = client.get("/projects/e/p/artifacts/net/v4")
    assert missing.status_code == 404 and "no version 'v4'" in missing.text
    run = client.get("/runs/e/p/user/artifacts").json()
    assert run["logged"] == [] and [v["qualified_name"] for v in run["used"]] == ["net:v0"]
    assert client.get("/runs/e/p/nobody/artifacts").status_code == 404
