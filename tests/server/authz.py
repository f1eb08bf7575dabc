"""Helpers of the authorization tests: the callers (real users of a server with accounts, each with an API key), a
store seeded with a private and a public project of one team, and a live server over it.

Each caller is a user of the store with the roles of :data:`CALLERS` (made through ``store.accounts``), and
sends its own API key; the anonymous visitor sends nothing.
"""

from __future__ import annotations

import hashlib
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import uvicorn

from media_records import media_run
from runyard.manifest_digest import manifest_digest
from runyard.server import create_app
from runyard.server.access import PUBLIC, can_admin, can_read, can_write
from runyard.server.deps import ANONYMOUS, User
from runyard.server.serve import bind
from runyard.store import Store

TEAM = "team"
PRIVATE_PROJECT = "secret-proj"
PUBLIC_PROJECT = "open-proj"
MIXED_PROJECT = "mixed-proj"  # private, holding one public run
RUN = "r0"
MARKER = "zq-private-marker-5b1e"
"""Planted in the private runs' names, notes, config keys and values, summaries, files and console: it must never
appear in an answer to someone who may not read them."""

CALLERS: dict[str, User] = {
    "anonymous": ANONYMOUS,
    "viewer": User("vera", "vera", local=False, roles={"vera": "admin", TEAM: "viewer"}),
    "member": User("mo", "mo", local=False, roles={"mo": "admin", TEAM: "member"}),
    "admin": User("ada", "ada", local=False, roles={"ada": "admin", TEAM: "admin"}),
    "outsider": User("otto", "otto", local=False, roles={"otto": "admin", "rivals": "admin"}),
}
PASSWORD = "correct horse battery staple"


def make_users(store: Store) -> dict[str, str]:
    """The callers as users of ``store`` (TEAM made by its admin, members added), each with one API key; returns
    the keys by caller. Called before any run of TEAM is stored (a team is a new entity)."""
    accounts = store.accounts
    for user in CALLERS.values():
        if not user.anonymous:
            accounts.create_user(user.username, PASSWORD)
    accounts.create_team(TEAM, CALLERS["admin"].username)
    accounts.create_team("rivals", CALLERS["outsider"].username)
    for caller in ("viewer", "member"):
        accounts.set_member(TEAM, CALLERS[caller].username, CALLERS[caller].roles[TEAM])
    return {c: accounts.create_key(u.username)[1] for c, u in CALLERS.items() if not u.anonymous}


def expected_status(rule: str, user: User, visibility: str) -> int:
    """The status (200 for any 2xx) that access.py's rules give ``user`` for a route of ``rule`` on a project
    of TEAM with ``visibility``."""
    readable = can_read(user, TEAM, visibility)
    if rule == "open":
        return 200
    if rule.startswith("key-"):
        if user.anonymous:
            return 401
        rule = rule[4:]
        if rule == "any":
            return 200
        if rule == "write":  # writing by key: refused alike whether the project exists or may be read
            return 200 if can_write(user, TEAM) else 403
    team_role = None if user.anonymous else user.roles.get(TEAM)
    if rule == "signed-in":
        return 401 if user.anonymous else 200
    if rule == "site-admin":
        return 401 if user.anonymous else (200 if user.site_admin else 403)
    if rule == "team-member":  # a team's members list: 404 for who is not in it
        return 401 if user.anonymous else (200 if team_role else 404)
    if rule == "team-admin":
        return 401 if user.anonymous else (404 if not team_role else (200 if can_admin(user, TEAM) else 403))
    if rule == "own-key":  # the keys of the member: 404 for everyone else ("no API key of yours")
        return 401 if user.anonymous else (200 if user is CALLERS["member"] else 404)
    if rule == "gone":  # the one-time setup of a server that has users already
        return 410
    if rule in ("no-such-invitation", "no-such-provider"):
        return 404
    if rule == "read":
        return 200 if readable else 404
    if rule == "read-signed-in":
        return 404 if not readable else (401 if user.anonymous else 200)
    if rule == "write":
        return 404 if not readable else (200 if can_write(user, TEAM) else 403)
    if rule == "admin":
        return 404 if not readable else (200 if can_admin(user, TEAM) else 403)
    raise AssertionError(f"unknown rule {rule!r}")


def run_records(
    project: str,
    run_id: str,
    *,
    secret: bool,
    running: bool = False,
    session: str | None = None,
    artifact: list[list[Any]] | None = None,
) -> list[list[Any]]:
    """A run of TEAM/project with media, a table, history, console, a file and (optionally) an artifact; with
    ``secret`` the marker is planted everywhere a run holds text."""
    records = media_run(project, run_id, steps=3, table_rows=5)
    start = records[0][2]
    mark = MARKER if secret else "plain"
    start.update(
        entity=TEAM,
        session=session or uuid.uuid4().hex,
        name=f"name-{mark}",
        notes=f"notes-{mark}",
        config={**start["config"], "lr": 0.1, f"key-{mark}": f"value-{mark}"},
    )
    extra: list[tuple[str, dict[str, Any]]] = [
        ("summary", {"set": {f"sum-{mark}": 1.0}}),
        ("console", {"lines": [[time.time(), "stdout", f"console-{mark}"]]}),
        ("file", {"name": "notes.txt", "content": f"file-{mark}".encode()}),
        ("system", {"t": time.time(), "runtime": 1.0, "values": {"cpu": 3.0}}),
    ]
    if artifact is not None:
        extra.append(
            (
                "artifact",
                {
                    "action": "log",
                    "name": "data",
                    "type": "dataset",
                    "files": artifact,
                    "digest": manifest_digest(artifact),
                    "metadata": {"m": mark},
                    "aliases": [],
                },
            )
        )
    # media_run ends with the exit record: the extra records go before it (or replace it for a running run).
    exit_record = records.pop()
    for kind, body in extra:
        records.append([len(records) + 1, kind, body])
    if not running:
        records.append([len(records) + 1, exit_record[1], exit_record[2]])
    return records


def seed(store: Store) -> dict[str, str]:
    """The callers (see :func:`make_users`; returns their keys), then TEAM's private project (a private run),
    public project (a private run: readable as the project is), and a private project holding one public run and
    one private run."""
    keys = make_users(store)
    for project, secret in ((PRIVATE_PROJECT, True), (PUBLIC_PROJECT, False)):
        content = f"artifact-{project}".encode()
        files = [["a.txt", store.artifacts.blobs.put(content), len(content), None]]
        store.ingest(run_records(project, RUN, secret=secret, artifact=files))
    store.set_project_visibility(TEAM, PUBLIC_PROJECT, PUBLIC)
    store.ingest(run_records(MIXED_PROJECT, "pub", secret=False))
    store.ingest(run_records(MIXED_PROJECT, "priv", secret=True))
    store.update_run(TEAM, MIXED_PROJECT, "pub", visibility=PUBLIC)
    return keys


def grid_sweep(store: Store, project: str) -> str:
    """A new grid sweep of TEAM/project; returns its id."""
    config = {"method": "grid", "metric": {"name": "loss", "goal": "minimize"}, "parameters": {"x": {"values": [1, 2]}}}
    return store.sweeps.create(TEAM, project, config).sweep_id


def blob_key(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


@dataclass
class Server:
    """A live server with accounts, and the callers' API keys."""

    url: str
    app: Any
    store: Store
    keys: dict[str, str]

    def headers(self, caller: str) -> dict[str, str]:
        """What ``caller`` sends: its API key (nothing for the anonymous visitor)."""
        return {"Authorization": f"Bearer {self.keys[caller]}"} if caller in self.keys else {}

    @contextmanager
    def as_user(self, caller: str) -> Iterator[httpx.Client]:
        """A client acting as ``caller`` (a name of :data:`CALLERS`)."""
        with httpx.Client(base_url=self.url, headers=self.headers(caller), timeout=60) as client:
            yield client


@contextmanager
def serve(store: Store, keys: dict[str, str]) -> Iterator[Server]:
    """The app over ``store`` (with accounts) on a free loopback port, in a thread."""
    app = create_app(store, accounts=True)
    sock = bind("127.0.0.1", 0)
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the server did not start"
        time.sleep(0.005)
    try:
        yield Server(f"http://127.0.0.1:{sock.getsockname()[1]}", app, store, keys)
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


def open_store(store_url: str, tmp_path: Path) -> Store:
    return Store.open(store_url, blobs=str(tmp_path / "blobs"))
