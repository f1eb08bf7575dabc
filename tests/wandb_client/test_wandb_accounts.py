"""The real wandb client against a server with accounts: a user's own key logs as that user; a revoked key is an
authentication failure (HTTP Basic ``api:<key>``)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from wandb_clients import LATEST, LiveServer, last_line, ok, serve_in_thread

PASSWORD = "correct horse battery"


@pytest.fixture
def team_server(tmp_path: Path) -> Iterator[LiveServer]:
    yield from serve_in_thread(f"sqlite:///{tmp_path}/runyard.db", accounts=True)


def test_a_users_key_logs_as_the_user_until_revoked(team_server: LiveServer, project: str, tmp_path: Path) -> None:
    team_server.store.accounts.create_user("bob", PASSWORD)
    with httpx.Client(base_url=team_server.url + "/api/v1", timeout=30) as bob:
        assert bob.post("/auth/login", json={"username": "bob", "password": PASSWORD}).status_code == 200
        bob.headers["X-CSRF-Token"] = bob.cookies["runyard_csrf"]
        made = bob.post("/keys", json={"name": "wandb"}).json()
        result = ok(team_server.run_client(LATEST, "basic", project, key=made["key"], tmp_path=tmp_path))
        run_id = last_line(result, "RUN_ID")
        run = team_server.store.get_run("bob", project, run_id)
        assert run is not None and run.username == "bob" and run.state == "finished"
        assert bob.get("/keys").json()[0]["last_used_at"] is not None
        assert bob.delete(f"/keys/{made['id']}").status_code == 200
    refused = team_server.run_client(LATEST, "basic", project + "x", key=made["key"], tmp_path=tmp_path)
    assert refused.returncode != 0
    assert "authentication failed" in refused.stderr, refused.stderr
    assert team_server.store.list_runs("bob", project + "x") == []
