"""The authorization matrix: every REST route, generated from the app's route table, for every kind of caller
(anonymous, viewer, member and admin of the entity, a member of another team) on a private and a public project,
answers the status class that ``runyard.server.access`` gives them.

Every route must have a line in :data:`ROUTES`: a route added without one fails :func:`test_every_route_is_in_the_table`
— and so cannot skip the matrix. Each line names its rule (see ``authz.expected_status``) and builds one request
that succeeds for a caller who is allowed; destructive requests act on a run, session or sweep made for them.
"""

from __future__ import annotations

import gzip
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import msgpack
import pytest
from authz import (
    CALLERS,
    MARKER,
    PASSWORD,
    PRIVATE_PROJECT,
    PUBLIC_PROJECT,
    RUN,
    TEAM,
    Server,
    blob_key,
    expected_status,
    grid_sweep,
    open_store,
    seed,
    serve,
)
from fastapi.routing import APIRoute

from runyard.server.access import PRIVATE, PUBLIC
from runyard.server.routes import api_router
from runyard.server.wandb import wandb_router

Request = tuple[str, dict[str, Any]]  # (path under /api/v1, httpx keyword arguments)
Maker = Callable[[Server, str], Request]

R = f"/runs/{TEAM}/{{p}}/{RUN}"
P = f"/projects/{TEAM}/{{p}}"


def _fixed(path: str, **kwargs: Any) -> Maker:
    return lambda _server, project: (path.format(p=project), kwargs)


def _running_run(server: Server, project: str) -> tuple[str, str]:
    """A new live run of TEAM/project: ``(run id, session)``."""
    run_id, session = f"live-{uuid.uuid4().hex[:8]}", uuid.uuid4().hex
    now = time.time()
    start = {"session": session, "run_id": run_id, "project": project, "entity": TEAM, "config": {}}
    server.store.ingest([[1, "start", {**start, "created_at": now, "started_at": now}]])
    return run_id, session


def _on_new_run(suffix: str, **kwargs: Any) -> Maker:
    def make(server: Server, project: str) -> Request:
        run_id, _ = _running_run(server, project)
        return f"/runs/{TEAM}/{project}/{run_id}{suffix}", kwargs

    return make


def _on_new_session(suffix: str, **kwargs: Any) -> Maker:
    def make(server: Server, project: str) -> Request:
        _, session = _running_run(server, project)
        return f"/ingest/sessions/{session}{suffix}", kwargs

    return make


def _records(server: Server, project: str) -> Request:
    session = uuid.uuid4().hex
    start = {"session": session, "run_id": f"new-{session[:8]}", "project": project, "entity": TEAM, "config": {}}
    start.update(created_at=time.time(), started_at=time.time())
    body = gzip.compress(msgpack.packb([[1, "start", start]]))
    headers = {"Content-Type": "application/msgpack", "Content-Encoding": "gzip"}
    return f"/ingest/sessions/{session}/records", {"content": body, "headers": headers}


def _on_new_sweep(suffix: str, **kwargs: Any) -> Maker:
    def make(server: Server, project: str) -> Request:
        return f"/sweeps/{TEAM}/{project}/{grid_sweep(server.store, project)}{suffix}", kwargs

    return make


def _on_new_agent(suffix: str) -> Maker:
    def make(server: Server, project: str) -> Request:
        sweep = server.store.sweeps.get(TEAM, project, grid_sweep(server.store, project))
        assert sweep is not None
        agent = server.store.sweeps.register_agent(sweep, host="h", pid=1)
        return f"/ingest/sweeps/{TEAM}/{project}/{sweep.sweep_id}/agents/{agent}{suffix}", {}

    return make


def _sweep_run(server: Server, project: str) -> Request:
    sweep = server.store.sweeps.get(TEAM, project, grid_sweep(server.store, project))
    assert sweep is not None
    assignment = server.store.sweeps.next_run(sweep, server.store.sweeps.register_agent(sweep, host="h", pid=1))
    run_id = getattr(assignment, "run_id", None)
    assert run_id is not None, assignment
    return f"/ingest/sweeps/{TEAM}/{project}/{sweep.sweep_id}/runs/{run_id}", {}


def _blob(method: str) -> Maker:
    def make(server: Server, project: str) -> Request:
        content = f"blob of {project}".encode()
        if method != "PUT":
            server.store.artifacts.blobs.put(content)
        return f"/ingest/blobs/{blob_key(content)}", {"content": content} if method == "PUT" else {}

    return make


def _sweep_path(suffix: str, **kwargs: Any) -> Maker:
    def make(server: Server, project: str) -> Request:
        sweep_id = grid_sweep(server.store, project)
        return f"/ingest/sweeps/{TEAM}/{project}/{sweep_id}{suffix}", kwargs

    return make


def _find_sweep(server: Server, project: str) -> Request:
    return "/ingest/sweeps/find", {"params": {"path": f"{TEAM}/{project}/{grid_sweep(server.store, project)}"}}


def _same_visibility(server: Server, project: str) -> Request:
    # Set to what it is: an allowed admin changes nothing the other cases rely on.
    found = server.store.get_project(TEAM, project)
    assert found is not None
    return f"/projects/{TEAM}/{project}", {"json": {"visibility": found.visibility}}


_SWEEP_CONFIG = {"method": "grid", "parameters": {"x": {"values": [1]}}}


def _member_key(server: Server, _project: str) -> Request:
    info, _ = server.store.accounts.create_key(CALLERS["member"].username, "to revoke")
    return f"/keys/{info.id}", {}


def _throwaway_member(server: Server, _project: str) -> Request:
    name = f"temp{uuid.uuid4().hex[:8]}"
    server.store.accounts.create_user(name, PASSWORD)
    server.store.accounts.set_member(TEAM, name, "viewer")
    return f"/teams/{TEAM}/members/{name}", {}


def _new_team(_server: Server, _project: str) -> Request:
    return "/teams", {"json": {"name": f"t{uuid.uuid4().hex[:10]}"}}


def _new_user(_server: Server, _project: str) -> Request:
    return "/users", {"json": {"username": f"u{uuid.uuid4().hex[:10]}", "password": PASSWORD, "site_admin": False}}


ROUTES: dict[tuple[str, str], tuple[str, Maker]] = {
    ("GET", "/health"): ("open", _fixed("/health")),
    ("GET", "/me"): ("open", _fixed("/me")),
    ("GET", "/projects"): ("open", _fixed("/projects")),
    ("GET", "/projects/{entity}/{project}"): ("read", _fixed(P)),
    ("PATCH", "/projects/{entity}/{project}"): ("admin", _same_visibility),
    ("GET", "/projects/{entity}/{project}/keys"): ("read", _fixed(P + "/keys")),
    ("GET", "/projects/{entity}/{project}/workspace"): ("read", _fixed(P + "/workspace")),
    ("PUT", "/projects/{entity}/{project}/workspace"): (
        "read-signed-in",
        _fixed(P + "/workspace", json={"settings": {"a": 1}}),
    ),
    ("POST", "/projects/{entity}/{project}/runs/query"): ("read", _fixed(P + "/runs/query", json={})),
    ("POST", "/projects/{entity}/{project}/runs/groups"): (
        "read",
        _fixed(P + "/runs/groups", json={"group_by": "group"}),
    ),
    ("POST", "/projects/{entity}/{project}/series"): (
        "read",
        _fixed(P + "/series", json={"runs": [RUN], "keys": ["loss"]}),
    ),
    ("GET", "/runs/{entity}/{project}/{run_id}"): ("read", _fixed(R)),
    ("PATCH", "/runs/{entity}/{project}/{run_id}"): ("write", _fixed(R, json={"tags": ["edited"]})),
    ("DELETE", "/runs/{entity}/{project}/{run_id}"): ("write", _on_new_run("")),
    ("POST", "/runs/{entity}/{project}/{run_id}/stop"): ("write", _on_new_run("/stop")),
    ("POST", "/runs/{entity}/{project}/{run_id}/mark-killed"): ("write", _on_new_run("/mark-killed", json={})),
    ("GET", "/runs/{entity}/{project}/{run_id}/keys"): ("read", _fixed(R + "/keys")),
    ("GET", "/runs/{entity}/{project}/{run_id}/console"): ("read", _fixed(R + "/console")),
    ("GET", "/runs/{entity}/{project}/{run_id}/system"): ("read", _fixed(R + "/system")),
    ("GET", "/runs/{entity}/{project}/{run_id}/files"): ("read", _fixed(R + "/files")),
    ("GET", "/runs/{entity}/{project}/{run_id}/files/{name:path}"): ("read", _fixed(R + "/files/notes.txt")),
    ("GET", "/projects/{entity}/{project}/sweeps"): ("read", _fixed(P + "/sweeps")),
    ("GET", "/sweeps/{entity}/{project}/{sweep_id}"): ("read", _on_new_sweep("")),
    ("POST", "/sweeps/{entity}/{project}/{sweep_id}/{action}"): ("write", _on_new_sweep("/pause")),
    ("GET", "/projects/{entity}/{project}/media/keys"): ("read", _fixed(P + "/media/keys")),
    ("GET", "/projects/{entity}/{project}/media/at"): (
        "read",
        _fixed(P + "/media/at", params={"key": "img", "runs": RUN}),
    ),
    ("GET", "/projects/{entity}/{project}/media/range"): (
        "read",
        _fixed(P + "/media/range", params={"key": "img", "runs": RUN, "min_step": 0, "max_step": 2}),
    ),
    ("GET", "/runs/{entity}/{project}/{run_id}/media/histogram"): (
        "read",
        _fixed(R + "/media/histogram", params={"key": "weights"}),
    ),
    ("GET", "/runs/{entity}/{project}/{run_id}/media/table"): (
        "read",
        _fixed(R + "/media/table", params={"path": "media/table/samples_0.table.json"}),
    ),
    ("GET", "/projects/{entity}/{project}/artifacts"): ("read", _fixed(P + "/artifacts")),
    ("GET", "/projects/{entity}/{project}/artifacts/{name}"): ("read", _fixed(P + "/artifacts/data")),
    ("GET", "/projects/{entity}/{project}/artifacts/{name}/{version}"): ("read", _fixed(P + "/artifacts/data/v0")),
    ("GET", "/projects/{entity}/{project}/artifacts/{name}/{version}/files/{path:path}"): (
        "read",
        _fixed(P + "/artifacts/data/v0/files/a.txt"),
    ),
    ("GET", "/runs/{entity}/{project}/{run_id}/artifacts"): ("read", _fixed(R + "/artifacts")),
    # Accounts (the rules of docs/accounts.md): the same for a private and a public project.
    ("POST", "/auth/login"): ("open", _fixed("/auth/login", json={"username": "ada", "password": PASSWORD})),
    ("POST", "/auth/logout"): ("open", _fixed("/auth/logout")),
    ("POST", "/auth/setup"): (
        "gone",
        _fixed("/auth/setup", json={"token": "x" * 32, "username": "late", "password": PASSWORD}),
    ),
    ("GET", "/keys"): ("signed-in", _fixed("/keys")),
    ("POST", "/keys"): ("signed-in", _fixed("/keys", json={"name": "laptop"})),
    ("DELETE", "/keys/{key_id}"): ("own-key", _member_key),
    ("GET", "/users"): ("site-admin", _fixed("/users")),
    ("POST", "/users"): ("site-admin", _new_user),
    ("PATCH", "/users/{username}"): ("site-admin", _fixed("/users/vera", json={"disabled": False})),
    ("GET", "/teams"): ("signed-in", _fixed("/teams")),
    ("POST", "/teams"): ("signed-in", _new_team),
    ("GET", "/teams/{team}"): ("team-member", _fixed(f"/teams/{TEAM}")),
    ("PUT", "/teams/{team}/members/{username}"): (
        "team-admin",
        _fixed(f"/teams/{TEAM}/members/vera", json={"role": "viewer"}),
    ),
    ("DELETE", "/teams/{team}/members/{username}"): ("team-admin", _throwaway_member),
    ("POST", "/invites"): ("team-admin", _fixed("/invites", json={"team": TEAM, "role": "viewer", "expires_hours": 1})),
    # Invitations are tokens; accepting a valid one (which changes the caller's roles) is tested in the accounts
    # suite: here an unknown token is 404 for everyone.
    ("GET", "/invites/{token}"): ("no-such-invitation", _fixed("/invites/" + "0" * 32)),
    ("POST", "/invites/{token}/accept"): (
        "no-such-invitation",
        _fixed("/invites/" + "0" * 32 + "/accept", json={"username": "newbie", "password": PASSWORD}),
    ),
    # Single sign-on: this server has no provider, so every provider name is unknown (a configured one is tested
    # against a real OpenID Connect provider in tests/sso).
    ("GET", "/auth/oidc/{provider}/login"): ("no-such-provider", _fixed("/auth/oidc/corp/login")),
    ("GET", "/auth/oidc/{provider}/callback"): (
        "no-such-provider",
        _fixed("/auth/oidc/corp/callback", params={"code": "c", "state": "s"}),
    ),
    # The ingest API: an API key is the credential (401 without one); writes need the member role.
    ("GET", "/ingest/me"): ("key-any", _fixed("/ingest/me")),
    ("GET", "/ingest/store"): ("key-any", _fixed("/ingest/store")),
    ("POST", "/ingest/sessions/{session}/records"): ("key-write", _records),
    # A session writes a run of TEAM: only who may write TEAM's runs may use it, even knowing its id.
    ("GET", "/ingest/sessions/{session}"): ("key-write", _on_new_session("")),
    ("GET", "/ingest/sessions/{session}/steps"): ("key-write", _on_new_session("/steps")),
    ("POST", "/ingest/sessions/{session}/heartbeat"): ("key-write", _on_new_session("/heartbeat")),
    ("POST", "/ingest/sessions/{session}/crashed"): ("key-write", _on_new_session("/crashed")),
    ("GET", "/ingest/runs/{entity}/{project}/{run_id}/resume"): (
        "key-write",
        _fixed(f"/ingest/runs/{TEAM}/{{p}}/{RUN}/resume"),
    ),
    # Blobs are addressed by their SHA-256: only someone who holds the content (or read its manifest) names one.
    ("HEAD", "/ingest/blobs/{key}"): ("key-any", _blob("HEAD")),
    ("PUT", "/ingest/blobs/{key}"): ("key-any", _blob("PUT")),
    ("GET", "/ingest/blobs/{key}"): ("key-any", _blob("GET")),
    ("GET", "/ingest/artifacts/{entity}/{project}/{name}/type"): (
        "key-write",
        _fixed(f"/ingest/artifacts/{TEAM}/{{p}}/data/type"),
    ),
    ("GET", "/ingest/artifacts/{entity}/{project}/{name}/versions/{spec}"): (
        "key-read",
        _fixed(f"/ingest/artifacts/{TEAM}/{{p}}/data/versions/v0"),
    ),
    ("POST", "/ingest/sweeps"): (
        "key-write",
        lambda _s, project: ("/ingest/sweeps", {"json": {"entity": TEAM, "project": project, "config": _SWEEP_CONFIG}}),
    ),
    ("GET", "/ingest/sweeps/find"): ("key-read", _find_sweep),
    ("POST", "/ingest/sweeps/{entity}/{project}/{sweep_id}/agents"): (
        "key-write",
        _sweep_path("/agents", json={"host": "h", "pid": 1}),
    ),
    ("POST", "/ingest/sweeps/{entity}/{project}/{sweep_id}/agents/{agent_id}/next"): (
        "key-write",
        _on_new_agent("/next"),
    ),
    ("POST", "/ingest/sweeps/{entity}/{project}/{sweep_id}/agents/{agent_id}/heartbeat"): (
        "key-write",
        _on_new_agent("/heartbeat"),
    ),
    ("POST", "/ingest/sweeps/{entity}/{project}/{sweep_id}/early-terminate"): (
        "key-write",
        _sweep_path("/early-terminate"),
    ),
    ("GET", "/ingest/sweeps/{entity}/{project}/{sweep_id}/runs/{run_id}"): ("key-read", _sweep_run),
    ("POST", "/ingest/sweeps/{entity}/{project}/{sweep_id}/control/{action}"): (
        "key-write",
        _sweep_path("/control/pause"),
    ),
}

WANDB_ROUTES: dict[tuple[str, str], str] = {
    # The wandb protocol's routes are checked by tests/server/test_authz_wandb.py, operation by operation.
    ("POST", "/graphql"): "test_authz_wandb.py: every GraphQL operation",
    ("POST", "/files/{entity}/{project}/{run_id}/file_stream"): "test_authz_wandb.py: file_stream",
    ("PUT", "/wandb/storage/{token}"): "test_authz_wandb.py: signed URLs",
    ("GET", "/wandb/storage/{token}"): "test_authz_wandb.py: signed URLs",
    ("PUT", "/wandb/artifacts/{token}"): "test_authz_wandb.py: signed URLs",
    ("GET", "/wandb/artifacts/{token}"): "test_authz_wandb.py: signed URLs",
}


def _route_table(router: Any, prefix: str = "") -> set[tuple[str, str]]:
    """``(method, path)`` of every route of ``router``, included routers walked (FastAPI keeps them nested)."""
    found = set()
    for route in router.routes:
        included = getattr(route, "original_router", None)
        if included is not None:
            found |= _route_table(included, prefix + route.include_context.prefix)
            continue
        assert isinstance(route, APIRoute), route
        found.update((method, prefix + route.path) for method in route.methods)
    return found


def test_every_route_is_in_the_table() -> None:
    assert _route_table(api_router) == set(ROUTES), "a route without an authorization rule (or a stale line)"
    assert _route_table(wandb_router) == set(WANDB_ROUTES)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Any:
    tmp = tmp_path_factory.mktemp("authz")
    store = open_store(f"sqlite:///{tmp}/store/runyard.db", tmp)
    keys = seed(store)
    with serve(store, keys) as running:
        yield running
    store.close()


CASES = [
    (method, path, caller, visibility)
    for (method, path) in sorted(ROUTES)
    for caller in CALLERS
    for visibility in (PRIVATE, PUBLIC)
]


@pytest.mark.parametrize(("method", "path", "caller", "visibility"), CASES)
def test_route_answers_what_access_allows(server: Server, method: str, path: str, caller: str, visibility: str) -> None:
    rule, make = ROUTES[(method, path)]
    user = CALLERS[caller]
    project = PUBLIC_PROJECT if visibility == PUBLIC else PRIVATE_PROJECT
    url, kwargs = make(server, project)
    with server.as_user(caller) as client:
        response = client.request(method, "/api/v1" + url, **kwargs)
    want = expected_status(rule, user, visibility)
    got = 200 if 200 <= response.status_code < 300 else response.status_code
    assert got == want, f"{method} {url} as {caller}: {response.status_code} {response.text[:300]}"
    if want == 404 or (visibility == PRIVATE and want != 200):
        assert MARKER not in response.text


def test_private_runs_are_not_counted_listed_or_keyed_for_outsiders(server: Server) -> None:
    """A private project holding one public run: an outsider sees that run only, everywhere."""
    with server.as_user("outsider") as client:
        projects = client.get("/api/v1/projects").json()["projects"]
        by_name = {p["name"]: p for p in projects}
        assert PRIVATE_PROJECT not in by_name
        assert by_name["mixed-proj"]["run_count"] == 1  # of 2
        # Every run of a public project is readable (other cases add runs to it as they go).
        assert by_name[PUBLIC_PROJECT]["run_count"] == server.store.count_runs(TEAM, PUBLIC_PROJECT)
        base = f"/api/v1/projects/{TEAM}/mixed-proj"
        page = client.post(base + "/runs/query", json={}).json()
        assert page["total"] == 1 and [r["id"] for r in page["runs"]] == ["pub"]
        assert client.post(base + "/runs/query", json={"search": "name"}).json()["total"] == 1
        groups = client.post(base + "/runs/groups", json={"group_by": "group"}).json()["groups"]
        assert sum(g["count"] for g in groups) == 1
        keys = client.get(base + "/keys")
        assert keys.status_code == 200 and "key-plain" in keys.json()["config"]
        series = client.post(base + "/series", json={"runs": ["pub", "priv"], "keys": ["loss"]}).json()
        assert [s["run"] for s in series["series"]] == ["pub"]
        at = client.get(base + "/media/at", params={"key": "img", "runs": "pub,priv"})
        assert "priv" not in at.text
        assert client.get(f"/api/v1/runs/{TEAM}/mixed-proj/priv").status_code == 404
        assert client.get(f"/api/v1/runs/{TEAM}/mixed-proj/pub").status_code == 200
        assert client.get(base + "/artifacts").status_code == 404  # the project itself stays private
        everything = [
            client.get("/api/v1/projects").text,
            keys.text,
            client.post(base + "/runs/query", json={}).text,
            client.get(base + "/media/keys").text,
            str(series),
            at.text,
        ]
    for text in everything:
        assert MARKER not in text
    with server.as_user("viewer") as client:
        page = client.post(f"/api/v1/projects/{TEAM}/mixed-proj/runs/query", json={}).json()
        assert page["total"] == 2
        assert MARKER in client.get(f"/api/v1/projects/{TEAM}/mixed-proj/keys").text


def test_project_visibility_is_set_by_admins_only(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path}/s/runyard.db", tmp_path)
    keys = seed(store)
    with serve(store, keys) as running:
        url = f"/api/v1/projects/{TEAM}/{PRIVATE_PROJECT}"
        with running.as_user("member") as client:
            assert client.patch(url, json={"visibility": "public"}).status_code == 403
        with running.as_user("admin") as client:
            response = client.patch(url, json={"visibility": "public"})
            assert response.status_code == 200 and response.json()["visibility"] == "public"
            assert client.patch(url, json={"visibility": "open"}).status_code == 422
        with running.as_user("anonymous") as client:
            assert client.get(url).json()["run_count"] == 1
            assert client.get(url + "/artifacts").status_code == 200
        with running.as_user("member") as client:  # run privacy: members
            run_url = f"/api/v1/runs/{TEAM}/mixed-proj/priv"
            assert client.patch(run_url, json={"visibility": "public"}).json()["visibility"] == "public"
        with running.as_user("anonymous") as client:
            assert client.get(f"/api/v1/runs/{TEAM}/mixed-proj/priv").status_code == 200
            assert client.patch(f"/api/v1/runs/{TEAM}/mixed-proj/priv", json={"tags": []}).status_code == 403
    store.close()


def test_a_session_of_a_team_run_takes_records_from_its_members_only(server: Server) -> None:
    _, session = _running_run(server, PRIVATE_PROJECT)
    batch = gzip.compress(msgpack.packb([[2, "row", {"_step": 0, "loss": 1.0}]]))
    headers = {"Content-Type": "application/msgpack", "Content-Encoding": "gzip"}
    url = f"/api/v1/ingest/sessions/{session}/records"
    for caller in ("outsider", "viewer"):
        with server.as_user(caller) as client:
            refused = client.post(url, content=batch, headers=headers)
        assert refused.status_code == 403, refused.text
    assert server.store.session_progress(session) == 1
    with server.as_user("member") as client:
        assert client.post(url, content=batch, headers=headers).json()["last_seq"] == 2
