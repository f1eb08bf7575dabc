"""Each run's config and summary values as sort keys, one row per key: what ordering runs by a key reads.

Ordering 100,000 runs by ``summary_metrics.acc`` by reading every run's summary costs seconds. The table
``run_values`` holds, per run and per key (``root`` ``config`` or ``summary``; ``key`` dotted as
:func:`runyard.flatten.flatten` names it), the value's sort key exactly as :func:`runyard.store.filters.sort_views`
ranks it: ``rank`` 0 for a number (``num``, ±inf included), 1 for a string (``txt``, compared by code point),
2 for a boolean (``num`` 0 or 1), 3 for anything else (``txt`` its ``repr``, as the Python sort compares it).
NaN and None have no row: they sort as missing. An index on ``(project_id, root, key, rank, num, txt, run_pk)``
then hands out a project's runs in key order, a page at a time.

The keys are the leaves of the run's config and summary: non-dict values, typed objects (dicts with
``_type``) and empty dicts; a leaf's value is what a filter field of that name reads
(:meth:`runyard.store.filters.Field.value`), so a dotted key that could be read two ways is stored the way the
Python evaluator reads it. Every write to a run's config or summary passes the values before and after to
:func:`record_value_changes`, which writes only the keys that changed.

Numbers are kept as doubles: two integers beyond 2**53 that differ by less than a double's spacing sort as equal
(then by row id), where the Python sort would tell them apart.

An index entry must stay small (PostgreSQL refuses a B-tree entry over ~2.7 kB, which would stop a run's ingestion):
``txt`` keeps the first :data:`MAX_TEXT` characters of a string or ``repr``, and a key longer than :data:`MAX_KEY`
characters has no rows. Readers fall back to the Python sort and filters for a key with a text at the cut length
(:func:`may_be_cut`) or a key too long to be indexed, so answers stay exact.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from typing import Any

from runyard.store.sql import Sql, text_safe

__all__ = ["MAX_KEY", "MAX_TEXT", "SortKey", "indexable_key", "record_value_changes", "sort_keys"]

MAX_TEXT = 200
"""Characters of a text value kept as its sort key (at most 800 bytes of UTF-8)."""

MAX_KEY = 300
"""The longest key (in characters, at most 1,200 bytes) whose values are indexed."""


def indexable_key(key: str) -> bool:
    """Whether ``key``'s values are kept in ``run_values`` (keys longer than :data:`MAX_KEY` are not)."""
    return len(key) <= MAX_KEY


SortKey = tuple[int, float | None, str | None]
"""``(rank, num, txt)`` of one value."""

_ROOTS = ("config", "summary")

_UPSERT = (
    'INSERT INTO run_values (run_pk, root, "key", project_id, rank, num, txt) '
    "VALUES (:run_pk, :root, :key, :project_id, :rank, :num, :txt) "
    'ON CONFLICT (run_pk, root, "key") DO UPDATE SET rank = :rank, num = :num, txt = :txt'
)
_DELETE = 'DELETE FROM run_values WHERE run_pk = :run_pk AND root = :root AND "key" = :key'


def sort_key(value: Any) -> SortKey | None:
    """The stored sort key of a value; None for a value that sorts as missing (None, NaN)."""
    kind = type(value)
    if value is None:
        return None
    if kind is float:
        return None if value != value else (0, value, None)
    if kind is int:
        try:
            return (0, float(value), None)
        except OverflowError:  # beyond any double: sorts with ±inf
            return (0, math.copysign(math.inf, value), None)
    if kind is str:
        return (1, None, value)
    if kind is bool:
        return (2, float(value), None)
    return (3, None, repr(value))


def _leaves(d: Mapping[str, Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
    for key, value in d.items():
        name = prefix + key
        if isinstance(value, dict) and value and "_type" not in value:
            yield from _leaves(value, name + ".")
        else:
            yield name, value


_MISSING = object()


def _lookup(obj: Any, path: tuple[str, ...]) -> Any:
    """:func:`runyard.store.filters._lookup`: ``obj[a][b]...``, a key holding dots matching too (longest first)."""
    if not path:
        return obj
    if not isinstance(obj, dict):
        return _MISSING
    for cut in range(len(path), 0, -1):
        key = ".".join(path[:cut]) if cut > 1 else path[0]
        if key in obj:
            found = _lookup(obj[key], path[cut:])
            if found is not _MISSING:
                return found
    return _MISSING


def sort_keys(config: Any, summary: Any) -> dict[tuple[str, str], SortKey]:
    """Per ``(root, key)`` leaf of a run's config and summary, its sort key (missing values left out)."""
    out: dict[tuple[str, str], SortKey] = {}
    for root, value in zip(_ROOTS, (config, summary), strict=True):
        if not isinstance(value, dict):
            continue
        for key, leaf in _leaves(value):
            found = _lookup(value, tuple(key.split("."))) if "." in key else leaf
            ranked = None if found is _MISSING else sort_key(found)
            if ranked is not None and indexable_key(key):
                out[(root, key)] = ranked
    return out


def record_value_changes(
    sql: Sql,
    run_pk: int,
    project_id: int,
    before: dict[tuple[str, str], SortKey],
    after: dict[tuple[str, str], SortKey],
) -> None:
    """Write the keys whose sort key changed from ``before`` to ``after``; delete those gone."""
    changed = sorted(pair for pair, ranked in after.items() if before.get(pair) != ranked)
    gone = sorted(pair for pair in before if pair not in after)
    if changed:
        sql.many(
            _UPSERT,
            [
                {
                    "run_pk": run_pk,
                    "root": root,
                    "key": text_safe(key),
                    "project_id": project_id,
                    "rank": after[(root, key)][0],
                    "num": after[(root, key)][1],
                    "txt": _text(after[(root, key)][2]),
                }
                for root, key in changed
            ],
        )
    if gone:
        sql.many(_DELETE, [{"run_pk": run_pk, "root": root, "key": text_safe(key)} for root, key in gone])


def _text(value: str | None) -> str | None:
    return None if value is None else text_safe(value[:MAX_TEXT])
