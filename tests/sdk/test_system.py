"""System metrics: samples of the machine and the training process, every ``stats_sampling_interval`` seconds."""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

import runyard
from runyard.errors import UsageError
from runyard.runlog import read_all

# The names W&B's client reports (system.* in wandb-events.jsonl), with "system/" in front.
PROCESS_AND_MACHINE = {
    "system/cpu",
    "system/proc.cpu.percent",
    "system/proc.cpu.threads",
    "system/memory",
    "system/memory_percent",
    "system/proc.memory.availableMB",
    "system/proc.memory.rssMB",
    "system/proc.memory.percent",
    "system/disk./.usagePercent",
    "system/disk./.usageGB",
    "system/disk.in",
    "system/disk.out",
    "system/network.sent",
    "system/network.recv",
}


def samples(stored, run: runyard.Run) -> list[dict[str, float]]:
    return stored.store(run).system_history(run.entity, run.project, run.id)


def test_system_metrics_every_interval(stored):
    before = time.time()
    run = runyard.init(settings={"stats_sampling_interval": 1})
    for i in range(30):
        run.log({"loss": 1 / (i + 1)})
        time.sleep(0.1)
    run.finish()
    after = time.time()
    rows = samples(stored, run)
    assert len(rows) >= 2
    with_cpu = [row for row in rows if "system/cpu" in row]  # the first sample has no CPU percentage yet
    assert len(with_cpu) >= 2
    for row in rows:
        assert set(row) - {"_timestamp", "_runtime"} <= PROCESS_AND_MACHINE
        assert before <= row["_timestamp"] <= after
        assert 0 <= row["_runtime"] <= after - before
        assert 0 < row["system/memory"] <= 100
        assert row["system/proc.memory.rssMB"] > 10
        assert row["system/proc.cpu.threads"] >= 1
        assert 0 <= row["system/disk./.usagePercent"] <= 100
        assert row["system/network.sent"] >= 0
    for row in with_cpu:
        assert set(row) - {"_timestamp", "_runtime"} == PROCESS_AND_MACHINE
        assert 0 <= row["system/cpu"] <= 100
    gaps = [b["_timestamp"] - a["_timestamp"] for a, b in itertools.pairwise(rows)]
    assert all(0.8 <= gap <= 2.5 for gap in gaps), gaps
    assert rows[0]["system/proc.memory.availableMB"] == pytest.approx(
        psutil.virtual_memory().available / 2**20, rel=0.5
    )


def test_system_metrics_from_a_training_script(tmp_path, isolated_root, stored, entity):
    # As a script: about 3 s at a 1 s interval, with the interval set the W&B way.
    (tmp_path / "train.py").write_text(
        "import time, runyard\n"
        "run = runyard.init(project='sys', settings={'x_stats_sampling_interval': 1})\n"
        "time.sleep(3)\n"
        "run.finish()\n"
    )
    done = subprocess.run(
        [sys.executable, "train.py"], cwd=tmp_path, env=dict(os.environ), capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    store = stored.store(isolated_root)
    [record] = store.list_runs(entity, "sys")
    rows = store.system_history(entity, "sys", record.run_id)
    assert len([row for row in rows if "system/cpu" in row and "system/memory" in row]) >= 2
    only_cpu = store.system_history(entity, "sys", record.run_id, keys=["system/cpu"])
    assert len(only_cpu) >= 2 and all(set(row) == {"_timestamp", "_runtime", "system/cpu"} for row in only_cpu)


@pytest.mark.parametrize(
    ("settings", "env"),
    [
        ({"disable_stats": True}, {}),
        ({"x_disable_stats": True}, {}),
        ({"_disable_stats": True}, {}),
        ({}, {"RUNYARD_DISABLE_STATS": "1"}),
        ({}, {"WANDB_X_DISABLE_STATS": "true"}),
    ],
)
def test_disable_stats(monkeypatch, stored, settings, env):
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    run = runyard.init(settings={**settings, "stats_sampling_interval": 1})
    assert run._sampler is None
    time.sleep(0.3)
    run.finish()
    assert samples(stored, run) == []


def test_sampling_interval_settings(monkeypatch):
    assert runyard.Settings().resolved().stats_sampling_interval == 15
    assert runyard.Settings(stats_sampling_interval=2).resolved().stats_sampling_interval == 2
    assert runyard.Settings(x_stats_sampling_interval=3).resolved().stats_sampling_interval == 3
    assert runyard.Settings(_stats_sampling_interval=4).resolved().stats_sampling_interval == 4
    monkeypatch.setenv("RUNYARD_STATS_SAMPLING_INTERVAL", "5")
    assert runyard.Settings().resolved().stats_sampling_interval == 5
    monkeypatch.setenv("WANDB_X_STATS_SAMPLING_INTERVAL", "6")  # RUNYARD_ first
    assert runyard.Settings().resolved().stats_sampling_interval == 5
    with pytest.warns(UserWarning, match="below the minimum"):
        assert runyard.Settings(x_stats_sampling_interval=0.1).resolved().stats_sampling_interval == 1
    with pytest.raises(UsageError, match="stats_sampling_interval"):
        runyard.Settings(stats_sampling_interval=0).resolved()


def test_a_failing_probe_never_reaches_training(monkeypatch, stored, capsys):
    monkeypatch.delenv("RUNYARD_SILENT")

    def broken(path: str) -> None:
        raise PermissionError(f"cannot stat {path}")

    monkeypatch.setattr(psutil, "disk_usage", broken)
    run = runyard.init(settings={"stats_sampling_interval": 1})
    for i in range(12):
        run.log({"x": i})
        time.sleep(0.1)
    run.finish()
    err = capsys.readouterr().err
    assert err.count("system metrics: disk usage failed (PermissionError: cannot stat /)") == 1  # warned once
    assert "1 system-metrics probe(s) failed" in err  # and reported at finish
    rows = samples(stored, run)
    assert len(rows) >= 2
    assert all("system/memory" in row and "system/disk./.usageGB" not in row for row in rows)
    assert [row["_step"] for row in stored.history(run)] == list(range(12))


def test_offline_runs_record_system_metrics_in_their_run_log(tmp_path):
    (tmp_path / "train.py").write_text(
        "import time, runyard\n"
        "run = runyard.init(mode='offline', settings={'stats_sampling_interval': 1})\n"
        "time.sleep(1.5)\n"
        "run.finish()\n"
        "print(run.run_log_path)\n"
    )
    done = subprocess.run(
        [sys.executable, "train.py"], cwd=tmp_path, env=dict(os.environ), capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    bodies = [body for _, kind, body in read_all(Path(done.stdout.splitlines()[-1])) if kind == "system"]
    assert len(bodies) >= 2
    assert all(set(body) == {"t", "runtime", "values"} for body in bodies)
    assert "system/cpu" in bodies[-1]["values"]


def test_the_sampler_stops_at_finish(stored):
    run = runyard.init(settings={"stats_sampling_interval": 1})
    sampler = run._sampler
    assert sampler is not None
    time.sleep(0.2)
    run.finish()
    assert run._sampler is None
    assert not sampler._thread.is_alive()
    assert sampler.samples >= 1
