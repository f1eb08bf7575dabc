"""Real processes: exit paths, SIGKILL durability and heartbeats (children, concurrent writers: next file)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from process_scripts import ENTITY, run_script

from runyard.store import Store

EXIT_CODE = """
import sys, runyard
runyard.init(project="p", id="{run_id}")
runyard.log({{"x": 1}})
{ending}
"""

ACKED = """
import sys, runyard
run = runyard.init(project="p", id="{run_id}")
step = 0
while True:
    run.log({{"loss": 1.0 / (step + 1), "step_twice": step * 2}})
    # Printed only after log() returned: every acknowledged step must survive SIGKILL.
    sys.stdout.write(f"{{step}}\\n")
    sys.stdout.flush()
    step += 1
"""

HEARTBEAT = """
import time, runyard
run = runyard.init(project="p", id="{run_id}")
run.log({{"x": 1}})
print("started", flush=True)
time.sleep({sleep})
run.finish()
"""


@pytest.mark.parametrize(
    ("ending", "state", "code"),
    [
        ("", "finished", 0),
        ("sys.exit(0)", "finished", 0),
        ("sys.exit(3)", "failed", 3),
        ("raise ValueError('boom')", "failed", 1),
        ("raise KeyboardInterrupt", "killed", 255),
        ("runyard.finish(exit_code=7)", "failed", 7),
    ],
)
def test_exit_paths_set_state_and_exit_code(tmp_path: Path, store_url: str, ending: str, state: str, code: int) -> None:
    proc = run_script(EXIT_CODE.format(run_id="r1", ending=ending), tmp_path, store_url)
    store = Store.open(store_url)
    try:
        run = store.get_run(ENTITY, "p", "r1")
        assert run is not None, proc.stderr
        assert (run.state, run.exit_code) == (state, code), proc.stderr
        assert [r["x"] for r in store.history(ENTITY, "p", "r1")] == [1]
    finally:
        store.close()


def _children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(p) for p in path.read_text().split()] if path.exists() else []


@pytest.mark.parametrize("also_kill_ingester", [False, True], ids=["trainer", "trainer+ingester"])
def test_sigkill_loses_no_acknowledged_point(tmp_path: Path, store_url: str, also_kill_ingester: bool) -> None:
    script = tmp_path / "train.py"
    script.write_text(ACKED.format(run_id="killed"))
    env = {
        **os.environ,
        "RUNYARD_DIR": str(tmp_path),
        "RUNYARD_STORE_URL": store_url,
        "RUNYARD_SILENT": "1",
        "RUNYARD_CRASH_TIMEOUT": "1",
    }
    proc = subprocess.Popen([sys.executable, str(script)], cwd=tmp_path, env=env, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    acked = -1
    deadline = time.monotonic() + 60
    # Let it log for a while (the ingester takes some batches meanwhile), then kill it mid-loop.
    while acked < 3000 and time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        acked = int(line)
    if also_kill_ingester:  # as when the whole machine goes down: only the run log is left
        for child in _children(proc.pid):
            os.kill(child, signal.SIGKILL)
    os.kill(proc.pid, signal.SIGKILL)
    rest = proc.stdout.read()
    proc.wait()
    for line in rest.splitlines():
        if line.strip().isdigit():
            acked = int(line)
    assert acked >= 3000

    # The CLI catches up on what the dead process had not ingested.
    sync = subprocess.run(
        [
            sys.executable,
            "-m",
            "runyard.cli",
            "sync",
            "--dir",
            str(tmp_path),
            "--store-url",
            store_url,
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert sync.returncode == 0, sync.stderr
    assert "damaged" not in sync.stderr and "lost" not in sync.stderr  # a torn last record is not damage
    store = Store.open(store_url, crash_timeout=1)
    try:
        rows = list(store.history(ENTITY, "p", "killed"))
        steps = [r["_step"] for r in rows]
        assert steps == list(range(len(steps)))  # no duplicates, no gaps
        assert len(steps) >= acked + 1
        assert all(r["step_twice"] == r["_step"] * 2 for r in rows)
        time.sleep(1.2)
        assert store.get_run(ENTITY, "p", "killed").state == "crashed"
    finally:
        store.close()

    # Replaying again changes nothing.
    again = subprocess.run(
        [
            sys.executable,
            "-m",
            "runyard.cli",
            "sync",
            "--force",
            "--dir",
            str(tmp_path),
            "--store-url",
            store_url,
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert again.returncode == 0, again.stderr
    store = Store.open(store_url)
    try:
        assert len(list(store.history(ENTITY, "p", "killed"))) == len(steps)
    finally:
        store.close()


def test_heartbeats_keep_a_quiet_run_running(tmp_path: Path, store_url: str) -> None:
    script = tmp_path / "train.py"
    script.write_text(HEARTBEAT.format(run_id="quiet", sleep=8))
    env = {
        **os.environ,
        "RUNYARD_DIR": str(tmp_path),
        "RUNYARD_STORE_URL": store_url,
        "RUNYARD_SILENT": "1",
        "RUNYARD_HEARTBEAT_INTERVAL": "0.3",
    }
    proc = subprocess.Popen([sys.executable, str(script)], cwd=tmp_path, env=env, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "started"
    store = Store.open(store_url, crash_timeout=1.5)
    try:
        deadline = time.monotonic() + 30  # the ingester process may still be starting on a loaded machine
        while store.get_run(ENTITY, "p", "quiet") is None and time.monotonic() < deadline:
            time.sleep(0.05)
        states = []
        for _ in range(5):
            time.sleep(0.6)
            run = store.get_run(ENTITY, "p", "quiet")
            states.append(run.state if run else None)
        assert proc.wait(timeout=60) == 0
        assert states == ["running"] * 5
        assert store.get_run(ENTITY, "p", "quiet").state == "finished"
    finally:
        store.close()


def test_crashed_run_reads_running_when_data_arrives_again(tmp_path: Path, store_url: str) -> None:
    script = tmp_path / "train.py"
    script.write_text(ACKED.format(run_id="again"))
    env = {
        **os.environ,
        "RUNYARD_DIR": str(tmp_path),
        "RUNYARD_STORE_URL": store_url,
        "RUNYARD_SILENT": "1",
    }
    proc = subprocess.Popen([sys.executable, str(script)], cwd=tmp_path, env=env, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    for _ in range(50):
        proc.stdout.readline()
    time.sleep(1.0)  # let the ingester take a batch
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    store = Store.open(store_url, crash_timeout=1)
    try:
        # The orphaned ingester (which may still have been starting when the trainer died) first stores what the
        # run log holds, each batch refreshing the heartbeat, then marks the run crashed: on a loaded machine that
        # takes longer than the crash timeout.
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            found = store.get_run(ENTITY, "p", "again")
            if found is not None and found.state == "crashed":
                break
            time.sleep(0.1)
        found = store.get_run(ENTITY, "p", "again")
        assert found is not None and found.state == "crashed"
    finally:
        store.close()
    script = tmp_path / "resume.py"
    script.write_text(
        "import runyard, time\nrun = runyard.init(project='p', id='again', resume='must')\n"
        "run.log({'loss': 0.0})\nprint(run.step, flush=True)\ntime.sleep(30)\n"
    )
    resumed = subprocess.Popen(
        [sys.executable, str(script)],
        cwd=tmp_path,
        env={**env, "RUNYARD_INGEST_INTERVAL": "0.05"},
        stdout=subprocess.PIPE,
        text=True,
    )
    assert resumed.stdout is not None
    next_step = int(resumed.stdout.readline())
    store = Store.open(store_url, crash_timeout=1)
    try:
        deadline = time.monotonic() + 20
        # Only the new row is read while waiting: re-reading a 100,000-step history on a loaded machine could
        # take longer than the 1 s crash timeout, and the resumed process logs nothing more after it.
        rows = list(store.history(ENTITY, "p", "again", min_step=next_step - 1))
        while not rows and time.monotonic() < deadline:
            time.sleep(0.1)
            rows = list(store.history(ENTITY, "p", "again", min_step=next_step - 1))
        assert store.get_run(ENTITY, "p", "again").state == "running"
        assert rows[-1]["loss"] == 0.0 and rows[-1]["_step"] == next_step - 1
    finally:
        resumed.kill()
        resumed.wait()
        store.close()
