"""Run queries: a project's runs filtered (:mod:`runyard.store.filters`), ordered and paged.

One semantics, two engines. The filter tree is split in two: the predicates SQL evaluates exactly as Python
does are pushed into the ``WHERE`` clause, the rest is evaluated in Python over the candidate rows.

- Pushed: ``state`` (the state as read, a ``CASE`` on the heartbeat), the text columns (``display_name``,
  ``name``, ``group``, ``job_type``, ``host``, ``username``, ``notes``) and the number columns (``created_at``,
  ``heartbeat_at``, ``runtime``) under ``$eq $ne $in $nin $exists`` and the comparisons; ``$and``/``$or``/
  ``$nor`` of pushed parts. Each pushed predicate is built never to be NULL (SQL's third truth value would
  turn ``$ne``/``$nor`` into "no"), text is compared by code point (``COLLATE "C"`` on PostgreSQL, SQLite's
  binary collation), and an operand of the wrong type becomes a constant false, as in Python.
- Through ``run_values`` (:mod:`runyard.store.run_values`): ``config.*`` / ``summary_metrics.*`` conditions
  ``$eq $ne $in $nin`` and the comparisons, as ``id IN`` a range of the ``run_values`` index, for a key whose
  values in the project are all missing, None, NaN or plain scalars (checked per query by the index; a list,
  dict, nested dict or integer beyond 2**53 under the key leaves it to Python). ``None``/NaN operands and
  ``$exists`` stay in Python: a missing key, None and NaN all have no row.
- In Python: ``tags``, ``$regex``, and the other ``config.*`` / ``summary_metrics.*`` conditions. Their values
  are compared in Python on both backends: SQLite's and PostgreSQL's JSON operators disagree on types, NaN and
  nesting, and one evaluator keeps one meaning. SQL only cuts out the JSON text of the top-level keys the filter
  names (``->``), so a scan decodes a few bytes per run rather than whole summaries. Only the columns the filter and
  the order read are fetched for the candidates; full rows are loaded for the requested page only.

Ordering by a column runs in SQL (``NULLS LAST`` both ways, ties by row id in the same direction), so with a
Python-evaluated filter the scan stops once ``offset + limit`` runs have matched. Ordering by a config or
summary key reads the sort keys of :mod:`runyard.store.run_values` through their index (numbers, then strings,
then booleans, then the rest by ``repr``; runs missing the key after them, by row id), so it stops early the
same way; where that index could order differently from the Python sort (``config.KEY.value``, or a key some
run holds a dict under) the candidates are sorted in Python.
"""

from __future__ import annotations

import json
import math
import sqlite3
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.sql.elements import ColumnElement

from runyard.records import STATE_CRASHED, STATE_RUNNING
from runyard.store.filters import (
    COLUMN_FIELDS,
    AllOf,
    AnyOf,
    Condition,
    Field,
    Node,
    NoneOf,
    Order,
    sort_views,
)
from runyard.store.jsontypes import NONFINITE_TAG
from runyard.store.models import RunRecord
from runyard.store.run_values import MAX_TEXT, indexable_key
from runyard.store.schema import entities, projects, run_values, runs

__all__ = ["count_runs", "field_values", "get_runs", "project_pk", "query_run_ids", "query_runs"]

_CHUNK = 500  # ids per IN (...) list
_SAFE_INT = 2**53  # beyond this, SQL would compare an int as a double and Python exactly: leave it to Python
_NULLABLE = frozenset({"group", "job_type", "notes"})
_SQLITE_ARROW = sqlite3.sqlite_version_info >= (3, 38, 0)  # the -> operator, returning JSON text


class _Context:
    """What translating a filter to SQL needs: the dialect, the clock for the state as read, and the project
    (whose ``run_values`` answer conditions on config and summary keys, see :func:`_value_condition`)."""

    def __init__(
        self,
        conn: Connection,
        now: float,
        crash_timeout: float,
        project_id: int | None = None,
        page: bool = False,
        public_only: bool = False,
    ) -> None:
        self.conn = conn
        self.public_only = public_only  # an outsider's query: only the project's public runs exist
        self.project_id = project_id
        self.page = page  # a page is wanted (ordered, limited): key tests probe per run rather than list all
        self._indexed: dict[tuple[str, str], bool] = {}
        self.postgres = conn.dialect.name == "postgresql"
        stale = (sa.literal(now, sa.Double) - runs.c.heartbeat_at) > sa.literal(crash_timeout, sa.Double)
        self.state = sa.case((sa.and_(runs.c.state == STATE_RUNNING, stale), STATE_CRASHED), else_=runs.c.state)

    def column(self, name: str) -> ColumnElement[Any]:
        """The SQL expression of a column field (see :data:`runyard.store.filters.COLUMN_FIELDS`)."""
        if name == "state":
            return self.state
        return _COLUMNS[name]

    def json_key(self, column: ColumnElement[Any], key: str) -> ColumnElement[Any] | None:
        """The JSON text of ``column[key]`` (SQL NULL when the key is absent), or None where this backend
        cannot address the key (SQLite before 3.38, or a key its path syntax cannot quote)."""
        if self.postgres:
            return sa.cast(column.op("->", return_type=sa.Text)(sa.literal(key, sa.Text)), sa.Text)
        if not _SQLITE_ARROW or '"' in key or "\\" in key:
            return None
        return column.op("->", return_type=sa.Text)(sa.literal(f'$."{key}"', sa.Text))

    def indexed(self, root: str, key: str) -> bool:
        """Whether every run's value of this key is a missing key, None, NaN or a plain scalar whose stored
        sort key compares exactly (see :func:`_value_condition`)."""
        found = self._indexed.get((root, key))
        if found is None:
            found = self._indexed[(root, key)] = self.project_id is not None and _plain_key(
                self.conn, self.project_id, root, key
            )
        return found

    def collated(self, expr: ColumnElement[Any]) -> ColumnElement[Any]:
        """``expr`` compared by code point, as Python compares strings."""
        return expr.collate("C") if self.postgres else expr


_COLUMNS: dict[str, ColumnElement[Any]] = {
    "tags": runs.c.tags,
    "display_name": runs.c.name,
    "run_id": runs.c.run_id,
    "group": runs.c.group_name,
    "job_type": runs.c.job_type,
    "host": runs.c.host,
    "username": runs.c.username,
    "notes": runs.c.notes,
    "created_at": runs.c.created_at,
    "heartbeat_at": runs.c.heartbeat_at,
    "runtime": runs.c.runtime,
}


def project_pk(conn: Connection, entity: str, project: str) -> int | None:
    """The primary key of a project, or None."""
    found = conn.execute(
        sa.select(projects.c.id)
        .select_from(projects.join(entities, projects.c.entity_id == entities.c.id))
        .where(entities.c.name == entity, projects.c.name == project)
    ).scalar()
    return None if found is None else int(found)


# -- filters to SQL -----------------------------------------------------------------------------------------


def _to_sql(node: Node, ctx: _Context) -> tuple[ColumnElement[bool] | None, bool]:
    """``(predicate, exact)``: a predicate every matching run satisfies (None: no restriction), and whether it
    is the whole filter (no Python evaluation needed)."""
    if isinstance(node, Condition):
        expr = _condition_sql(node, ctx)
        return expr, expr is not None
    if isinstance(node, AllOf):
        parts = [_to_sql(child, ctx) for child in node.children]
        pushed = [expr for expr, _ in parts if expr is not None]
        exact = all(exact for _, exact in parts)
        return (sa.and_(*pushed) if pushed else None), exact
    if isinstance(node, (AnyOf, NoneOf)):
        parts = [_to_sql(child, ctx) for child in node.children]
        exact = all(exact for _, exact in parts)
        # A child that is exact yet restricts nothing (an empty filter {}) matches every run.
        exprs = [sa.true() if expr is None and child_exact else expr for expr, child_exact in parts]
        usable = [expr for expr in exprs if expr is not None]
        if isinstance(node, AnyOf):
            # An "or" of necessary conditions is a necessary condition: usable even when inexact.
            return (sa.or_(*usable), exact) if usable and len(usable) == len(parts) else (None, False)
        return (sa.not_(sa.or_(*usable)), True) if exact and usable else (None, False)
    return None, False


def _condition_sql(cond: Condition, ctx: _Context) -> ColumnElement[bool] | None:
    field = cond.field
    if field.kind != "column":
        return _value_condition(cond, ctx)
    if COLUMN_FIELDS[field.name] == "list" or cond.op == "$regex":
        return None
    kind = COLUMN_FIELDS[field.name]
    nullable = field.name in _NULLABLE
    col = ctx.column(field.name)
    op, operand = cond.op, cond.operand
    if op == "$exists":
        present: ColumnElement[bool] = col.is_not(None) if nullable else sa.true()
        return present if operand else sa.not_(present)
    if op in ("$eq", "$ne", "$in", "$nin"):
        values = [operand] if op in ("$eq", "$ne") else list(operand)
        positive = _one_of(col, values, kind, nullable)
        if positive is None:
            return None
        return positive if op in ("$eq", "$in") else sa.not_(positive)
    # $gt $gte $lt $lte: the operand is a number or a string (the parser checked)
    if kind == "number":
        if type(operand) is str or operand != operand:
            return sa.false()
        if type(operand) is int and abs(operand) >= _SAFE_INT:
            return None
        operand = float(operand)
        target = col
    else:
        if type(operand) is not str:
            return sa.false()
        target = ctx.collated(col)
    compared = _COMPARE[op](target, operand)
    return sa.and_(col.is_not(None), compared) if nullable else compared


def _plain_key(conn: Connection, project_id: int, root: str, key: str) -> bool:
    """Whether ``run_values`` holds the whole truth of key ``key`` for conditions: no run holds a dict under it
    (its leaves would be stored, not it), a list or dict (rank 3, matched element-wise by filters), or a
    number beyond ±2**53 (stored as a double, where filters compare ints exactly)."""
    if not indexable_key(key):
        return False
    stored = sa.and_(run_values.c.project_id == project_id, run_values.c.root == root)
    nested = sa.and_(stored, run_values.c.key > key + ".", run_values.c.key < key + "/")
    this = sa.and_(stored, run_values.c.key == key)
    other = sa.and_(this, run_values.c.rank >= 1, sa.func.length(run_values.c.txt) >= MAX_TEXT)
    if conn.execute(sa.select(run_values.c.run_pk).where(other).limit(1)).first() is not None:
        return False  # a text cut to MAX_TEXT characters: only Python compares it whole
    other = sa.and_(this, run_values.c.rank == 3)
    big = float(_SAFE_INT)
    number = sa.and_(this, run_values.c.rank == 0)
    # Two ranges of the index rather than an OR, which would read every number of the key.
    huge = sa.and_(number, run_values.c.num >= big, run_values.c.num < math.inf)
    tiny = sa.and_(number, run_values.c.num <= -big, run_values.c.num > -math.inf)
    for where in (nested, other, huge, tiny):
        if conn.execute(sa.select(run_values.c.run_pk).where(where).limit(1)).first() is not None:
            return False
    return True


def _value_condition(cond: Condition, ctx: _Context) -> ColumnElement[bool] | None:
    """A condition on a config or summary key as an exact test over ``run_values``, where the key's values
    are plain scalars (:meth:`_Context.indexed`); None where Python must decide (a missing key, None and NaN
    have no row, so ``None``/NaN operands and ``$exists`` stay in Python, as do ``$regex`` and W&B's
    ``config.KEY.value``)."""
    field = cond.field
    if cond.op in ("$regex", "$exists") or (field.kind == "config" and field.path[-1] == "value"):
        return None
    if not ctx.indexed(field.kind, field.name):
        return None
    values = run_values.alias()

    def exists(test: ColumnElement[bool]) -> ColumnElement[bool]:
        if ctx.page:  # a page stops after a few runs: probe each run's row (primary key) as the scan meets it
            return sa.exists().where(
                values.c.run_pk == runs.c.id, values.c.root == field.kind, values.c.key == field.name, test
            )
        # Counts and id lists read every match: one range scan of the order index, not a probe per run.
        return runs.c.id.in_(
            sa.select(values.c.run_pk).where(
                values.c.project_id == ctx.project_id, values.c.root == field.kind, values.c.key == field.name, test
            )
        )

    def equals(operand: Any) -> ColumnElement[bool] | None:
        kind = type(operand)
        if operand is None or (kind is float and operand != operand):
            return None  # matches runs without a row too: Python decides
        if kind in (int, float):
            if kind is int and abs(operand) >= _SAFE_INT:
                return None
            return exists(sa.and_(values.c.rank == 0, values.c.num == float(operand)))
        if kind is str:
            return exists(sa.and_(values.c.rank == 1, values.c.txt == operand))
        if kind is bool:
            return exists(sa.and_(values.c.rank == 2, values.c.num == float(operand)))
        return sa.false()  # a list or dict never equals a plain scalar

    op, operand = cond.op, cond.operand
    if op in ("$eq", "$ne", "$in", "$nin"):
        parts = [equals(item) for item in ([operand] if op in ("$eq", "$ne") else operand)]
        if any(part is None for part in parts):
            return None
        usable = [part for part in parts if part is not None]
        positive = sa.or_(*usable) if usable else sa.false()
        return positive if op in ("$eq", "$in") else sa.not_(positive)
    # $gt $gte $lt $lte: the operand is a number or a string (the parser checked)
    if type(operand) is str:
        return exists(sa.and_(values.c.rank == 1, _COMPARE[op](values.c.txt, operand)))
    if operand != operand:
        return sa.false()
    if type(operand) is int and abs(operand) >= _SAFE_INT:
        return None
    return exists(sa.and_(values.c.rank == 0, _COMPARE[op](values.c.num, float(operand))))


_COMPARE = {
    "$gt": lambda col, value: col > value,
    "$gte": lambda col, value: col >= value,
    "$lt": lambda col, value: col < value,
    "$lte": lambda col, value: col <= value,
}


def _one_of(col: ColumnElement[Any], values: list[Any], kind: str, nullable: bool) -> ColumnElement[bool] | None:
    """A never-NULL predicate: the column equals one of ``values`` (under the filter's equality)."""
    wanted: list[Any] = []
    match_null = False
    for value in values:
        if value is None:
            match_null = match_null or nullable
        elif kind == "text" and type(value) is str:
            wanted.append(value)
        elif kind == "number" and type(value) in (int, float) and value == value:
            if type(value) is int and abs(value) >= _SAFE_INT:
                return None
            wanted.append(float(value))  # bound as a double: an int list would be typed INTEGER
        # any other operand (a bool, a list, NaN, a string for a number...) never equals this column
    parts: list[ColumnElement[bool]] = []
    if wanted:
        hit = col.in_(wanted)
        parts.append(sa.and_(col.is_not(None), hit) if nullable else hit)
    if match_null:
        parts.append(col.is_(None))
    if not parts:
        return sa.false()
    return parts[0] if len(parts) == 1 else sa.or_(*parts)


# -- the queries --------------------------------------------------------------------------------------------


def _needed(node: Node, order: Order | None) -> tuple[set[str], dict[str, set[str]]]:
    """The column fields, and per JSON root (config, summary) the top-level keys, that the filter and the
    order read. A dotted key ``a.b.c`` may live under ``"a"``, ``"a.b"`` or ``"a.b.c"``: all are read."""
    fields = list(node.fields())
    if order is not None:
        fields.append(order.field)
    columns = {f.name for f in fields if f.kind == "column"}
    keys: dict[str, set[str]] = {}
    for f in fields:
        if f.kind != "column":
            keys.setdefault(f.kind, set()).update(".".join(f.path[:cut]) for cut in range(1, len(f.path) + 1))
    return columns, keys


def _view_query(
    ctx: _Context, project_id: int, columns: set[str], keys: dict[str, set[str]]
) -> tuple[sa.Select[Any], dict[str, list[tuple[str, str]] | None]]:
    """The query of the candidates' views, and per JSON root the ``(label, key)`` columns that carry its keys
    (None: the whole root is fetched)."""
    selected: list[Any] = [runs.c.id, runs.c.run_id.label("_run_id")]
    selected += [ctx.column(name).label(name) for name in sorted(columns)]
    extracted: dict[str, list[tuple[str, str]] | None] = {}
    for root in sorted(keys):
        parts = [(f"{root}:{i}", key, ctx.json_key(runs.c[root], key)) for i, key in enumerate(sorted(keys[root]))]
        if all(expr is not None for _, _, expr in parts):
            selected += [expr.label(label) for label, _, expr in parts if expr is not None]
            extracted[root] = [(label, key) for label, key, _ in parts]
        else:  # a key this backend cannot address: decode the whole root
            selected.append(sa.cast(runs.c[root], sa.Text).label(root))
            extracted[root] = None
    return sa.select(*selected).where(_in_project(project_id, ctx.public_only)), extracted


def _in_project(project_id: int, public_only: bool) -> ColumnElement[bool]:
    """The runs of the project; with ``public_only`` (a reader who is not a member of a private project's
    entity) only its public runs, so that nothing private is listed, matched, ordered or counted."""
    if public_only:
        return sa.and_(runs.c.project_id == project_id, runs.c.visibility == "public")
    return runs.c.project_id == project_id


def _nonfinite(obj: dict[str, Any]) -> Any:
    """``json.loads`` hook: the tagged NaN / ±inf of :mod:`runyard.store.jsontypes` back to floats."""
    if len(obj) == 1 and NONFINITE_TAG in obj:
        tag = obj[NONFINITE_TAG]
        if isinstance(tag, str) and tag in _NONFINITE:
            return _NONFINITE[tag]
    return obj


_NONFINITE = {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}


_DECODER = json.JSONDecoder(object_hook=_nonfinite)
_CONSTANTS: dict[str, Any] = {"true": True, "false": False, "null": None}


def _loads(text: str) -> Any:
    """Decode JSON text; a lone number or constant (what most extracted keys hold) skips the decoder."""
    if text[:1] in "-0123456789":
        try:
            return int(text)
        except ValueError:
            try:
                return float(text)
            except ValueError:
                pass
    elif text in _CONSTANTS:
        return _CONSTANTS[text]
    return _DECODER.raw_decode(text)[0]  # the text is one JSON value, without surrounding whitespace


class _View(Mapping[Any, Any]):
    """A candidate row as filters see it. A JSON root is rebuilt on first access (a filter that settles on a
    column never pays for it) from the keys extracted in SQL, or from its whole text, and decoded exactly as
    :class:`~runyard.store.jsontypes.JSONValue` decodes it."""

    __slots__ = ("_decoded", "_extracted", "_row")

    def __init__(self, row: Mapping[Any, Any], extracted: dict[str, list[tuple[str, str]] | None]) -> None:
        self._row = row
        self._extracted = extracted
        self._decoded: dict[str, Any] = {}

    def __getitem__(self, key: Any) -> Any:
        if key not in self._extracted:
            return self._row[key]
        if key not in self._decoded:
            parts = self._extracted[key]
            if parts is None:
                self._decoded[key] = _loads(self._row[key])
            else:  # SQL NULL: the key is absent; JSON null arrives as the text "null"
                self._decoded[key] = {k: _loads(self._row[label]) for label, k in parts if self._row[label] is not None}
        return self._decoded[key]

    def __iter__(self) -> Iterator[Any]:
        yield from (key for key in self._row if key not in self._extracted)
        yield from self._extracted

    def __len__(self) -> int:
        return sum(1 for _ in self)


def _views(result: Iterable[Mapping[Any, Any]], extracted: dict[str, list[tuple[str, str]] | None]) -> Iterator[_View]:
    for row in result:
        yield _View(row, extracted)


def _order_by(query: sa.Select[Any], order: Order, ctx: _Context) -> sa.Select[Any]:
    name = order.field.name
    expr = ctx.column(name)
    if COLUMN_FIELDS[name] == "text":
        expr = ctx.collated(expr)
    if order.descending:
        return query.order_by(expr.desc().nulls_last(), runs.c.id.desc())
    return query.order_by(expr.asc().nulls_last(), runs.c.id.asc())


def _select_pks(
    conn: Connection,
    project_id: int,
    node: Node,
    order: Order,
    now: float,
    crash_timeout: float,
    limit: int | None,
    offset: int,
    public_only: bool = False,
) -> list[tuple[int, str]]:
    """``(row id, run id)`` of the runs that match, in order, from ``offset`` on (at most ``limit``)."""
    ctx = _Context(conn, now, crash_timeout, project_id, page=limit is not None, public_only=public_only)
    where, exact = _to_sql(node, ctx)
    by_column = order.field.kind == "column"
    by_value = None if by_column else _value_order(conn, project_id, order)
    in_sql_order = by_column or by_value is not None
    columns, keys = _needed(node if not exact else AllOf(()), None if in_sql_order else order)
    query, extracted = _view_query(ctx, project_id, columns, keys)
    if where is not None:
        query = query.where(where)
    stop = None if limit is None else offset + limit
    if in_sql_order:
        if by_value is None:
            query = _order_by(query, order, ctx)
            if exact:
                if offset:
                    query = query.offset(offset)
                if limit is not None:
                    query = query.limit(limit)
                return [(int(pk), str(rid)) for pk, rid, *_ in conn.execute(query)]
            candidates: Iterable[Mapping[Any, Any]] = _in_chunks(conn, query, stop)
        else:
            candidates = _by_value(conn, query, project_id, by_value, order.descending, stop, exact)
        # Filter (in Python where SQL could not) over candidates in order; stop as soon as the page is full.
        found: list[tuple[int, str]] = []
        for row in _views(candidates, extracted):
            if exact or node.matches(row):
                found.append((int(row["id"]), str(row["_run_id"])))
                if stop is not None and len(found) >= stop:
                    break
        return found[offset:]
    rows = list(_views(conn.execute(query).mappings(), extracted))
    matching = [(int(row["id"]), row) for row in rows if exact or node.matches(row)]
    ordered = [(pk, str(row["_run_id"])) for pk, row in sort_views(matching, order)]
    return ordered[offset:stop]


def _value_order(conn: Connection, project_id: int, order: Order) -> tuple[str, str] | None:
    """``(root, key)`` when ``run_values`` orders the runs by ``order`` exactly as the Python sort does; None
    when it cannot: W&B's ``config.KEY.value`` spelling, or a key some run holds a dict under (whose keys are
    stored, not the dict)."""
    field = order.field
    if field.kind == "config" and len(field.path) > 1 and field.path[-1] == "value":
        return None
    if not indexable_key(field.name):
        return None
    cut = conn.execute(
        sa.select(run_values.c.run_pk)
        .where(
            run_values.c.project_id == project_id,
            run_values.c.root == field.kind,
            run_values.c.key == field.name,
            run_values.c.rank >= 1,
            sa.func.length(run_values.c.txt) >= MAX_TEXT,
        )
        .limit(1)
    ).first()
    if cut is not None:
        return None  # texts cut to MAX_TEXT characters may tie or order differently than in full
    nested = conn.execute(
        sa.select(run_values.c.run_pk)
        .where(
            run_values.c.project_id == project_id,
            run_values.c.root == field.kind,
            run_values.c.key > field.name + ".",
            run_values.c.key < field.name + "/",  # "/" follows "." in code point order
        )
        .limit(1)
    ).first()
    return None if nested is not None else (field.kind, field.name)


def _by_value(
    conn: Connection,
    query: sa.Select[Any],
    project_id: int,
    by: tuple[str, str],
    descending: bool,
    stop: int | None,
    exact: bool,
) -> Iterator[Mapping[Any, Any]]:
    """The candidates of ``query`` in the order of their value of ``by`` (see :mod:`runyard.store.run_values`):
    those with a value by the index, then those without (missing last, by row id, either way)."""
    root, key = by
    values = run_values.alias("ordering")
    present = query.join(
        values,
        sa.and_(
            values.c.run_pk == runs.c.id,
            values.c.project_id == project_id,
            values.c.root == root,
            values.c.key == key,
        ),
    )
    sort = [values.c.rank, values.c.num, values.c.txt, values.c.run_pk]
    present = present.order_by(*[col.desc() if descending else col.asc() for col in sort])
    absent = run_values.alias("absent")
    missing = query.where(
        ~sa.exists().where(absent.c.run_pk == runs.c.id, absent.c.root == root, absent.c.key == key)
    ).order_by(runs.c.id.desc() if descending else runs.c.id.asc())
    if exact and stop is not None:
        present, missing = present.limit(stop), missing.limit(stop)
    yield from _in_chunks(conn, present, None if exact else stop)
    yield from _in_chunks(conn, missing, None if exact else stop)


def _in_chunks(conn: Connection, query: sa.Select[Any], wanted: int | None) -> Iterator[Mapping[Any, Any]]:
    """The rows of an ordered ``query``, read a chunk at a time when only the first ``wanted`` matches of a
    Python filter are needed (None: all at once). The drivers buffer a whole result, and a query without a
    limit is planned for every row (PostgreSQL sorts them all rather than walking the index): chunks of
    growing size let a page that fills early cost a page's worth of rows."""
    if wanted is None:
        yield from conn.execute(query).mappings()
        return
    size, offset, seen = max(64, 2 * wanted), 0, set()
    while True:
        rows = conn.execute(query.limit(size).offset(offset)).mappings().all()
        for row in rows:
            if row["id"] not in seen:  # a run written meanwhile may shift a row into the next chunk
                seen.add(row["id"])
                yield row
        if len(rows) < size:
            return
        offset += size
        size *= 2


def _load(conn: Connection, pks: Sequence[int], entity: str, project: str, now: float, ct: float) -> list[RunRecord]:
    """Full records of ``pks``, in that order."""
    by_pk: dict[int, RunRecord] = {}
    for chunk in _chunks(pks):
        for row in conn.execute(sa.select(runs).where(runs.c.id.in_(chunk))).mappings():
            by_pk[int(row["id"])] = RunRecord.from_row(row, entity, project, now, ct)
    return [by_pk[pk] for pk in pks if pk in by_pk]


def _chunks(items: Sequence[Any]) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), _CHUNK):
        yield items[start : start + _CHUNK]


def query_runs(
    conn: Connection,
    entity: str,
    project: str,
    node: Node,
    order: Order,
    limit: int | None,
    offset: int,
    now: float,
    crash_timeout: float,
    public_only: bool = False,
) -> list[RunRecord]:
    """A project's runs that match ``node``, in ``order``, from ``offset`` on (at most ``limit``); with
    ``public_only``, its public runs only."""
    project_id = project_pk(conn, entity, project)
    if project_id is None or limit == 0:
        return []
    found = _select_pks(conn, project_id, node, order, now, crash_timeout, limit, offset, public_only)
    return _load(conn, [pk for pk, _ in found], entity, project, now, crash_timeout)


def query_run_ids(
    conn: Connection,
    entity: str,
    project: str,
    node: Node,
    order: Order,
    now: float,
    crash_timeout: float,
    public_only: bool = False,
) -> list[str]:
    """The ids of all runs that match ``node``, in ``order`` (what a paging client snapshots)."""
    project_id = project_pk(conn, entity, project)
    if project_id is None:
        return []
    found = _select_pks(conn, project_id, node, order, now, crash_timeout, None, 0, public_only)
    return [rid for _, rid in found]


def count_runs(
    conn: Connection,
    entity: str,
    project: str,
    node: Node,
    now: float,
    crash_timeout: float,
    public_only: bool = False,
) -> int:
    """How many of a project's runs (with ``public_only``, of its public runs) match ``node``."""
    project_id = project_pk(conn, entity, project)
    if project_id is None:
        return 0
    ctx = _Context(conn, now, crash_timeout, project_id, public_only=public_only)
    where, exact = _to_sql(node, ctx)
    if exact:
        query = sa.select(sa.func.count()).select_from(runs).where(_in_project(project_id, public_only))
        if where is not None:
            query = query.where(where)
        return int(conn.execute(query).scalar_one())
    columns, keys = _needed(node, None)
    query, extracted = _view_query(ctx, project_id, columns, keys)
    if where is not None:
        query = query.where(where)
    return sum(node.matches(row) for row in _views(conn.execute(query).mappings(), extracted))


def field_values(conn: Connection, project_id: int, field: Field) -> dict[str, Any]:
    """Every run's value of ``field`` (:data:`~runyard.store.filters.MISSING` where it has none), by run id, in
    one pass over the project that reads only the JSON keys the field may live under."""
    ctx = _Context(conn, 0.0, math.inf)
    columns, keys = _needed(AllOf((Condition(field, "$exists", True),)), None)
    query, extracted = _view_query(ctx, project_id, columns, keys)
    return {str(view["_run_id"]): field.value(view) for view in _views(conn.execute(query).mappings(), extracted)}


def get_runs(
    conn: Connection,
    entity: str,
    project: str,
    run_ids: Iterable[str],
    now: float,
    crash_timeout: float,
    public_only: bool = False,
) -> list[RunRecord]:
    """The runs with these ids, in the order given; ids with no run (or, with ``public_only``, no public run)
    are left out."""
    project_id = project_pk(conn, entity, project)
    wanted = list(dict.fromkeys(run_ids))
    if project_id is None or not wanted:
        return []
    found: dict[str, RunRecord] = {}
    for chunk in _chunks(wanted):
        query = sa.select(runs).where(_in_project(project_id, public_only), runs.c.run_id.in_(chunk))
        for row in conn.execute(query).mappings():
            found[row["run_id"]] = RunRecord.from_row(row, entity, project, now, crash_timeout)
    return [found[rid] for rid in wanted if rid in found]
