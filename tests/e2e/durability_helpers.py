"""Running trainer scripts and ``runyard sync`` as real processes, for the durability tests."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def trainer_env(tmp_path: Path, store_url: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RUNYARD_", "WANDB_"))}
    env.update(
        {
            "RUNYARD_DIR": str(tmp_path),  # the folder that holds runyard/
            "RUNYARD_STORE_URL": store_url,
            "RUNYARD_CONSOLE": "off",
            "RUNYARD_DISABLE_STATS": "1",
            "RUNYARD_DISABLE_GIT": "1",
            "RUNYARD_SAVE_REQUIREMENTS": "0",
        }
    )
    env.update(extra)
    return env


def train(
    code: str, tmp_path: Path, store_url: str, *, timeout: float = 180, **extra: str
) -> subprocess.CompletedProcess[str]:
    """Run ``code`` as a training script (not silent: its finish lines are on stderr)."""
    script = tmp_path / "train.py"
    script.write_text(code)
    return subprocess.run(
        [sys.executable, str(script)],
        cwd=tmp_path,
        env=trainer_env(tmp_path, store_url, **extra),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def sync(tmp_path: Path, store_url: str, *paths: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    """``runyard sync`` of the trainer's data folder (or ``paths``) into ``store_url``."""
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "runyard.cli",
            "sync",
            "--dir",
            str(tmp_path),
            "--store-url",
            store_url,
            *paths,
        ],
        cwd=tmp_path,
        env=trainer_env(tmp_path, store_url),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def offline_logs(tmp_path: Path) -> list[Path]:
    return sorted((tmp_path / "runyard" / "runs").glob("offline-run-*/*.rylog"))
