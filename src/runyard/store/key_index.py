"""The project's config and summary keys, kept as runs gain and lose them: what the keys list reads.

Listing a project's keys by reading every run's config and summary costs a scan of the project (seconds at
100,000 runs). Instead the table ``project_keys`` holds, per project, each flattened config and summary key
(``optimizer.lr``, as :func:`runyard.flatten.flatten` names it) with the number of runs that have it. Every
write that changes a run's config or summary (ingestion, edits, deletion) passes the run's key sets before
and after to :func:`record_key_changes`, which adds one to the keys the run gained and takes one from those it
lost; a key no run has any more leaves the table. Ingestion writes through :class:`~runyard.store.sql.Sql`
texts, so this module does too.

A key longer than :data:`~runyard.store.run_values.MAX_KEY` characters is not listed: an index entry that long
would be refused by PostgreSQL and stop the run's ingestion.

Concurrent ingesters of one project (PostgreSQL) touch the same rows only when their runs gain or lose the same
key, and always in one order (sorted), so they queue briefly rather than deadlock.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from runyard.flatten import flatten
from runyard.store.run_values import indexable_key
from runyard.store.sql import Sql, text_safe

__all__ = ["KeySet", "key_set", "list_keys", "rebuild_project_keys", "record_key_changes"]

KeySet = frozenset[tuple[str, str]]
"""``(root, key)`` pairs: root ``"config"`` or ``"summary"``, key flattened (``model.depth``)."""

_ROOTS = ("config", "summary")

_ADD = (
    'INSERT INTO project_keys (project_id, root, "key", runs) VALUES (:project_id, :root, :key, 1) '
    'ON CONFLICT (project_id, root, "key") DO UPDATE SET runs = project_keys.runs + 1'
)
_TAKE = 'UPDATE project_keys SET runs = runs - 1 WHERE project_id = :project_id AND root = :root AND "key" = :key'
_DROP_UNUSED = "DELETE FROM project_keys WHERE project_id = :project_id AND runs <= 0"


def key_set(config: Any, summary: Any) -> KeySet:
    """The ``(root, key)`` pairs of one run's config and summary (dicts as the store decodes them)."""
    pairs: set[tuple[str, str]] = set()
    for root, value in zip(_ROOTS, (config, summary), strict=True):
        if isinstance(value, dict):
            pairs.update((root, key) for key in flatten(value) if indexable_key(key))
    return frozenset(pairs)


def record_key_changes(sql: Sql, project_id: int, before: KeySet, after: KeySet) -> None:
    """Count a run's move from the keys ``before`` to the keys ``after`` (either may be empty)."""
    if before == after:
        return
    gained = sorted(after - before)
    lost = sorted(before - after)
    if gained:
        sql.many(_ADD, [{"project_id": project_id, "root": root, "key": text_safe(key)} for root, key in gained])
    if lost:
        sql.many(_TAKE, [{"project_id": project_id, "root": root, "key": text_safe(key)} for root, key in lost])
        sql.run(_DROP_UNUSED, {"project_id": project_id})


def list_keys(sql: Sql, project_id: int) -> dict[str, list[str]]:
    """Per root (``config``, ``summary``), the project's keys, sorted."""
    found: dict[str, list[str]] = {root: [] for root in _ROOTS}
    rows = sql.run('SELECT root, "key" FROM project_keys WHERE project_id = :project_id', {"project_id": project_id})
    for root, key in rows.fetchall():
        if root in found:
            found[root].append(key)
    return {root: sorted(keys) for root, keys in found.items()}


def rebuild_project_keys(
    sql: Sql, project_id: int, runs: Iterable[tuple[Mapping[str, Any], Mapping[str, Any]]]
) -> None:
    """Replace a project's key counts with those of ``runs`` (``(config, summary)`` per run): for stores
    whose runs were written around ingestion (a migration's backfill, a benchmark's bulk load)."""
    counts: dict[tuple[str, str], int] = {}
    for config, summary in runs:
        for pair in key_set(config, summary):
            counts[pair] = counts.get(pair, 0) + 1
    sql.run("DELETE FROM project_keys WHERE project_id = :project_id", {"project_id": project_id})
    if counts:
        sql.many(
            'INSERT INTO project_keys (project_id, root, "key", runs) VALUES (:project_id, :root, :key, :runs)',
            [
                {"project_id": project_id, "root": root, "key": text_safe(key), "runs": n}
                for (root, key), n in sorted(counts.items())
            ],
        )
