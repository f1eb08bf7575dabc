"""The shape of the package: the public API, the import layers, and documented settings."""

from __future__ import annotations

import ast
import dataclasses
import subprocess
import sys
from pathlib import Path

import runyard
from runyard.settings import Settings

SRC = Path(runyard.__file__).parent
ROOT = SRC.parents[1]

LEAVES = {
    "errors",
    "settings",
    "credentials",
    "records",
    "flatten",
    "summary_fold",
    "names",
    "util",
    "manifest_digest",
    "sweeps",
}
# layer -> the layers it may import (besides itself and the leaves).
ALLOWED = {
    "leaf": set(),
    "runlog": set(),
    "store": set(),
    "media": set(),  # the data types users log: pure, so every side can read and write them
    "sinks": {"runlog", "store"},
    "artifacts": set(),  # runyard.Artifact: handed out by the SDK and the API, reaching its store through them
    "sdk": {"runlog", "sinks", "media", "artifacts"},
    "replay": {"runlog", "store"},
    "sync": {"replay", "runlog", "store", "sinks"},
    "api": {"store", "replay", "media", "artifacts"},
    "demo": {"package", "sdk", "replay", "store"},
    "server": {"store", "replay", "media"},
    "package": {"sdk", "api", "media", "artifacts"},
    "cli": {"*"},
}


def _layer(module: str) -> str:
    parts = module.split(".")
    if len(parts) == 1:
        return "package"
    head = parts[1]
    if head in LEAVES:
        return "leaf"
    return head


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("runyard"):
            if node.module == "runyard":
                for alias in node.names:
                    is_module = (SRC / f"{alias.name}.py").exists() or (SRC / alias.name).is_dir()
                    found.add(f"runyard.{alias.name}" if is_module else "runyard")
            else:
                found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name.startswith("runyard"))
    return found


def test_public_api_is_pinned() -> None:
    assert runyard.__all__ == sorted(runyard.__all__)
    for name in runyard.__all__:
        assert hasattr(runyard, name) or name in ("run", "config", "summary"), name


def test_imports_flow_one_way() -> None:
    wrong = []
    for path in SRC.rglob("*.py"):
        rel = path.relative_to(SRC.parent).with_suffix("")
        module = ".".join(rel.parts).removesuffix(".__init__")
        layer = _layer(module)
        allowed = ALLOWED.get(layer, set())
        for target in _imports(path):
            tlayer = _layer(target)
            if tlayer in (layer, "leaf") or "*" in allowed or tlayer in allowed:
                continue
            if target == "runyard" and layer != "leaf":
                continue  # `from runyard import __version__`-style reads of the package itself
            wrong.append(f"{module} ({layer}) imports {target} ({tlayer})")
    assert wrong == []


def test_import_runyard_stays_light() -> None:
    code = (
        "import sys, runyard\n"
        "heavy = [m for m in ('sqlalchemy', 'alembic', 'numpy', 'torch', 'pandas', 'yaml') if m in sys.modules]\n"
        "print(','.join(heavy))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert out.stdout.strip() == ""


def test_the_sdk_loads_on_first_use_of_its_names() -> None:
    # The ingester process imports the package too; it must not pay for the SDK. A script sees no difference.
    code = (
        "import sys, runyard\n"
        "assert not [m for m in sys.modules if m.startswith('runyard.sdk')], 'sdk loaded on import'\n"
        "assert {'init', 'log', 'finish', 'config', 'summary', 'Settings', 'Api'} <= set(dir(runyard))\n"
        "assert runyard.run is None and repr(runyard.config).startswith('<runyard.config')\n"
        "from runyard import init, log, finish, Settings, Run, Metric, define_metric, login, watch, unwatch\n"
        "assert runyard.init is init and 'runyard.sdk.init' in sys.modules\n"
        "ns = {}\n"
        "exec('from runyard import *', ns)\n"
        "assert set(runyard.__all__) <= set(ns), set(runyard.__all__) - set(ns)\n"
        "try:\n"
        "    runyard.nope\n"
        "except AttributeError as exc:\n"
        "    assert 'nope' in str(exc)\n"
        "else:\n"
        "    raise AssertionError('runyard.nope exists')\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr


def test_every_setting_is_documented() -> None:
    doc = (ROOT / "docs" / "sdk.md").read_text(encoding="utf-8")
    missing = [f.name for f in dataclasses.fields(Settings) if f.name != "extra" and f"`{f.name}`" not in doc]
    assert missing == []


def test_property_tests_have_no_deadline() -> None:
    # tests/conftest.py loads a Hypothesis profile without the per-example deadline: no property here is about
    # speed, and a deadline only fails tests on a loaded machine (speed is measured in bench/).
    from hypothesis import settings

    assert settings.default.deadline is None
    for path in (ROOT / "tests").rglob("test_*.py"):
        if path.resolve() == Path(__file__).resolve():
            continue
        text = path.read_text(encoding="utf-8")
        assert "deadline=" not in text.replace("deadline=None", ""), f"{path.name} sets a Hypothesis deadline"
