"""``POST .../mark-killed``: ending a run whose stop does not land, behind the same guards as Stop."""

from __future__ import annotations

import getpass

from live_server import ENTITY, PROJECT, LiveServer, assert_error, seed_run

RUN = f"/runs/{ENTITY}/{PROJECT}/r0"
EVIL = "http://evil.example:8080"


def test_mark_killed_ends_the_run_and_says_who(live: LiveServer) -> None:
    seed_run(live.store, "r0", state=None)
    assert live.client.post(RUN + "/stop").status_code == 202
    marked = live.client.post(RUN + "/mark-killed", json={"reason": "the node is gone"})
    assert marked.status_code == 200, marked.text
    body = marked.json()
    assert (body["state"], body["exit_code"]) == ("killed", 255)
    assert body["metadata"]["marked_killed"]["reason"] == "the node is gone"
    assert body["metadata"]["marked_killed"]["by"] == getpass.getuser()  # the local user
    assert live.client.get(RUN).json()["state"] == "killed"
    killed = live.client.post(f"/projects/{ENTITY}/{PROJECT}/runs/query", json={"filters": {"state": "killed"}})
    assert [r["id"] for r in killed.json()["runs"]] == ["r0"], killed.text
    assert_error(live.client.post(RUN + "/mark-killed"), 409, "conflict", "already ended", "killed")
    assert_error(live.client.post(RUN + "/stop"), 409, "conflict", "killed")


def test_mark_killed_without_a_body(live: LiveServer) -> None:
    seed_run(live.store, "r0", state=None)
    marked = live.client.post(RUN + "/mark-killed")
    assert marked.status_code == 200, marked.text
    assert marked.json()["metadata"]["marked_killed"]["reason"] is None


def test_mark_killed_refuses_a_finished_run_and_an_unknown_one(live: LiveServer) -> None:
    seed_run(live.store, "r0")
    assert_error(live.client.post(RUN + "/mark-killed"), 409, "conflict", "already ended", "finished")
    assert live.client.get(RUN).json()["state"] == "finished"
    missing = f"/runs/{ENTITY}/{PROJECT}/nope/mark-killed"
    assert_error(live.client.post(missing), 404, "not_found", "nope")
    assert_error(live.client.post(RUN + "/mark-killed", json={"why": "x"}), 422, "invalid")


def test_a_form_post_from_another_site_does_not_mark_the_run_killed(live: LiveServer) -> None:
    seed_run(live.store, "r0", state=None)
    post = live.client.post
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    assert_error(post(RUN + "/mark-killed", content=b"x=1", headers={**form, "Origin": EVIL}), 403, "cross_site")
    assert_error(post(RUN + "/mark-killed", headers={"Sec-Fetch-Site": "cross-site"}), 403, "cross_site")
    assert_error(post(RUN + "/mark-killed", content=b"x=1", headers=form), 415, "json_required")
    assert live.client.get(RUN).json()["state"] == "running"
