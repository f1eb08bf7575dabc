"""Big logged tables paged server-side: a table file is indexed once, into SQLite, and paged from there.

A ``table-file`` reference points at a run file holding ``{"columns": [...], "data": [[...], ...]}``. Parsing
a million-row JSON on every page would cost seconds, so the first read converts it into a SQLite file in the
cache folder, named after the content's sha256 (the same table logged twice, or by two runs, is indexed
once; a changed file is a new name). Each column becomes one SQLite column (numbers and text as themselves,
lists and media references as JSON text, decoded again when read), and an index per column is built on the
first sort by it. Pages then cost a B-tree walk: ``ORDER BY <col> LIMIT n OFFSET k``.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import tempfile
import threading
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from runyard.errors import UsageError

__all__ = ["TableCache", "TableIndex", "TablePage"]

_BATCH = 20_000  # rows inserted per executemany
_FILTER_OPS = {"=": "=", "!=": "!=", "<": "<", "<=": "<=", ">": ">", ">=": ">="}


@dataclass(frozen=True)
class TablePage:
    """One page of a table: its columns, the rows (cells as logged), and how many rows match in all."""

    columns: list[str]
    rows: list[list[Any]]
    total: int
    offset: int

    def to_json(self) -> dict[str, Any]:
        return {"columns": self.columns, "rows": self.rows, "total": self.total, "offset": self.offset}


class TableIndex:
    """An indexed table file (see the module docstring); thread-safe, one connection per call."""

    def __init__(self, path: Path) -> None:
        self.path = path
        with self._connect() as conn:
            meta = dict(conn.execute("SELECT name, value FROM meta").fetchall())
        self.columns: list[str] = json.loads(meta["columns"])
        self.json_columns: set[int] = set(json.loads(meta["json_columns"]))
        self.rows = int(meta["rows"])
        # The columns a text search looks in: those holding text (names, labels, media); numbers are filtered
        # with `where`. Indexes built before this was recorded search every column.
        self.text_columns: list[int] = json.loads(
            meta.get("text_columns") or json.dumps(list(range(len(self.columns))))
        )
        self._index_lock = threading.Lock()

    def _connect(self) -> closing[sqlite3.Connection]:
        # autocommit: a CREATE INDEX lands at once, and reads hold no transaction.
        return closing(sqlite3.connect(str(self.path), check_same_thread=False, isolation_level=None))

    def page(
        self,
        *,
        offset: int = 0,
        limit: int = 50,
        sort: str | None = None,
        descending: bool = False,
        search: str | None = None,
        where: list[tuple[str, str, Any]] | None = None,
    ) -> TablePage:
        """Rows ``offset`` to ``offset + limit`` in ``sort`` order (logged order when None) of the rows that hold
        ``search`` in any cell (ignoring case) and satisfy every ``(column, op, value)`` of ``where``."""
        if offset < 0 or limit < 1:
            raise UsageError("a table page needs offset >= 0 and limit >= 1")
        clauses: list[str] = []
        params: list[Any] = []
        if search:
            like = "%" + search.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            searched = self.text_columns or list(range(len(self.columns)))
            clauses.append("(" + " OR ".join(f"CAST(c{i} AS TEXT) LIKE ? ESCAPE '\\'" for i in searched) + ")")
            params.extend([like] * len(searched))
        for column, op, value in where or ():
            if op not in _FILTER_OPS:
                raise UsageError(f"unknown filter operator {op!r}; use one of {', '.join(_FILTER_OPS)}")
            clauses.append(f"c{self._column(column)} {_FILTER_OPS[op]} ?")
            params.append(value)
        where_sql = (" WHERE " + " AND ".join(clauses)) if clauses else ""
        order = "rid"
        if sort is not None:
            col = self._column(sort)
            self._ensure_index(col)
            order = f"c{col} {'DESC' if descending else 'ASC'}, rid"
        names = ", ".join(f"c{i}" for i in range(len(self.columns)))
        with self._connect() as conn:
            total = (
                self.rows if not clauses else conn.execute(f"SELECT COUNT(*) FROM t{where_sql}", params).fetchone()[0]
            )
            fetched = conn.execute(
                f"SELECT {names} FROM t{where_sql} ORDER BY {order} LIMIT ? OFFSET ?", [*params, limit, offset]
            ).fetchall()
        rows = [
            [
                orjson.loads(cell) if i in self.json_columns and isinstance(cell, str) else cell
                for i, cell in enumerate(r)
            ]
            for r in fetched
        ]
        return TablePage(columns=list(self.columns), rows=rows, total=total, offset=offset)

    def _column(self, name: str) -> int:
        try:
            return self.columns.index(name)
        except ValueError:
            raise UsageError(f"the table has no column {name!r}; its columns are {self.columns}") from None

    def _ensure_index(self, col: int) -> None:
        with self._index_lock, self._connect() as conn:
            conn.execute(f"CREATE INDEX IF NOT EXISTS ix_c{col} ON t (c{col}, rid)")


class TableCache:
    """Indexed tables by content digest, in ``folder`` (built on first use, kept across restarts)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._open: dict[str, TableIndex] = {}
        self._lock = threading.Lock()
        self._building: dict[str, threading.Lock] = {}
        self._by_file: dict[Any, TableIndex] = {}

    def known(self, file: Any) -> TableIndex | None:
        """The index already opened for ``file`` (a key naming one version of a run file), if any."""
        with self._lock:
            return self._by_file.get(file)

    def get(self, content: bytes, where: str, file: Any = None) -> TableIndex:
        """The index of the table file ``content`` (``where`` names it in errors), building it if needed;
        remembered for ``file`` (see :meth:`known`) when given."""
        found = self._get(content, where)
        if file is not None:
            with self._lock:
                self._by_file[file] = found
        return found

    def _get(self, content: bytes, where: str) -> TableIndex:
        digest = hashlib.sha256(content).hexdigest()
        with self._lock:
            found = self._open.get(digest)
            if found is not None:
                return found
            building = self._building.setdefault(digest, threading.Lock())
        with building:
            with self._lock:
                found = self._open.get(digest)
            if found is None:
                path = self.folder / f"{digest}.sqlite"
                if not path.exists():
                    _build(content, path, where)
                found = TableIndex(path)
                with self._lock:
                    self._open[digest] = found
        return found


def _build(content: bytes, path: Path, where: str) -> None:
    try:
        table = orjson.loads(content)
    except orjson.JSONDecodeError as exc:
        raise UsageError(f"{where} is not a table file (JSON with columns and data): {exc}") from None
    columns = table.get("columns") if isinstance(table, dict) else None
    data = table.get("data") if isinstance(table, dict) else None
    if not isinstance(columns, list) or not isinstance(data, list):
        raise UsageError(f"{where} is not a table file: it needs a 'columns' list and a 'data' list of rows")
    names = [str(c) for c in columns]
    width = len(names)
    json_columns: set[int] = set()
    text_columns: set[int] = set()
    for row in data[:1000]:
        if isinstance(row, list):
            json_columns.update(i for i, cell in enumerate(row[:width]) if isinstance(cell, (dict, list)))
            text_columns.update(i for i, cell in enumerate(row[:width]) if isinstance(cell, (str, dict, list)))
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    os.close(fd)
    try:
        conn = sqlite3.connect(tmp)
        try:
            conn.execute("PRAGMA journal_mode=OFF")
            conn.execute("PRAGMA synchronous=OFF")
            cols = ", ".join(f"c{i}" for i in range(width))
            conn.execute(f"CREATE TABLE t (rid INTEGER PRIMARY KEY{', ' if width else ''}{cols})")
            conn.execute("CREATE TABLE meta (name TEXT PRIMARY KEY, value TEXT)")
            marks = ", ".join("?" for _ in range(width + 1))
            insert = f"INSERT INTO t VALUES ({marks})"
            batch: list[list[Any]] = []
            for rid, row in enumerate(data):
                cells = list(row[:width]) if isinstance(row, list) else []
                cells += [None] * (width - len(cells))
                for i, cell in enumerate(cells):
                    if isinstance(cell, (dict, list)):
                        json_columns.add(i)
                        cells[i] = orjson.dumps(cell).decode()
                    elif isinstance(cell, int) and not -(1 << 63) <= cell < (1 << 63):
                        cells[i] = float(cell)
                batch.append([rid, *cells])
                if len(batch) >= _BATCH:
                    conn.executemany(insert, batch)
                    batch = []
            if batch:
                conn.executemany(insert, batch)
            meta = {
                "text_columns": json.dumps(sorted(text_columns | json_columns)),
                "columns": json.dumps(names),
                "json_columns": json.dumps(sorted(json_columns)),
                "rows": str(len(data)),
            }
            conn.executemany("INSERT INTO meta VALUES (?, ?)", list(meta.items()))
            conn.commit()
        finally:
            conn.close()
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
