"""The store: runs and their history in SQLite or PostgreSQL.

Importing it imports SQLAlchemy: keep it off the training thread.

See :class:`Store`; it ingests run-log records (:mod:`runyard.records`) and answers reads with the dataclasses
below.
"""

from __future__ import annotations

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
