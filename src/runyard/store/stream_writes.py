"""Writing a run's console lines and system-metrics samples (read back by :mod:`runyard.store.streams`).

Record bodies are parsed here and written inside :func:`runyard.store.ingest.apply_batch`'s transaction.
No SQLAlchemy: the ingester process of a SQLite store runs this on a plain sqlite3 connection.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from runyard.store.sql import Sql, dump_json, json_param, scalar, text_safe

__all__ = [
    "ConsoleRow",
    "SystemRow",
    "append_console",
    "console_rows",
    "insert_system_rows",
    "system_row",
    "text_safe",
]

ConsoleRow = tuple[float, str, str]
"""``(t, stream, text)`` of one console line, ready to be numbered and stored."""

SystemRow = dict[str, Any]
"""``{"t": ..., "runtime": ..., "values": {...}}``: one ``system_samples`` row without its run."""

_STREAMS = frozenset({"stdout", "stderr"})


# -- parsing record bodies (runyard.records.ConsoleBody, SystemBody) -----------------------------------------


def console_rows(body: Mapping[str, Any], now: float) -> list[ConsoleRow]:
    """The lines of a console record. A line without a usable time gets ``now``; an unknown stream is stdout."""
    out: list[ConsoleRow] = []
    for line in body["lines"]:
        t, stream, text = line
        if not isinstance(t, (int, float)) or isinstance(t, bool) or not math.isfinite(t):
            t = now
        if stream not in _STREAMS:
            stream = "stdout"
        if not isinstance(text, str):
            text = str(text)
        out.append((float(t), stream, text_safe(text)))
    return out


def system_row(body: Mapping[str, Any]) -> SystemRow:
    """The row of a system-metrics record; ``values`` must be a dict."""
    values = body["values"]
    if not isinstance(values, dict):
        raise TypeError(f"system record values must be a dict, not {type(values).__name__}")
    return {"t": float(body["t"]), "runtime": float(body.get("runtime") or 0.0), "values": dict(values)}


# -- writes ---------------------------------------------------------------------------------------------------


def append_console(sql: Sql, run_pk: int, rows: Sequence[ConsoleRow]) -> None:
    """Append lines to a run's console, numbered on from its last line (the caller holds the run's row lock)."""
    if not rows:
        return
    last = scalar(sql, "SELECT max(line_no) FROM console_lines WHERE run_pk = :run_pk", {"run_pk": run_pk})
    start = 0 if last is None else int(last) + 1
    sql.many(
        'INSERT INTO console_lines (run_pk, line_no, t, stream, "text") VALUES (:run_pk, :line_no, :t, :stream, :text)',
        [
            {"run_pk": run_pk, "line_no": start + i, "t": t, "stream": stream, "text": text}
            for i, (t, stream, text) in enumerate(rows)
        ],
    )


def insert_system_rows(sql: Sql, run_pk: int, rows: Sequence[SystemRow]) -> None:
    """Store system-metrics samples of a run."""
    if rows:
        sql.many(
            'INSERT INTO system_samples (run_pk, t, runtime, "values")'
            f" VALUES (:run_pk, :t, :runtime, {json_param(sql, 'values')})",
            [
                {"run_pk": run_pk, "t": row["t"], "runtime": row["runtime"], "values": dump_json(row["values"])}
                for row in rows
            ],
        )
