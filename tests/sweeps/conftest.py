"""The sweep tests share the store tests' fake SDK session (tests/store/store_fakes.py)."""

from __future__ import annotations

import sys
from pathlib import Path

_STORE_TESTS = str(Path(__file__).resolve().parents[1] / "store")
if _STORE_TESTS not in sys.path:
    sys.path.insert(0, _STORE_TESTS)
