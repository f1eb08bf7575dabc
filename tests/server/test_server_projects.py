"""Projects: list and search, one project, its keys, and the user's saved workspace."""

from __future__ import annotations

import getpass
import math

from live_server import ENTITY, PROJECT, LiveServer, assert_error, seed_run


def test_list_search_and_get_projects(live: LiveServer) -> None:
    assert live.client.get("/projects").json() == {"projects": []}
    seed_run(live.store, "a1", project="cifar")
    seed_run(live.store, "b1")
    seed_run(live.store, "b2")
    projects = live.client.get("/projects").json()["projects"]
    assert [(p["entity"], p["name"], p["run_count"]) for p in projects] == [(ENTITY, PROJECT, 2), (ENTITY, "cifar", 1)]
    assert all(p["created_at"] <= p["last_activity"] for p in projects)
    assert [p["name"] for p in live.client.get("/projects", params={"search": "MN"}).json()["projects"]] == [PROJECT]
    assert live.client.get("/projects", params={"search": "zzz"}).json() == {"projects": []}

    one = live.client.get(f"/projects/{ENTITY}/{PROJECT}").json()
    assert one == projects[0]
    assert_error(live.client.get(f"/projects/{ENTITY}/nope"), 404, "not_found", f"{ENTITY}/nope")


def test_project_keys(live: LiveServer) -> None:
    seed_run(
        live.store,
        "a1",
        config={"lr": 0.1, "optimizer": {"name": "adam", "beta": 0.9}},
        rows=[{"train/loss": 1.0, "acc": 0.5}],
        summary={"best": {"loss": 0.1}},
        system=[{"system/cpu": 10.0, "system/memory": 40.0}],
    )
    seed_run(live.store, "a2", config={"seed": 3}, rows=[{"val/loss": 2.0}], system=[{"system/gpu.0.gpu": 5.0}])
    keys = live.client.get(f"/projects/{ENTITY}/{PROJECT}/keys").json()
    assert keys["config"] == ["lr", "optimizer.beta", "optimizer.name", "seed"]
    assert {"acc", "best.loss", "train/loss", "val/loss"} <= set(keys["summary"])
    assert keys["summary"] == sorted(keys["summary"])
    assert keys["history"] == ["acc", "train/loss", "val/loss"]  # no _step, _runtime, _timestamp
    assert keys["system"] == ["system/cpu", "system/gpu.0.gpu", "system/memory"]
    assert_error(live.client.get(f"/projects/{ENTITY}/nope/keys"), 404, "not_found", "nope")


def test_workspace_round_trip(live: LiveServer) -> None:
    seed_run(live.store, "a1")
    path = f"/projects/{ENTITY}/{PROJECT}/workspace"
    assert live.client.get(path).json() == {"settings": {}, "updated_at": None}
    settings = {"hidden": ["a1"], "colors": {"a1": "#ff0000"}, "n": 10, "nested": {"list": [1, None, "x"]}}
    saved = live.client.put(path, json={"settings": settings})
    assert saved.status_code == 200, saved.text
    assert saved.json()["settings"] == settings
    assert isinstance(saved.json()["updated_at"], float)
    assert live.client.get(path).json() == saved.json()
    # Saving replaces the whole object.
    again = live.client.put(path, json={"settings": {"n": 5}}).json()
    assert again["settings"] == {"n": 5}
    assert live.client.get(path).json() == again
    # A non-finite number goes out as a string, as everywhere.
    live.client.put(path, content=b'{"settings": {"x": NaN}}', headers={"content-type": "application/json"})
    assert live.client.get(path).json()["settings"] == {"x": "NaN"}
    assert math.isnan(live.store.get_workspace(ENTITY, PROJECT, getpass.getuser()).settings["x"])


def test_workspace_errors(live: LiveServer) -> None:
    seed_run(live.store, "a1")
    path = f"/projects/{ENTITY}/{PROJECT}/workspace"
    assert_error(live.client.get(f"/projects/{ENTITY}/nope/workspace"), 404, "not_found", "nope")
    assert_error(live.client.put(f"/projects/{ENTITY}/nope/workspace", json={"settings": {}}), 404, "not_found")
    assert_error(live.client.put(path, json={"settings": [1, 2]}), 422, "invalid", "settings")
    assert_error(live.client.put(path, json={"setings": {}}), 422, "invalid", "setings")
    assert_error(
        live.client.put(path, content=b"{not json", headers={"content-type": "application/json"}), 422, "invalid"
    )
    big = {"blob": "x" * (1 << 20)}
    assert_error(live.client.put(path, json={"settings": big}), 413, "too_large", "1048576")
    assert live.client.get(path).json() == {"settings": {}, "updated_at": None}
