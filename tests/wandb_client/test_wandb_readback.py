"""``wandb.Api()`` pointed at runyard: runs with filters and order, one run, its history in every read path,
system metrics, files and downloads, projects, and edits, checked against what the store holds.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from wandb_clients import ENTITY, VERSIONS, LiveServer, last_line, ok

from runyard.records import KIND_EXIT, KIND_ROW, KIND_START


def _seed_other_run(server: LiveServer, project: str) -> None:
    """A second run, stored as the runyard SDK would store it: filters must tell the two apart."""
    start = {
        "session": f"s-{project}",
        "run_id": "other01",
        "project": project,
        "entity": ENTITY,
        "name": "other",
        "notes": None,
        "tags": [],
        "group": None,
        "job_type": None,
        "config": {"lr": 0.01},
        "created_at": 1.0,
        "started_at": 1.0,
        "resumed": False,
        "start_step": 0,
        "runtime_offset": 0.0,
        "host": "h",
        "pid": 1,
        "username": "local",
        "program": "p.py",
        "mode": "online",
    }
    server.store.ingest(
        [
            [1, KIND_START, start],
            [2, KIND_ROW, {"_step": 0, "_runtime": 1.0, "_timestamp": 2.0, "acc": 0.5}],
            [3, KIND_EXIT, {"exit_code": 1, "state": "failed", "t": 3.0, "runtime": 2.0}],
        ]
    )


@pytest.mark.parametrize("version", VERSIONS)
def test_wandb_api_reads_back_what_the_store_holds(
    server: LiveServer, project: str, tmp_path: Path, version: str
) -> None:
    _seed_other_run(server, project)
    run_id = last_line(ok(server.run_client(version, "basic", project, tmp_path=tmp_path)), "RUN_ID")
    result = ok(server.run_client(version, "readback", f"{ENTITY}/{project}", run_id, tmp_path=tmp_path, timeout=120))
    got = json.loads(last_line(result, "RESULT"))
    store = server.store

    assert got["runs_all"] == ["other01", run_id]  # +created_at
    assert got["runs_finished"] == [run_id]
    assert got["runs_lr"] == [run_id]
    assert got["runs_tag"] == [run_id]
    assert got["runs_or"] == [run_id, "other01"] or sorted(got["runs_or"]) == sorted([run_id, "other01"])
    assert got["projects"].count(project) == 1

    run = got["run"]
    assert (run["id"], run["name"], run["state"]) == (run_id, "basic-run", "finished")
    assert run["tags"] == ["baseline", "wandb"] and run["notes"] == "logged by the real wandb client"
    assert (run["group"], run["job_type"]) == ("grp", "train")
    assert run["config"] == {"lr": 0.1, "optimizer": {"name": "adam", "beta": 0.9}, "late": 3}
    assert run["last_step"] == 19
    assert run["summary"]["best"] == 0.5 and run["summary"]["val/loss"] == {"min": pytest.approx(0.1)}

    stored = list(store.history(ENTITY, project, run_id))
    assert got["history"] == stored
    assert got["scan"] == stored
    with_val = [{"_step": r["_step"], "val/loss": r["val/loss"]} for r in stored if "val/loss" in r]
    assert got["history_keys"] == with_val
    assert got["scan_keys"] == [
        {"_step": r["_step"], "epoch": r["epoch"], "val/loss": r["val/loss"]} for r in stored if "val/loss" in r
    ]
    system = store.system_history(ENTITY, project, run_id)
    assert len(got["system"]) == len(system)
    assert got["system"][0]["system.memory_percent"] == system[0]["system/memory_percent"]

    assert {"requirements.txt", "wandb-metadata.json", "output.log", "config.yaml"} <= set(got["files"])
    assert got["requirements"].encode() == store.file_content(ENTITY, project, run_id, "requirements.txt")

    edited = store.get_run(ENTITY, project, run_id)
    assert edited.tags == ["baseline", "wandb", "edited"] and edited.notes == "edited notes"
    assert edited.config["added"] == 7 and edited.config["lr"] == 0.1
    assert edited.summary["extra"] == 2 and edited.summary["best"] == 0.5
    assert "_wandb" not in edited.summary
    assert got["edited"]["tags"] == edited.tags and got["edited"]["config"]["added"] == 7
