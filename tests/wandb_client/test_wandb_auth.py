"""Who may log: the API key (HTTP Basic), the key ``runyard ui`` prints, and the capability URLs of files."""

from __future__ import annotations

import os
import re
import stat
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from wandb_clients import ENTITY, KEY, LATEST, LiveServer, last_line, ok, wait_for


def test_a_wrong_key_is_an_authentication_failure(server: LiveServer, project: str, tmp_path: Path) -> None:
    wrong = "f" * 40
    result = server.run_client(LATEST, "basic", project, key=wrong, tmp_path=tmp_path)
    assert result.returncode != 0
    assert "CommError: authentication failed: invalid API key" in result.stderr, result.stderr
    assert server.store.list_runs(ENTITY, project) == []


def test_requests_without_a_valid_key_get_a_clean_401(server: LiveServer) -> None:
    query = {"query": "query Viewer { viewer { id entity } }"}
    no_key = httpx.post(f"{server.url}/graphql", json=query)
    assert no_key.status_code == 401
    assert no_key.json()["error"]["code"] == "unauthorized"
    assert "authentication failed" in no_key.json()["errors"][0]["message"]
    wrong = httpx.post(f"{server.url}/graphql", json=query, auth=("api", "0" * 40))
    assert wrong.status_code == 401
    stream = httpx.post(f"{server.url}/files/local/p/r1/file_stream", json={}, auth=("api", "0" * 40))
    assert stream.status_code == 401
    good = httpx.post(f"{server.url}/graphql", json=query, auth=("api", KEY))
    assert good.status_code == 200 and good.json()["data"]["viewer"]["entity"] == ENTITY


def test_unknown_operations_are_answered_harmlessly(server: LiveServer, caplog: pytest.LogCaptureFixture) -> None:
    query = {"query": "query SomethingNew { somethingNew(x: 1) { a b } viewer { username } }"}
    answer = httpx.post(f"{server.url}/graphql", json=query, auth=("api", KEY))
    assert answer.status_code == 200
    assert answer.json() == {"data": {"somethingNew": None, "viewer": {"username": "local"}}}
    again = httpx.post(f"{server.url}/graphql", json=query, auth=("api", KEY))
    assert again.json() == answer.json()
    warnings = [r for r in caplog.records if "unsupported operation SomethingNew" in r.getMessage()]
    assert len(warnings) == 1 and warnings[0].levelname == "WARNING"


def test_file_urls_are_unguessable_and_checked(server: LiveServer, project: str) -> None:
    mutation = """mutation CreateRunFiles($entity: String!, $project: String!, $run: String!, $files: [String!]!) {
      createRunFiles(input: {entityName: $entity, projectName: $project, runName: $run, files: $files}) {
        files { name uploadUrl } } }"""
    variables = {"entity": ENTITY, "project": project, "run": "r1", "files": ["a.txt", "b.txt"]}
    answer = httpx.post(f"{server.url}/graphql", json={"query": mutation, "variables": variables}, auth=("api", KEY))
    urls = [f["uploadUrl"] for f in answer.json()["data"]["createRunFiles"]["files"]]
    assert len(set(urls)) == 2 and all(u.startswith(f"{server.url}/wandb/storage/") for u in urls)
    token = urls[0].rsplit("/", 1)[1]
    assert len(token) > 40
    # A token altered by one character, or used for the other action, grants nothing.
    forged = token[:-1] + ("A" if token[-1] != "A" else "B")
    assert httpx.put(f"{server.url}/wandb/storage/{forged}", content=b"x").status_code == 403
    assert httpx.get(urls[0]).status_code == 403
    assert httpx.put(urls[0], content=b"hello").status_code == 200
    assert server.store.file_content(ENTITY, project, "r1", "a.txt") == b"hello"


def test_runyard_ui_prints_a_key_that_works(tmp_path: Path, project: str) -> None:
    folder = tmp_path / "ry" / "runyard"  # runyard's data folder in --dir
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RUNYARD_", "WANDB_"))}
    proc = subprocess.Popen(
        [sys.executable, "-m", "runyard.cli", "ui", "--create", "--dir", str(folder.parent), "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    try:
        assert proc.stdout is not None
        lines: list[str] = []

        def key_line() -> str | None:
            line = proc.stdout.readline()  # type: ignore[union-attr]
            lines.append(line)
            return line if "WANDB_API_KEY=" in line else None

        line = wait_for(key_line, timeout=30, what="the key line")
        match = re.search(r"WANDB_BASE_URL=(\S+) WANDB_API_KEY=(\S+)", line)
        assert match, lines
        url, key = match.groups()
        key_file = folder / "api-key"
        assert key_file.read_text().strip() == key
        assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
        live = LiveServer(url, None, "")
        result = ok(live.run_client(LATEST, "preempt", project, key=key, tmp_path=tmp_path))
        assert last_line(result, "RUN_ID")
    finally:
        proc.terminate()
        proc.wait(timeout=20)
    # The next start prints the same key again: only its hash is in the store, the key is in the file.
    again = subprocess.run(
        [sys.executable, "-c", _PRINT_KEY, str(folder)], capture_output=True, text=True, env=env, timeout=60
    )
    assert again.stdout.strip() == key, again.stderr


_PRINT_KEY = """
import sys
from pathlib import Path
from runyard.server.wandb.local_key import local_api_key
from runyard.store import Store
folder = Path(sys.argv[1])
with Store.open(f"sqlite:///{folder}/runyard.db") as store:
    print(local_api_key(store, folder, "local"))
"""
