"""The public API's place in the import graph: above the store, below nothing, and free to import."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import runyard

SRC = Path(runyard.__file__).parent


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


def test_nothing_below_the_api_imports_it() -> None:
    for package in ("sdk", "store", "sinks", "runlog"):
        for path in (SRC / package).rglob("*.py"):
            assert not any(m == "runyard.api" or m.startswith("runyard.api.") for m in _imports(path)), path


def test_the_api_reaches_the_store_not_the_sdk() -> None:
    for path in (SRC / "api").rglob("*.py"):
        modules = _imports(path)
        assert not any(m.startswith(("runyard.sdk", "runyard.sinks")) for m in modules), path


def test_import_runyard_and_the_api_stay_light() -> None:
    child_env = {k: v for k, v in os.environ.items() if not k.startswith(("RUNYARD_", "WANDB_"))}
    code = (
        "import sys, runyard\n"
        "assert 'runyard.api' not in sys.modules\n"
        "api_class = runyard.Api\n"
        "from runyard import Api\n"
        "assert Api is api_class and 'Api' in runyard.__all__\n"
        "heavy = [m for m in ('sqlalchemy', 'pandas', 'numpy', 'runyard.store') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, env=child_env, timeout=60)


def test_all_is_sorted_and_exports_the_api() -> None:
    assert runyard.__all__ == sorted(runyard.__all__)
    assert "Api" in runyard.__all__
    from runyard import api

    assert api.__all__ == sorted(api.__all__)
