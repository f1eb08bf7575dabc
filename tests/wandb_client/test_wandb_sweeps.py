"""The real wandb client's sweeps against a runyard server: wandb.sweep / wandb.agent / Api().sweep and the
`wandb sweep` / `wandb agent` commands."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
import yaml
from wandb_clients import ENTITY, KEY, LATEST, OLDER, SCENARIOS, LiveServer, client_python, last_line, ok


@pytest.mark.parametrize("version", [LATEST, OLDER[-1]])
def test_wandb_sweep_agent_and_api(server: LiveServer, project: str, tmp_path: Path, version: str) -> None:
    result = ok(server.run_client(version, "sweep", project, tmp_path=tmp_path, timeout=240))
    sweep_id = last_line(result, "SWEEP")
    assert last_line(result, "RUNS") == "[1, 2, 3]"
    assert last_line(result, "BEST") == "1"
    assert last_line(result, "STATE") == "FINISHED"
    sweep = server.store.sweeps.find(f"{ENTITY}/{project}/{sweep_id}")
    runs = server.store.sweeps.runs(sweep)
    assert [r.params["a"] for r in runs] == [3, 1, 2]
    for r in runs:
        assert r.run is not None and r.run.state == "finished"
        assert r.run.config["a"] == r.params["a"] and r.run.config["b"] == "x"


def _cli_env(server: LiveServer, work: Path) -> dict[str, str]:
    wandb = client_python(LATEST).with_name("wandb")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WANDB_", "RUNYARD_", "PYTEST_"))}
    env.update(
        WANDB_BASE_URL=server.url,
        WANDB_API_KEY=KEY,
        WANDB_DIR=str(work),
        WANDB_CONFIG_DIR=str(work / "config"),
        WANDB_CACHE_DIR=str(work / "cache"),
        WANDB_ERROR_REPORTING="false",
        WANDB_DISABLE_CODE="true",
        PATH=f"{wandb.parent}:{env.get('PATH', '')}",
    )
    return env


def _wandb(work: Path, env: dict[str, str], *args: str) -> str:
    wandb = client_python(LATEST).with_name("wandb")
    done = subprocess.run([str(wandb), *args], cwd=work, env=env, capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout + done.stderr


def test_wandb_cli_sweep_controls(server: LiveServer, project: str, tmp_path: Path) -> None:
    work = tmp_path / "cli"
    work.mkdir()
    (work / "sweep.yaml").write_text(
        yaml.safe_dump({"method": "random", "parameters": {"x": {"min": 0.0, "max": 1.0}}})
    )
    env = _cli_env(server, work)
    out = _wandb(work, env, "sweep", "--project", project, "sweep.yaml")
    sweep_id = next(line for line in out.splitlines() if "sweep with ID:" in line).split()[-1]
    path = f"{ENTITY}/{project}/{sweep_id}"
    for flag, state in (("--pause", "PAUSED"), ("--resume", "RUNNING"), ("--cancel", "CANCELED")):
        _wandb(work, env, "sweep", flag, path)
        assert server.store.sweeps.find(path).state == state


def test_wandb_cli_sweep_and_agent_with_hyperband(server: LiveServer, project: str, tmp_path: Path) -> None:
    work = tmp_path / "cli"
    work.mkdir()
    (work / "train.py").write_text((SCENARIOS / "sweep_train.py").read_text())
    config = {
        "program": "train.py",
        "method": "grid",
        "metric": {"name": "loss", "goal": "minimize"},
        "early_terminate": {"type": "hyperband", "min_iter": 3, "eta": 2},
        # The run that falls behind runs long enough for the client to send its history while it runs.
        "parameters": {
            "cfg": {"values": [{"a": 0, "pause": 0.02}, {"a": 5, "pause": 1.0}]},
            "steps": {"value": 60},
        },
    }
    (work / "sweep.yaml").write_text(yaml.safe_dump(config))
    env = _cli_env(server, work)
    out = _wandb(work, env, "sweep", "--project", project, "sweep.yaml")
    sweep_id = next(line for line in out.splitlines() if "sweep with ID:" in line).split()[-1]
    _wandb(work, env, "agent", "--count", "2", f"{ENTITY}/{project}/{sweep_id}")
    sweep = server.store.sweeps.find(f"{ENTITY}/{project}/{sweep_id}")
    good, bad = server.store.sweeps.runs(sweep)
    assert good.run is not None and good.run.state == "finished" and good.run.last_step == 59
    assert bad.stop_reason == "hyperband", server.store.series(ENTITY, project, bad.run_id, "loss")
    assert bad.run is not None and bad.run.last_step < 59
