"""What the real-process tests run: a training script in a subprocess against a store."""

from __future__ import annotations

import getpass
import os
import subprocess
import sys
from pathlib import Path

ENTITY = getpass.getuser()


def run_script(
    code: str, cwd: Path, store_url: str, *, env: dict[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    script = cwd / "train.py"
    script.write_text(code)
    full_env = {
        **os.environ,
        "RUNYARD_DIR": str(cwd),
        "RUNYARD_STORE_URL": store_url,
        "RUNYARD_SILENT": "1",
    }
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, str(script)], cwd=cwd, env=full_env, capture_output=True, text=True, timeout=timeout
    )
