"""Seeding for the run page's browser tests: the trainer script run as a real process, in a real git checkout."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from runyard.store import RunRecord, Store

TRAINER = Path(__file__).with_name("trainer.py")
REMOTE = "https://github.com/example/trainer.git"


@dataclass
class Trained:
    record: RunRecord  # the run as the store holds it
    commit: str  # the checkout's HEAD when it ran

    @property
    def path(self) -> str:
        r = self.record
        return f"/{r.entity}/{r.project}/runs/{r.run_id}"


def checkout(where: Path) -> str:
    """A git repository at ``where`` holding the trainer, with an ``origin`` remote; returns its HEAD."""
    where.mkdir(parents=True, exist_ok=True)
    shutil.copy(TRAINER, where / "trainer.py")

    def git(*args: str) -> str:
        done = subprocess.run(
            ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
            cwd=where,
            check=True,
            capture_output=True,
            text=True,
        )
        return done.stdout.strip()

    git("init", "-q")
    git("remote", "add", "origin", REMOTE)
    git("add", "trainer.py")
    git("commit", "-q", "-m", "trainer")
    return git("rev-parse", "HEAD")


def start(mode: str, where: Path) -> tuple[subprocess.Popen[str], str]:
    """Start ``trainer.py MODE`` in ``where`` (``RUNYARD_DIR`` comes from the test's environment); returns the
    process and its run id."""
    proc = subprocess.Popen(
        [sys.executable, "trainer.py", mode],
        cwd=where,
        env=dict(os.environ),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stderr is not None
    deadline = time.monotonic() + 30
    for line in proc.stderr:
        if line.startswith("RUN_ID="):
            return proc, line.strip().split("=", 1)[1]
        assert time.monotonic() < deadline, "the trainer did not start"
    raise AssertionError(f"the trainer exited ({proc.wait()}) before starting its run")


def find_run(store_url: str, run_id: str, *, wait: float = 0.0) -> RunRecord:
    """The run as the store holds it, waiting up to ``wait`` seconds for a live run's first records."""
    deadline = time.monotonic() + wait
    with Store.open(store_url) as store:
        while True:
            for project in store.list_projects():
                found = store.get_run(project.entity, project.name, run_id)
                if found is not None:
                    return found
            if time.monotonic() > deadline:
                raise AssertionError(f"no run {run_id} in the store")
            time.sleep(0.1)


def train_finished(tmp_path: Path, store_url: str) -> Trained:
    """Run the trainer's ``finished`` mode to the end; the run as the store holds it."""
    work = tmp_path / "work"
    commit = checkout(work)
    proc, run_id = start("finished", work)
    assert proc.stderr is not None
    proc.stderr.read()
    assert proc.wait(timeout=60) == 0
    return Trained(record=find_run(store_url, run_id), commit=commit)
