"""Never lose a logged point, through real processes: records of any size, a full disk, stated size limits."""

from __future__ import annotations

import ctypes
import errno
import getpass
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from durability_helpers import offline_logs, sync, train

from runyard.store import Store

ENTITY = getpass.getuser()

# 12 values of ~0.9 MB each: an 11 MB record, 40 times the ingester's batch and 10 times a reader's chunk.
BIG_THEN_SMALL = """
import runyard
run = runyard.init(project="p", id="big", mode="{mode}")
run.log({{f"k{{i}}": chr(97 + i) * 900_000 for i in range(12)}})
for i in range(5):
    run.log({{"x": i}})
run.config.update({{"vocab": "v" * 900_000}})
run.summary["note"] = "s" * 900_000
run.finish()
"""


def _check_big_run(store_url: str) -> None:
    with Store.open(store_url) as store:
        run = store.get_run(ENTITY, "p", "big")
        assert run is not None and run.state == "finished"
        rows = list(store.history(ENTITY, "p", "big"))
        assert [r["_step"] for r in rows] == list(range(6))
        assert all(rows[0][f"k{i}"] == chr(97 + i) * 900_000 for i in range(12))
        assert [r.get("x") for r in rows[1:]] == list(range(5))
        assert run.config["vocab"] == "v" * 900_000 and run.summary["note"] == "s" * 900_000


def test_a_record_larger_than_any_read_is_stored_live(tmp_path: Path, store_url: str) -> None:
    done = train(BIG_THEN_SMALL.format(mode="online"), tmp_path, store_url)
    assert done.returncode == 0, done.stderr[-3000:]
    _check_big_run(store_url)
    assert "big) finished: 6 steps in the store" in done.stderr  # read back from the store


def test_a_record_larger_than_any_read_is_stored_by_sync(tmp_path: Path, store_url: str) -> None:
    done = train(BIG_THEN_SMALL.format(mode="offline"), tmp_path, store_url)
    assert done.returncode == 0, done.stderr[-3000:]
    synced = sync(tmp_path, store_url)
    assert synced.returncode == 0, synced.stderr[-3000:]
    _check_big_run(store_url)
    assert f"run {ENTITY}/p/big holds 6 steps in the store" in synced.stdout


LIMITS = """
import runyard
from runyard.errors import TooLargeError
run = runyard.init(project="p", id="limits", config={{"lr": 0.1}})
run.log({{"x": 0}})
attempts = [
    lambda: run.log({{"x": 1, "huge": "a" * 50_000_000}}),
    lambda: run.log({{"x": 1, "wide": "b" * 1_200_000}}),
    lambda: run.log({{f"k{{i}}": "c" * 1_000_000 for i in range(27)}}),
    lambda: run.config.update({{"huge": "d" * 50_000_000}}),
    lambda: run.config.update({{"lr": "e" * 2_000_000}}, allow_val_change=True),
    lambda: run.summary.update({{"huge": "f" * 50_000_000}}),
]
for attempt in attempts:
    try:
        attempt()
    except TooLargeError as exc:
        print("refused:", exc, flush=True)
    else:
        print("accepted", flush=True)
run.log({{"x": 1, "under": "g" * 1_000_000}})
assert run.config["lr"] == 0.1 and "huge" not in run.config and "huge" not in run.summary
run.finish()
"""


def test_size_limits_refuse_the_call_before_writing_and_affect_nothing_else(tmp_path: Path, store_url: str) -> None:
    done = train(LIMITS.format(), tmp_path, store_url, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    refused = [line for line in done.stdout.splitlines() if line.startswith("refused:")]
    assert len(refused) == 6, done.stdout
    assert "'huge' takes 47.7 MiB" in refused[0] and "at most 1.0 MiB" in refused[0]
    assert "'wide'" in refused[1]
    assert "records 25.7 MiB" in refused[2] and "at most 25.0 MiB" in refused[2]
    assert "runyard.config" in refused[3] and "runyard.config" in refused[4] and "runyard.summary" in refused[5]
    assert all("Nothing from this call was logged" in line for line in refused)
    with Store.open(store_url) as store:
        run = store.get_run(ENTITY, "p", "limits")
        assert run is not None and run.state == "finished"
        assert run.config == {"lr": 0.1}
        assert "huge" not in run.summary
        rows = list(store.history(ENTITY, "p", "limits"))
        assert [(r["_step"], r["x"]) for r in rows] == [(0, 0), (1, 1)]  # the refused calls took no step
        assert rows[1]["under"] == "g" * 1_000_000


DISK_FULL = """
import os, resource, signal, runyard
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a file over its size limit: EFBIG instead of death
run = runyard.init(project="p", id="full")
run.log({{"i": -1}})
{fill}
acked, step = [], 0
while True:
    try:
        run.log({{"i": step, "pad": "x" * 300}})
    except OSError as exc:
        print("failed", step, exc.errno, exc, flush=True)
        break
    acked.append(step)
    step += 1
print("acked", len(acked), flush=True)
{free}
for j in range(200):
    run.log({{"i": 100000 + j, "pad": "y"}})
run.finish()
"""

# The run log may grow by 60 KB more, then every write to it fails (the ingester started before, without the limit).
FSIZE_FILL = (
    "resource.setrlimit(resource.RLIMIT_FSIZE, (os.path.getsize(run.run_log_path) + 60_000, resource.RLIM_INFINITY))"
)
FSIZE_FREE = "resource.setrlimit(resource.RLIMIT_FSIZE, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))"


def _check_disk_full(done: subprocess.CompletedProcess[str], store_url: str, errno_name: str) -> None:
    assert done.returncode == 0, done.stderr[-3000:]
    failed = next(line for line in done.stdout.splitlines() if line.startswith("failed"))
    _, step, code, message = failed.split(" ", 3)
    acked = int(next(line for line in done.stdout.splitlines() if line.startswith("acked")).split()[1])
    assert acked == int(step) > 40
    with Store.open(store_url) as store:
        run = store.get_run(ENTITY, "p", "full")
        assert run is not None and run.state == "finished"
        rows = list(store.history(ENTITY, "p", "full"))
        # Every acknowledged step, then every step logged once there was room again; the failed call took no step.
        assert [r["i"] for r in rows] == [-1, *range(acked), *range(100000, 100200)]
        assert [r["_step"] for r in rows] == list(range(len(rows)))
    assert int(code) == getattr(errno, errno_name)
    assert "It was not logged; everything logged before it is kept" in message
    assert "1 step could not be written to the run log" in done.stderr
    assert "Nothing" not in done.stderr and f"{len(rows)} steps in the store" in done.stderr


def test_a_full_disk_loses_no_acknowledged_step(tmp_path: Path, store_url: str) -> None:
    done = train(DISK_FULL.format(fill=FSIZE_FILL, free=FSIZE_FREE), tmp_path, store_url)
    _check_disk_full(done, store_url, "EFBIG")


def _mount_tmpfs(where: Path, size: str) -> bool:
    where.mkdir()
    libc = ctypes.CDLL(None, use_errno=True)
    return libc.mount(b"tmpfs", str(where).encode(), b"tmpfs", 0, f"size={size}".encode()) == 0


@pytest.mark.skipif(not hasattr(os, "getuid") or os.getuid() != 0, reason="mounting a tmpfs needs root")
def test_a_full_tmpfs_loses_no_acknowledged_step(tmp_path: Path, store_url: str) -> None:
    disk = tmp_path / "small-disk"
    if not _mount_tmpfs(disk, "2m"):
        pytest.skip("this machine does not let us mount a tmpfs (a container without CAP_SYS_ADMIN?)")
    try:
        store = store_url if store_url.startswith("postgresql") else f"sqlite:///{tmp_path}/store/runyard.db"
        fill = (
            "filler = os.path.join(os.path.dirname(run.run_log_path), 'filler')\n"
            "with open(filler, 'wb') as f:\n"
            "    free = os.statvfs(filler).f_bavail * os.statvfs(filler).f_frsize\n"
            "    f.write(b'0' * (free - 60_000))"
        )
        done = train(
            DISK_FULL.format(fill=fill, free="os.unlink(filler)"),
            tmp_path,
            store,
            RUNYARD_DIR=str(disk / "runyard"),
        )
        _check_disk_full(done, store, "ENOSPC")
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=False)
        shutil.rmtree(disk, ignore_errors=True)


def test_the_offline_finish_names_the_sync_command_that_stores_the_run(tmp_path: Path, store_url: str) -> None:
    done = train(
        'import runyard\nrun = runyard.init(project="p", id="off", mode="offline")\nrun.log({"x": 1})\nrun.finish()\n',
        tmp_path,
        store_url,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    (log,) = offline_logs(tmp_path)
    assert f"its run log holds everything logged: {log}" in done.stderr
    command = next(line for line in done.stderr.splitlines() if "to store it, run: " in line).split("run: ", 1)[1]
    argv = shlex.split(command)
    assert argv[:2] == ["runyard", "sync"] and argv[-1] == str(log)
    stored = subprocess.run(
        [sys.executable, "-m", "runyard.cli", *argv[1:]],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert stored.returncode == 0, stored.stderr
    assert f"run {ENTITY}/p/off holds 1 step in the store" in stored.stdout  # "1 step", read back
    with Store.open(store_url) as store:
        assert [r["x"] for r in store.history(ENTITY, "p", "off")] == [1]
