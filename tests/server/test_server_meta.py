"""Meta endpoints, the OpenAPI docs, and the one error shape for unknown endpoints and methods."""

from __future__ import annotations

import getpass
import math

from live_server import LiveServer, assert_error

import runyard
from runyard.server.encoding import encode


def test_health_and_me(live: LiveServer) -> None:
    assert live.client.get("/health").json() == {"ok": True, "version": runyard.__version__}
    # Local mode: the OS user, whose name the SDK gives runs as their entity.
    user = getpass.getuser()
    assert live.client.get("/me").json() == {
        "username": user,
        "entity": user,
        "local": True,
        "anonymous": False,
        "site_admin": False,
        "roles": {},
        "accounts": False,
        "setup_needed": False,
        "oidc": [],
    }


def test_openapi_lists_every_endpoint(live: LiveServer) -> None:
    paths = live.client.get("/openapi.json").json()["paths"]
    run = "/api/v1/runs/{entity}/{project}/{run_id}"
    for path in (
        "/api/v1/projects",
        "/api/v1/projects/{entity}/{project}",
        "/api/v1/projects/{entity}/{project}/keys",
        "/api/v1/projects/{entity}/{project}/workspace",
        "/api/v1/projects/{entity}/{project}/runs/query",
        "/api/v1/projects/{entity}/{project}/runs/groups",
        "/api/v1/projects/{entity}/{project}/series",
        run,
        run + "/stop",
        run + "/keys",
        run + "/console",
        run + "/system",
        run + "/files",
        run + "/files/{name}",
        run + "/artifacts",
        "/api/v1/projects/{entity}/{project}/artifacts",
        "/api/v1/projects/{entity}/{project}/artifacts/{name}/{version}",
        "/api/v1/auth/login",
        "/api/v1/auth/setup",
        "/api/v1/keys/{key_id}",
        "/api/v1/teams/{team}/members/{username}",
        "/api/v1/invites/{token}/accept",
    ):
        assert path in paths, path
    assert "text/html" in live.client.get(live.url + "/docs").headers["content-type"]


def test_unknown_endpoint_and_method_have_the_error_shape(live: LiveServer) -> None:
    assert_error(live.client.get("/nope"), 404, "not_found", "GET /api/v1/nope", "/docs")
    assert_error(live.client.delete("/health"), 405, "method_not_allowed")


def test_non_finite_numbers_are_strings() -> None:
    data = {"a": math.nan, "b": [math.inf, -math.inf, 1.5], "c": {"d": (math.nan,)}, "e": "NaN"}
    assert encode(data) == b'{"a":"NaN","b":["Infinity","-Infinity",1.5],"c":{"d":["NaN"]},"e":"NaN"}'
    assert encode({"x": 1.0, "é": "ü"}) == '{"x":1.0,"é":"ü"}'.encode()
