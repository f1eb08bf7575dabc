"""The store: runs and their history in SQLite or PostgreSQL.

:class:`Store` (and the record types below) import SQLAlchemy: keep them off the training thread. They load on
first use, so that the SQLAlchemy-free modules of this package (the write path's :mod:`runyard.store.writer`
and what it uses) can be imported on their own.

See :class:`Store`; it ingests run-log records (:mod:`runyard.records`) and answers reads with the dataclasses
below.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from runyard.store.models import (
        ConsoleLine,
        FileInfo,
        ProjectKeys,
        ProjectRecord,
        ResumeState,
        RunGroup,
        RunRecord,
        SystemSample,
        WorkspaceRecord,
    )
    from runyard.store.store import Store

__all__ = [
    "ConsoleLine",
    "FileInfo",
    "ProjectKeys",
    "ProjectRecord",
    "ResumeState",
    "RunGroup",
    "RunRecord",
    "Store",
    "SystemSample",
    "WorkspaceRecord",
]


def __getattr__(name: str) -> Any:
    if name == "Store":
        return importlib.import_module("runyard.store.store").Store
    if name in __all__:
        return getattr(importlib.import_module("runyard.store.models"), name)
    raise AttributeError(f"module 'runyard.store' has no attribute {name!r}")
