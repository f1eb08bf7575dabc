"""One run: read, edit, delete, stop (refused when not running), keys, console, system metrics and files."""

from __future__ import annotations

import math

import pytest
from live_server import ENTITY, PROJECT, LiveServer, assert_error, seed_run

RUN = f"/runs/{ENTITY}/{PROJECT}"


@pytest.fixture
def one(live: LiveServer) -> LiveServer:
    """Run ``a1``: config, history, summary, metadata, console, system samples and a file."""
    seed_run(
        live.store,
        "a1",
        name="bright-river-3",
        config={"lr": 0.01, "bad": math.nan},
        rows=[{"loss": 1.0 / (s + 1), "acc": s / 10} for s in range(10)],
        summary={"best": -math.inf},
        metadata={"os": "Linux", "python": "3.11.7", "git": {"commit": "abc123"}},
        console=[("stdout", "epoch 1"), ("stderr", "Warning: slow"), ("stdout", "epoch 2"), ("stdout", "done")],
        system=[{"system/cpu": 10.0}, {"system/cpu": 20.0, "system/memory": 30.0}, {"system/cpu": 30.0}],
        files={"requirements.txt": b"numpy==2.0\n", "page.html": b"<script>alert(1)</script>"},
    )
    return live


def test_get_run_with_metadata(one: LiveServer) -> None:
    run = one.client.get(f"{RUN}/a1").json()
    assert (run["id"], run["name"], run["state"], run["exit_code"], run["last_step"]) == (
        "a1",
        "bright-river-3",
        "finished",
        0,
        9,
    )
    assert run["config"] == {"lr": 0.01, "bad": "NaN"}
    assert run["summary"]["best"] == "-Infinity"
    assert run["metadata"] == {"os": "Linux", "python": "3.11.7", "git": {"commit": "abc123"}}
    assert (run["host"], run["username"], run["duration"], run["notes"]) == ("gpu-1", ENTITY, 12.5, "")
    assert_error(one.client.get(f"{RUN}/nope"), 404, "not_found", f"{ENTITY}/{PROJECT}/nope")


def test_patch_run(one: LiveServer) -> None:
    patched = one.client.patch(f"{RUN}/a1", json={"name": "renamed", "notes": "why", "tags": ["x", "y"]})
    assert patched.status_code == 200, patched.text
    assert (patched.json()["name"], patched.json()["notes"], patched.json()["tags"]) == ("renamed", "why", ["x", "y"])
    made_public = one.client.patch(f"{RUN}/a1", json={"visibility": "public"}).json()
    assert (made_public["visibility"], made_public["name"]) == ("public", "renamed")  # the rest is kept
    stored = one.store.get_run(ENTITY, PROJECT, "a1")
    assert stored is not None and (stored.name, stored.visibility, stored.tags) == ("renamed", "public", ["x", "y"])

    assert_error(one.client.patch(f"{RUN}/a1", json={"visibility": "secret"}), 422, "invalid", "visibility")
    assert_error(one.client.patch(f"{RUN}/a1", json={"name": ""}), 422, "invalid", "name")
    assert_error(one.client.patch(f"{RUN}/a1", json={"state": "finished"}), 422, "invalid", "state")
    assert_error(one.client.patch(f"{RUN}/a1", json={"tags": "x"}), 422, "invalid", "tags")
    assert_error(one.client.patch(f"{RUN}/nope", json={"name": "x"}), 404, "not_found", "nope")


def test_delete_run(one: LiveServer) -> None:
    deleted = one.client.delete(f"{RUN}/a1")
    assert (deleted.status_code, deleted.content) == (204, b"")
    assert one.store.get_run(ENTITY, PROJECT, "a1") is None
    assert_error(one.client.get(f"{RUN}/a1"), 404, "not_found")
    assert_error(one.client.delete(f"{RUN}/a1"), 404, "not_found")


def test_stop_refused_when_not_running(one: LiveServer) -> None:
    assert_error(one.client.post(f"{RUN}/a1/stop"), 409, "conflict", "finished", "not running")
    assert_error(one.client.post(f"{RUN}/nope/stop"), 404, "not_found")
    seed_run(one.store, "live", state=None)
    first = one.client.post(f"{RUN}/live/stop")
    assert first.status_code == 202, first.text
    asked = first.json()["stop_requested_at"]
    assert isinstance(asked, float) and first.json()["state"] == "running"
    # Asking again is a new request (a second Ctrl-C for a script that caught the first).
    assert one.client.post(f"{RUN}/live/stop").json()["stop_requested_at"] >= asked


def test_run_keys(one: LiveServer) -> None:
    assert one.client.get(f"{RUN}/a1/keys").json() == {
        "history": ["acc", "loss"],
        "system": ["system/cpu", "system/memory"],
    }
    assert_error(one.client.get(f"{RUN}/nope/keys"), 404, "not_found")


def test_console(one: LiveServer) -> None:
    get = one.client.get
    page = get(f"{RUN}/a1/console").json()
    assert [(line["line_no"], line["stream"], line["text"]) for line in page["lines"]] == [
        (0, "stdout", "epoch 1"),
        (1, "stderr", "Warning: slow"),
        (2, "stdout", "epoch 2"),
        (3, "stdout", "done"),
    ]
    assert (page["total"], page["next_after"]) == (4, 3)
    assert all(isinstance(line["t"], float) for line in page["lines"])
    tail = get(f"{RUN}/a1/console", params={"after": 1, "limit": 1}).json()
    assert ([line["text"] for line in tail["lines"]], tail["next_after"]) == (["epoch 2"], 2)
    end = get(f"{RUN}/a1/console", params={"after": 3}).json()
    assert (end["lines"], end["next_after"]) == ([], 3)
    found = get(f"{RUN}/a1/console", params={"search": "EPOCH"}).json()
    assert ([line["line_no"] for line in found["lines"]], found["total"], found["next_after"]) == ([0, 2], 4, 3)
    assert [
        line["line_no"] for line in get(f"{RUN}/a1/console", params={"search": "epoch", "after": 0}).json()["lines"]
    ] == [2]
    assert_error(get(f"{RUN}/a1/console", params={"limit": 0}), 422, "invalid", "limit")
    assert_error(get(f"{RUN}/a1/console", params={"after": "x"}), 422, "invalid", "after")
    assert_error(get(f"{RUN}/nope/console"), 404, "not_found")


def test_system(one: LiveServer) -> None:
    samples = one.client.get(f"{RUN}/a1/system").json()["samples"]
    assert [s["values"] for s in samples] == [
        {"system/cpu": 10.0},
        {"system/cpu": 20.0, "system/memory": 30.0},
        {"system/cpu": 30.0},
    ]
    assert [s["runtime"] for s in samples] == [10.0, 20.0, 30.0]
    later = one.client.get(f"{RUN}/a1/system", params={"after": samples[0]["t"]}).json()["samples"]
    assert later == samples[1:]
    assert_error(one.client.get(f"{RUN}/nope/system"), 404, "not_found")


def test_files(one: LiveServer) -> None:
    files = {f["name"]: f for f in one.client.get(f"{RUN}/a1/files").json()["files"]}
    assert {"requirements.txt", "page.html", "output.log", "config.yaml"} <= set(files)
    assert files["requirements.txt"]["size"] == len(b"numpy==2.0\n")
    content = one.client.get(f"{RUN}/a1/files/requirements.txt")
    assert content.content == b"numpy==2.0\n"
    assert content.headers["content-type"].startswith("text/plain")
    log = one.client.get(f"{RUN}/a1/files/output.log").text
    assert log.splitlines() == ["epoch 1", "Warning: slow", "epoch 2", "done"]
    # A saved page is never served as a page of this site.
    page = one.client.get(f"{RUN}/a1/files/page.html")
    assert page.headers["content-type"].startswith("text/plain")
    assert page.headers["content-security-policy"] == "sandbox"
    assert_error(one.client.get(f"{RUN}/a1/files/nope.txt"), 404, "not_found", "nope.txt")
    assert_error(one.client.get(f"{RUN}/nope/files"), 404, "not_found")
    assert_error(one.client.get(f"{RUN}/nope/files/output.log"), 404, "not_found")
