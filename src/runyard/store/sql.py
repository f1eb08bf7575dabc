"""The write path's SQL: plain statement texts run through the DB-API, on SQLite and PostgreSQL alike.

Ingestion (:mod:`runyard.store.ingest` and the modules it calls) is written as SQL text with ``:name``
parameters instead of SQLAlchemy expressions, so that it runs in two places with one implementation:

* inside :class:`~runyard.store.Store`, on the SQLAlchemy connection of its write transaction
  (:class:`SqlaSql`, through ``exec_driver_sql``: the same transaction, no statement compilation);
* in the ingester process of a SQLite store, on a plain ``sqlite3`` connection (:class:`SqliteSql`, see
  :mod:`runyard.store.writer`). That process then never imports SQLAlchemy, which would cost it ~23 MB and
  ~150 ms before the first batch could land (``bench/log_overhead.py`` measures both).

Nothing here imports SQLAlchemy. Texts must stay within what both backends read the same way: ``INSERT ... ON
CONFLICT``, ``RETURNING``, ``CAST(... AS ...)`` rather than ``::``, and no ``%`` (psycopg's placeholder
character). Per-dialect pieces (row locks, JSON parameters) come from :meth:`Sql.for_update` and
:meth:`Sql.json`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from runyard.store.json_safe import NUL_REPLACEMENT, from_json_safe, to_json_safe

__all__ = ["Sql", "SqlaSql", "SqliteSql", "dump_json", "in_list", "load_json", "text_safe"]

Params = Mapping[str, Any]


class Cursor(Protocol):
    """What a statement returns: a DB-API cursor or a SQLAlchemy ``CursorResult``."""

    @property
    def rowcount(self) -> int: ...

    def fetchall(self) -> Sequence[Sequence[Any]]: ...

    def fetchone(self) -> Sequence[Any] | None: ...


class Sql(Protocol):
    """A connection inside a transaction, running SQL texts with ``:name`` parameters."""

    dialect: str
    """``"sqlite"`` or ``"postgresql"``."""

    def run(self, sql: str, params: Params | None = None) -> Cursor:
        """Run one statement."""
        ...

    def many(self, sql: str, rows: Sequence[Params]) -> None:
        """Run one statement for each parameter set."""
        ...


def scalar(sql: Sql, text: str, params: Params | None = None) -> Any:
    """The first column of the first row, or None."""
    row = sql.run(text, params).fetchone()
    return None if row is None else row[0]


def for_update(sql: Sql) -> str:
    """The row-lock clause for a SELECT: PostgreSQL's ``FOR UPDATE``; nothing on SQLite, whose write
    transactions (``BEGIN IMMEDIATE``) already hold the database's write lock."""
    return " FOR UPDATE" if sql.dialect == "postgresql" else ""


def json_param(sql: Sql, name: str) -> str:
    """The placeholder for a JSON value passed as text (see :func:`dump_json`)."""
    return f"CAST(:{name} AS json)" if sql.dialect == "postgresql" else f":{name}"


def in_list(prefix: str, values: Sequence[Any]) -> tuple[str, dict[str, Any]]:
    """``(:p0, :p1, ...)`` and its parameters: an IN list both backends bind the same way."""
    params = {f"{prefix}{i}": value for i, value in enumerate(values)}
    return "(" + ", ".join(f":{name}" for name in params) + ")", params


def text_safe(text: str) -> str:
    """``text`` as both backends store it: PostgreSQL text cannot hold NUL, so each becomes U+FFFD everywhere."""
    return text.replace("\x00", NUL_REPLACEMENT) if "\x00" in text else text


_ESCAPED_NUL = re.compile(r"(\\+)u0000")


def _nul_escape(match: re.Match[str]) -> str:
    slashes = match.group(1)
    # An odd run of backslashes ends in the escape of a NUL; an even one is escaped backslashes, then "u0000".
    return slashes[:-1] + "\\ufffd" if len(slashes) % 2 else match.group(0)


def dump_json(value: Any) -> str:
    """A JSON column's text, as the schema's ``JSONValue`` type writes it (NaN and ±inf tagged, NUL replaced)."""
    text = json.dumps(to_json_safe(value))
    # json.dumps writes NUL (in keys and strings alike) as \u0000, which PostgreSQL's json cannot turn into text.
    return _ESCAPED_NUL.sub(_nul_escape, text) if "u0000" in text else text


def load_json(value: Any) -> Any:
    """A JSON column's value as read: SQLite gives its text, psycopg an already parsed object."""
    if isinstance(value, (str, bytes)):
        value = json.loads(value)
    return from_json_safe(value)


class SqliteSql:
    """A ``sqlite3`` connection in autocommit mode whose caller has issued ``BEGIN IMMEDIATE``."""

    dialect = "sqlite"

    def __init__(self, connection: Any) -> None:
        self._connection = connection

    def run(self, sql: str, params: Params | None = None) -> Cursor:
        result: Cursor = self._connection.execute(sql, params or {})
        return result

    def many(self, sql: str, rows: Sequence[Params]) -> None:
        self._connection.executemany(sql, rows)


_NAMED = re.compile(r"(?<![:\w]):([A-Za-z_]\w*)")


class SqlaSql:
    """A SQLAlchemy connection (inside its transaction), driven below the expression layer."""

    def __init__(self, connection: Any) -> None:
        self._connection = connection
        self.dialect: str = connection.dialect.name
        self._pyformat = connection.dialect.paramstyle == "pyformat"

    def run(self, sql: str, params: Params | None = None) -> Cursor:
        result: Cursor = self._connection.exec_driver_sql(self._native(sql), dict(params or {}))
        return result

    def many(self, sql: str, rows: Sequence[Params]) -> None:
        if rows:
            self._connection.exec_driver_sql(self._native(sql), [dict(row) for row in rows])

    def _native(self, sql: str) -> str:
        # psycopg takes %(name)s; sqlite3 takes :name as written.
        return _pyformat(sql) if self._pyformat else sql


_rendered: dict[str, str] = {}


def _pyformat(sql: str) -> str:
    found = _rendered.get(sql)
    if found is None:
        found = _rendered[sql] = _NAMED.sub(r"%(\1)s", sql)
    return found
