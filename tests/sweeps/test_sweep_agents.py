"""Agents as W&B users run them: real processes, the CLI, `import runyard as wandb` scripts, hyperband stops."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml

from runyard.store import Store

SRC = str(Path(__file__).resolve().parents[2] / "src")

TRAIN = """
import time
import runyard as wandb

run = wandb.init(project="ignored-by-the-sweep")
a, b = wandb.config.a, wandb.config["b"]
wandb.config.update({"a": 999, "extra": 1})  # a sweep key: ignored with a warning (W&B's rule)
steps = int(wandb.config.get("steps", 3))
for step in range(steps):
    wandb.log({"loss": a + (0 if b == "x" else 0.5) + 1 / (step + 1)})
    time.sleep(float(wandb.config.get("pause", 0)))
wandb.finish()
"""


def _env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RUNYARD_", "WANDB_"))}
    env.update(PYTHONPATH=SRC, RUNYARD_DISABLE_STATS="true", RUNYARD_DIR=str(tmp_path))
    return env


def _cli(tmp_path: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [sys.executable, "-m", "runyard.cli", *args],
        cwd=tmp_path,
        env=_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=240,
    )
    if check:
        assert done.returncode == 0, done.stderr
    return done


def _create(tmp_path: Path, store_url: str, config: dict) -> str:
    (tmp_path / "train.py").write_text(TRAIN)
    (tmp_path / "sweep.yaml").write_text(yaml.safe_dump(config))
    out = _cli(tmp_path, "sweep", "sweep.yaml", "--project", "sw", "--entity", "ann", "--store-url", store_url)
    line = next(x for x in out.stdout.splitlines() if "Created sweep with ID:" in x)
    return line.rsplit(" ", 1)[1]


def test_two_agent_processes_share_a_grid_without_repeats(tmp_path: Path, store_url: str) -> None:
    grid = {
        "program": "train.py",
        "method": "grid",
        "metric": {"name": "loss", "goal": "minimize"},
        "parameters": {"a": {"values": [1, 2, 3]}, "b": {"values": ["x", "y"]}},
    }
    sweep_id = _create(tmp_path, store_url, grid)
    agents = [
        subprocess.Popen(
            [sys.executable, "-m", "runyard.cli", "agent", f"ann/sw/{sweep_id}", "--store-url", store_url],
            cwd=tmp_path,
            env=_env(tmp_path),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    outputs = [p.communicate(timeout=240) for p in agents]
    assert [p.returncode for p in agents] == [0, 0], outputs
    with Store.open(store_url) as store:
        sweep = store.sweeps.find(sweep_id)
        assert sweep.state == "FINISHED"
        runs = store.sweeps.runs(sweep)
        agents_used = {r.agent_id for r in runs}
        points = sorted((r.params["a"], r.params["b"]) for r in runs)
        assert points == sorted({(a, b) for a in (1, 2, 3) for b in ("x", "y")})
        assert len(agents_used) == 2  # both agents took part
        for r in runs:
            assert r.run is not None and r.run.state == "finished", r
            assert r.run.project == "sw" and r.run.entity == "ann"
            # The sweep's values, not the script's update; the script's own keys are kept.
            assert r.run.config["a"] == r.params["a"] and r.run.config["extra"] == 1
        best = store.sweeps.best_run(sweep)
        assert best is not None and best.params == {"a": 1, "b": "x"}
    with_all = "\n".join(err for _, err in outputs)
    assert "Config item 'a' was locked by 'sweep' (ignored update)" in with_all


def test_hyperband_stops_a_real_training_process_that_falls_behind(tmp_path: Path) -> None:
    store_url = f"sqlite:///{tmp_path}/store/runyard.db"
    config = {
        "program": "train.py",
        "method": "grid",
        "metric": {"name": "loss", "goal": "minimize"},
        "early_terminate": {"type": "hyperband", "min_iter": 3, "eta": 2},
        "parameters": {
            "a": {"values": [0, 5]},
            "b": {"value": "x"},
            "steps": {"value": 60},
            "pause": {"value": 0.1},
        },
    }
    sweep_id = _create(tmp_path, store_url, config)
    _cli(tmp_path, "agent", sweep_id, "--store-url", store_url)
    with Store.open(store_url) as store:
        sweep = store.sweeps.find(sweep_id)
        good, bad = store.sweeps.runs(sweep)
        assert good.run is not None and good.run.state == "finished" and good.run.last_step == 59
        assert good.stopped_at is None
        # Behind at band 3 (5.33 against the good run's 0.33): stopped through Stop, ending killed.
        assert bad.run is not None and bad.run.state == "killed", bad
        assert bad.stop_reason == "hyperband" and bad.run.stop_requested_at is not None
        assert bad.run.last_step < 59


def test_function_agent_and_api_sweep(tmp_path: Path) -> None:
    script = textwrap.dedent(
        """
        import runyard as wandb

        sweep_id = wandb.sweep(
            {
                "method": "random",
                "seed": 4,
                "metric": {"name": "score", "goal": "maximize"},
                "parameters": {"lr": {"distribution": "log_uniform_values", "min": 0.001, "max": 0.1}},
            },
            project="fn",
        )

        def train():
            with wandb.init() as run:
                assert run.sweep_id == sweep_id
                run.log({"score": run.config.lr})

        wandb.agent(sweep_id, function=train, count=3)
        api = wandb.Api()
        sweep = api.sweep(f"fn/{sweep_id}")
        runs = sweep.runs
        best = sweep.best_run()
        assert len(runs) == 3 and all(r.state == "finished" for r in runs), runs
        assert best.summary["score"] == max(r.config["lr"] for r in runs)
        assert sweep.state == "RUNNING" and sweep.config["method"] == "random"
        print("ok", sweep_id)
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=tmp_path, env=_env(tmp_path), capture_output=True, text=True, timeout=240
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("ok ")
    sweep_id = done.stdout.split()[1]
    assert "is PAUSED" in _cli(tmp_path, "sweep", "--pause", sweep_id).stdout
    assert "is RUNNING" in _cli(tmp_path, "sweep", "--resume", f"fn/{sweep_id}").stdout
    assert "is FINISHED" in _cli(tmp_path, "sweep", "--stop", sweep_id).stdout
    refused = _cli(tmp_path, "sweep", "--resume", sweep_id, check=False)
    assert refused.returncode == 2 and "FINISHED: cannot resume" in refused.stderr
    assert "is CANCELED" in _cli(tmp_path, "sweep", "--cancel", sweep_id).stdout


def test_an_invalid_config_is_refused_with_the_key(tmp_path: Path) -> None:
    (tmp_path / "sweep.yaml").write_text("method: grid\nparameters:\n  lr: {min: 0.1, max: 0.01}\n")
    done = _cli(tmp_path, "sweep", "sweep.yaml", check=False)
    assert done.returncode == 2
    assert "Invalid sweep config: parameters.lr" in done.stderr


@pytest.fixture(autouse=True)
def _no_inherited_run_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in list(os.environ):
        if key.startswith(("RUNYARD_SWEEP", "WANDB_SWEEP")):
            monkeypatch.delenv(key)


def test_hyperband_stops_a_function_run_and_the_agent_goes_on(tmp_path: Path) -> None:
    script = textwrap.dedent(
        """
        import time
        import runyard as wandb

        sweep_id = wandb.sweep(
            {
                "method": "grid",
                "metric": {"name": "loss", "goal": "minimize"},
                "early_terminate": {"type": "hyperband", "min_iter": 3, "eta": 2},
                # the third run is ahead of the first at every band: whether the killed second one logged 11
                # or 12 steps before its stop landed must not decide its fate
                "parameters": {"a": {"values": [0, 5, -0.1]}},
            },
            project="hb",
        )

        def train():
            run = wandb.init()
            for step in range(40):
                run.log({"loss": run.config.a + 1 / (step + 1)})
                time.sleep(0.1)
            run.finish()

        wandb.agent(sweep_id, function=train)
        sweep = wandb.Api().sweep(f"hb/{sweep_id}")
        print("STATES", [r.state for r in sweep.runs])
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=tmp_path, env=_env(tmp_path), capture_output=True, text=True, timeout=240
    )
    assert done.returncode == 0, done.stderr
    # The run behind at band 3 is stopped (KeyboardInterrupt in the function, the run killed); the next one runs.
    assert done.stdout.strip().splitlines()[-1] == "STATES ['finished', 'killed', 'finished']", done.stderr
