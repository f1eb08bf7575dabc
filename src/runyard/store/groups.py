"""Grouping a project's runs by one field: what the workspace's "group by" shows.

The runs are the ones a run query selects (same filters, search and order, see :mod:`runyard.store.queries`);
each group lists its runs in that order, and groups come in the order of their first run. Runs that lack the
field form the group whose value is None; a run with several tags falls in each tag's group.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from runyard.errors import FilterError
from runyard.store.filters import MISSING, Field, parse_field
from runyard.store.models import RunGroup
from runyard.store.queries import field_values
from runyard.store.schema import runs

__all__ = ["group_field", "group_runs"]

_COLUMNS = {"group": runs.c.group_name, "job_type": runs.c.job_type, "tags": runs.c.tags}
_HELP = "group, job_type, tags or config.KEY (such as config.optimizer)"


def group_field(group_by: object) -> Field:
    """Parse a ``group_by`` field; raises :class:`~runyard.errors.FilterError` for one runs cannot be grouped by."""
    if not isinstance(group_by, str) or not group_by.strip():
        raise FilterError(f"group_by must name a field: {_HELP}; got {group_by!r}")
    try:
        field = parse_field(group_by.strip())
    except FilterError:
        raise FilterError(f"cannot group runs by {group_by!r}; group by {_HELP}") from None
    if (field.kind == "column" and field.name not in _COLUMNS) or field.kind == "summary":
        raise FilterError(f"cannot group runs by {group_by!r}; group by {_HELP}")
    return field


def group_runs(conn: Connection, project_id: int, run_ids: Sequence[str], field: Field) -> list[RunGroup]:
    """Group ``run_ids`` (already filtered and sorted) by ``field``'s value in each run."""
    if field.kind == "column":
        column = _COLUMNS[field.name]
        query = sa.select(runs.c.run_id, column).where(runs.c.project_id == project_id)
        values: dict[str, Any] = {str(run_id): value for run_id, value in conn.execute(query)}
    else:  # one pass over the project reading only the key's JSON, not every run's config
        values = field_values(conn, project_id, field)
    groups: dict[str, tuple[Any, list[str]]] = {}
    for run_id in run_ids:
        if run_id not in values:
            continue  # deleted meanwhile
        for value in _group_values(field, values[run_id]):
            key = _group_key(value)
            if key not in groups:
                groups[key] = (value, [])
            groups[key][1].append(run_id)
    return [RunGroup(value=value, run_ids=ids) for value, ids in groups.values()]


def _group_key(value: Any) -> Any:
    """A key equal for values whose JSON is equal (values may be lists or dicts): the value itself, typed,
    for a string, int, bool or None (cheaper than its JSON, and the same partition), else its JSON."""
    kind = type(value)
    if value is None or kind is str or kind is int or kind is bool:
        return (kind.__name__, value)
    return ("json", json.dumps(value, sort_keys=True, default=repr))


def _group_values(field: Field, stored: Any) -> list[Any]:
    """The group values of one run: one, except for tags (one per tag; None when it has none)."""
    if field.kind == "column":
        if field.name == "tags":
            tags = list(dict.fromkeys(stored or ()))
            return tags or [None]
        return [stored]
    return [None if stored is MISSING else stored]
