"""Accounts on a real server on loopback (SQLite and PostgreSQL): sign-in, sessions and their cookies, CSRF,
the login rate limit, the first admin's setup, API keys, teams, invitations, and who may log runs where."""

from __future__ import annotations

import gzip
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import msgpack
import pytest
import uvicorn
from live_server import LiveServer, assert_error

from runyard.server import create_app
from runyard.server.serve import bind
from runyard.store import Store

PASSWORD = "correct horse battery"


def serve_app(store: Store, **options: Any) -> Iterator[LiveServer]:
    sock = bind("127.0.0.1", 0)
    app = create_app(store, **options)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the server did not start"
        time.sleep(0.005)
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    with httpx.Client(base_url=url + "/api/v1", timeout=30) as client:
        yield LiveServer(url, client, store)
    server.should_exit = True
    thread.join(10)
    sock.close()


@pytest.fixture
def team(store: Store) -> Iterator[LiveServer]:
    """A server with accounts; users ada (site admin) and bob exist."""
    store.accounts.create_user("ada", PASSWORD, site_admin=True)
    store.accounts.create_user("bob", PASSWORD)
    yield from serve_app(store, accounts=True)


def browser(live: LiveServer) -> httpx.Client:
    return httpx.Client(base_url=live.url + "/api/v1", timeout=30)


def sign_in(live: LiveServer, username: str, password: str = PASSWORD) -> httpx.Client:
    client = browser(live)
    answer = client.post("/auth/login", json={"username": username, "password": password})
    assert answer.status_code == 200, answer.text
    client.headers["X-CSRF-Token"] = client.cookies["runyard_csrf"]
    return client


def records_for(entity: str, project: str, run_id: str) -> tuple[str, bytes]:
    session = uuid.uuid4().hex
    now = time.time()
    start = {
        "session": session, "run_id": run_id, "project": project, "entity": entity, "name": run_id,
        "notes": None, "tags": [], "group": None, "job_type": None, "config": {}, "created_at": now,
        "started_at": now, "resumed": False, "start_step": 0, "runtime_offset": 0.0, "host": "h", "pid": 1,
        "username": "someone-else", "program": "train.py", "mode": "online",
    }  # fmt: skip
    records = [[1, "start", start], [2, "row", {"x": 1.0, "_step": 0, "_runtime": 0, "_timestamp": now}]]
    return session, gzip.compress(msgpack.packb(records, use_bin_type=True))


def ingest(live: LiveServer, key: str, entity: str, project: str = "p", run_id: str = "r1") -> httpx.Response:
    session, body = records_for(entity, project, run_id)
    headers = {"Authorization": f"Bearer {key}", "Content-Encoding": "gzip", "Content-Type": "application/msgpack"}
    return live.client.post(f"/ingest/sessions/{session}/records", content=body, headers=headers)


def test_anonymous_me_and_login_logout(team: LiveServer) -> None:
    me = team.client.get("/me").json()
    assert me["anonymous"] and me["accounts"] and not me["local"] and me["username"] == ""
    assert me["setup_needed"] is False
    wrong = team.client.post("/auth/login", json={"username": "ada", "password": "not it at all"})
    assert_error(wrong, 401, "unauthorized", "wrong user name or password")
    assert "set-cookie" not in wrong.headers
    ada = sign_in(team, "ada")
    me = ada.get("/me").json()
    assert me["username"] == "ada" and me["site_admin"] and me["roles"] == {"ada": "admin"} and not me["anonymous"]
    assert ada.post("/auth/logout").status_code == 200
    assert ada.get("/me").json()["anonymous"]
    ada.close()


def test_session_cookie_flags(team: LiveServer) -> None:
    answer = team.client.post("/auth/login", json={"username": "bob", "password": PASSWORD})
    cookies = {c.split("=", 1)[0]: c.lower() for c in answer.headers.get_list("set-cookie")}
    session, csrf = cookies["runyard_session"], cookies["runyard_csrf"]
    assert "httponly" in session and "samesite=lax" in session and "path=/" in session
    assert "httponly" not in csrf and "samesite=lax" in csrf
    assert "secure" not in session  # reached over http
    # The stored session is a hash: the cookie's token is nowhere in the database.
    token = answer.cookies["runyard_session"]
    assert team.store.accounts.session(token) is not None


def test_cookies_are_secure_behind_an_https_address(store: Store) -> None:
    store.accounts.create_user("ada", PASSWORD)
    for live in serve_app(store, accounts=True, public_url="https://runyard.example.com"):
        answer = live.client.post("/auth/login", json={"username": "ada", "password": PASSWORD})
        assert all("secure" in c.lower() for c in answer.headers.get_list("set-cookie"))


def test_login_failures_are_rate_limited(team: LiveServer) -> None:
    for _ in range(5):
        answer = team.client.post("/auth/login", json={"username": "bob", "password": "nope nope nope"})
        assert answer.status_code == 401
    limited = team.client.post("/auth/login", json={"username": "bob", "password": PASSWORD})
    assert_error(limited, 429, "too_many_requests", "too many failed sign-ins")
    assert 1 <= int(limited.headers["retry-after"]) <= 60
    # The limit is per address too: another name from the same address waits as well.
    other = team.client.post("/auth/login", json={"username": "ada", "password": PASSWORD})
    assert other.status_code == 429


def test_csrf_is_required_for_changes_by_session(team: LiveServer) -> None:
    bob = sign_in(team, "bob")
    token = bob.headers.pop("X-CSRF-Token")
    refused = bob.post("/keys", json={"name": "laptop"})
    assert_error(refused, 403, "csrf", "x-csrf-token")
    wrong = bob.post("/keys", json={"name": "laptop"}, headers={"X-CSRF-Token": "forged"})
    assert wrong.status_code == 403
    assert bob.get("/keys").json() == []  # reads need no token
    made = bob.post("/keys", json={"name": "laptop"}, headers={"X-CSRF-Token": token})
    assert made.status_code == 201
    # A request with a key needs no CSRF token (no browser adds a key by itself).
    key = made.json()["key"]
    with_key = team.client.post("/keys", json={"name": "ci"}, headers={"Authorization": f"Bearer {key}"})
    assert with_key.status_code == 201
    bob.close()


def test_keys_create_list_revoke(team: LiveServer) -> None:
    bob = sign_in(team, "bob")
    made = bob.post("/keys", json={"name": "laptop"}).json()
    key = made["key"]
    assert len(key) == 40 and made["prefix"] == key[:8]
    listed = bob.get("/keys").json()
    assert [(k["id"], k["name"], k["prefix"]) for k in listed] == [(made["id"], "laptop", key[:8])]
    assert all("key" not in k for k in listed)
    assert ingest(team, key, "bob").status_code == 200
    run = team.store.get_run("bob", "p", "r1")
    assert run is not None and run.username == "bob"  # the author is the key's owner
    me = team.client.get("/ingest/me", auth=httpx.BasicAuth("api", key)).json()
    assert me["username"] == "bob" and me["entity"] == "bob"
    ada = sign_in(team, "ada")
    assert_error(sign_in(team, "ada").delete("/keys/999999"), 404, "not_found")
    assert bob.delete(f"/keys/{made['id']}").status_code == 200
    assert bob.get("/keys").json() == []
    assert_error(ingest(team, key, "bob"), 401, "unauthorized", "invalid API key")
    query = {"query": "{ viewer { username } }"}
    basic = httpx.post(team.url + "/graphql", json=query, auth=httpx.BasicAuth("api", key), timeout=30)
    assert basic.status_code == 401
    ada.close()
    bob.close()


def test_runs_go_only_where_the_key_owner_may_write(team: LiveServer) -> None:
    _, bob_key = team.store.accounts.create_key("bob", "k")
    _, ada_key = team.store.accounts.create_key("ada", "k")
    assert_error(ingest(team, bob_key, "ada"), 403, "forbidden", "may not log runs to ada/p")
    ada = sign_in(team, "ada")
    assert ada.post("/teams", json={"name": "vision"}).status_code == 201
    assert_error(ingest(team, bob_key, "vision"), 403, "forbidden")
    assert ada.put("/teams/vision/members/bob", json={"role": "viewer"}).status_code == 200
    assert ingest(team, bob_key, "vision").status_code == 403  # viewers read only
    assert ada.put("/teams/vision/members/bob", json={"role": "member"}).status_code == 200
    assert ingest(team, bob_key, "vision", run_id="r2").status_code == 200
    assert ingest(team, ada_key, "vision", run_id="r3").status_code == 200
    # Through the wandb protocol too: upsertBucket into an entity the caller may not write.
    query = "mutation($e: String, $p: String, $n: String) { upsertBucket(input: {entityName: $e, modelName: $p, name: $n}) { bucket { id } } }"  # noqa: E501
    answer = httpx.post(
        team.url + "/graphql",
        json={"query": query, "variables": {"e": "ada", "p": "p", "n": "w1"}},
        auth=("api", bob_key),
        timeout=30,
    )
    assert "permission denied" in answer.text
    assert team.store.get_run("ada", "p", "w1") is None
    ada.close()


def test_teams_members_and_roles(team: LiveServer) -> None:
    ada, bob = sign_in(team, "ada"), sign_in(team, "bob")
    assert bob.post("/teams", json={"name": "nlp"}).status_code == 201
    assert bob.get("/teams").json() == [{"name": "nlp", "role": "admin"}]
    assert bob.get("/me").json()["roles"] == {"bob": "admin", "nlp": "admin"}
    assert_error(bob.post("/teams", json={"name": "ada"}), 409, "conflict")
    assert bob.put("/teams/nlp/members/ada", json={"role": "viewer"}).status_code == 200
    assert bob.get("/teams/nlp").json()["members"] == [
        {"username": "ada", "role": "viewer"},
        {"username": "bob", "role": "admin"},
    ]
    team.store.accounts.create_user("cy", PASSWORD)
    cy = sign_in(team, "cy")
    assert_error(cy.get("/teams/nlp"), 404, "not_found")
    assert_error(cy.put("/teams/nlp/members/cy", json={"role": "admin"}), 404, "not_found")
    assert_error(bob.put("/teams/nlp/members/cy", json={"role": "owner"}), 400, "bad_request", "role")
    assert_error(bob.delete("/teams/nlp/members/bob"), 400, "bad_request", "no admin left")
    assert bob.delete("/teams/nlp/members/ada").status_code == 200
    assert_error(cy.get("/users"), 403, "forbidden", "site admins")
    users = ada.get("/users").json()
    assert [u["username"] for u in users] == ["ada", "bob", "cy"]
    assert ada.post("/users", json={"username": "dee", "password": PASSWORD}).status_code == 201
    sign_in(team, "dee").close()
    for client in (ada, bob, cy):
        client.close()


def test_invitations(team: LiveServer) -> None:
    bob = sign_in(team, "bob")
    bob.post("/teams", json={"name": "rl"})
    invite = bob.post("/invites", json={"team": "rl", "role": "member", "expires_hours": 1}).json()
    assert invite["url"].endswith(f"/invite?token={invite['token']}")
    assert team.client.get(f"/invites/{invite['token']}").json()["team"] == "rl"
    newcomer = browser(team)
    joined = newcomer.post(f"/invites/{invite['token']}/accept", json={"username": "eve", "password": PASSWORD})
    assert joined.status_code == 200, joined.text
    assert joined.json()["username"] == "eve" and joined.json()["roles"]["rl"] == "member"
    assert newcomer.get("/me").json()["username"] == "eve"  # signed in
    again = browser(team).post(f"/invites/{invite['token']}/accept", json={"username": "eve2", "password": PASSWORD})
    assert_error(again, 404, "not_found", "used, expired")
    assert_error(team.client.get(f"/invites/{invite['token']}"), 404, "not_found")
    # A signed-in user joins with their own account.
    second = bob.post("/invites", json={"team": "rl", "role": "viewer"}).json()
    ada = sign_in(team, "ada")
    assert ada.post(f"/invites/{second['token']}/accept", json={}).json()["roles"]["rl"] == "viewer"
    eve = sign_in(team, "eve")
    assert_error(eve.post("/invites", json={"team": "rl", "role": "admin"}), 403, "forbidden")
    for client in (bob, newcomer, ada, eve):
        client.close()


def test_setup_token_creates_the_first_admin_once(store: Store) -> None:
    token = store.accounts.new_setup_token()
    assert token is not None
    for live in serve_app(store, accounts=True):
        assert live.client.get("/me").json()["setup_needed"] is True
        wrong = live.client.post("/auth/setup", json={"token": "nope", "username": "root", "password": PASSWORD})
        assert_error(wrong, 403, "forbidden", "wrong setup token")
        client = browser(live)
        made = client.post("/auth/setup", json={"token": token, "username": "root", "password": PASSWORD})
        assert made.status_code == 200, made.text
        assert made.json()["site_admin"] and client.get("/me").json()["username"] == "root"
        again = live.client.post("/auth/setup", json={"token": token, "username": "x", "password": PASSWORD})
        assert_error(again, 410, "gone", "set up already")
        assert live.client.get("/me").json()["setup_needed"] is False
        client.close()


def test_local_mode_is_unchanged(store: Store) -> None:
    for live in serve_app(store):
        me = live.client.get("/me").json()
        assert me["local"] and not me["anonymous"] and not me["accounts"] and me["username"]
        assert_error(live.client.post("/auth/login", json={"username": "a", "password": "b"}), 404, "not_found")
        assert_error(live.client.get("/keys"), 404, "not_found", "no accounts")
