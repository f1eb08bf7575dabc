"""What a wheel of runyard ships: the licence, the web app's bundle, the migrations, the typing marker."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_the_wheel_ships_the_licence_and_the_package_data(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(tmp_path), "."],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    [wheel] = tmp_path.glob("runyard-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    licences = [n for n in names if n.endswith("/LICENSE") and ".dist-info/" in n]
    assert licences, names
    text = zipfile.ZipFile(wheel).read(licences[0]).decode()
    assert "Apache License" in text and "Version 2.0, January 2004" in text
    assert text == (ROOT / "LICENSE").read_text()
    metadata = zipfile.ZipFile(wheel).read(next(n for n in names if n.endswith(".dist-info/METADATA"))).decode()
    assert "License-Expression: Apache-2.0" in metadata
    assert "runyard/server/static/index.html" in names
    assert "runyard/store/sqlite_schema.sql" in names and "runyard/py.typed" in names
    assert any(n.startswith("runyard/store/migrations/versions/0001_") for n in names)
