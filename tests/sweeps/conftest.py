"""The sweep tests share the store tests' fake SDK session and the end-to-end tests' server process."""

from __future__ import annotations

import sys
from pathlib import Path

for _folder in ("store", "e2e"):  # store_fakes.FakeSession; remote_server.ServerProcess
    _path = str(Path(__file__).resolve().parents[1] / _folder)
    if _path not in sys.path:
        sys.path.insert(0, _path)
