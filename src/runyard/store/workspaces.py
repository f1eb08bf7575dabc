"""Saved workspaces: each user's view of a project in the web app (hidden runs, colours, grouping, sort...).

The store keeps the settings as the app writes them, one JSON object per (project, user); their shape is the
app's business. Saving replaces the whole object.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from runyard.errors import TooLargeError, UsageError
from runyard.store.engine import dialect_insert
from runyard.store.jsontypes import to_json_safe
from runyard.store.models import WorkspaceRecord
from runyard.store.schema import workspaces

__all__ = ["MAX_WORKSPACE_BYTES", "get_workspace", "save_workspace"]

MAX_WORKSPACE_BYTES = 1 << 20
"""The largest workspace accepted, as JSON text: settings are a view, not data."""


def get_workspace(conn: Connection, project_id: int, username: str) -> WorkspaceRecord:
    """The user's saved workspace of the project; empty settings and no time when never saved."""
    row = conn.execute(
        sa.select(workspaces.c.settings, workspaces.c.updated_at).where(
            workspaces.c.project_id == project_id, workspaces.c.username == username
        )
    ).one_or_none()
    if row is None:
        return WorkspaceRecord(settings={}, updated_at=None)
    return WorkspaceRecord(settings=dict(row[0]), updated_at=float(row[1]))


def save_workspace(
    conn: Connection, project_id: int, username: str, settings: Mapping[str, Any], now: float
) -> WorkspaceRecord:
    """Replace the user's workspace of the project with ``settings`` (a JSON object of at most 1 MiB)."""
    if not isinstance(settings, Mapping):
        raise UsageError(f"workspace settings must be a JSON object, not {type(settings).__name__}")
    try:
        size = len(json.dumps(to_json_safe(dict(settings)), allow_nan=False).encode())
    except (TypeError, ValueError) as exc:
        raise UsageError(f"workspace settings must be plain JSON (objects, lists, strings, numbers): {exc}") from None
    if size > MAX_WORKSPACE_BYTES:
        raise TooLargeError(
            f"workspace settings take {size} bytes as JSON; at most {MAX_WORKSPACE_BYTES} are kept. "
            "Save the view's choices, not data."
        )
    values = {"settings": dict(settings), "updated_at": now}
    conn.execute(
        dialect_insert(conn, workspaces)
        .values(project_id=project_id, username=username, **values)
        .on_conflict_do_update(index_elements=[workspaces.c.project_id, workspaces.c.username], set_=values)
    )
    return WorkspaceRecord(settings=dict(settings), updated_at=now)
