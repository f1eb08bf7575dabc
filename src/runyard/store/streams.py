"""A run's two streams besides history: console output and system metrics.

Console output is one ``console_lines`` row per line, numbered 0, 1, 2... per run; a resumed session carries
on from the run's last number, so the numbers stay contiguous across sessions and a reader can page through
them (``start``/``limit``) or follow a live run from the last number it saw. System metrics arrive every
1–15 s, so one ``system_samples`` row per sample (a JSON dict of ``system/...`` values) stays small.

Both are written inside :func:`runyard.store.ingest.apply_batch`'s transaction (:mod:`runyard.store.stream_writes`),
so a replayed batch (skipped by its seqs) never adds a line or a sample twice. This module reads them.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from runyard.store.models import ConsoleLine, SystemSample
from runyard.store.schema import console_lines, system_samples

__all__ = [
    "console_count",
    "console_lines_of",
    "console_size",
    "console_texts",
    "search_console",
    "system_history",
    "system_keys",
    "system_samples_of",
]

_READ_CHUNK = 5000  # console lines per query when a whole run's output is read


# -- reads ----------------------------------------------------------------------------------------------------


def console_lines_of(conn: Connection, run_pk: int, start: int, limit: int | None) -> list[ConsoleLine]:
    """Lines numbered ``start`` and on, in order, at most ``limit`` of them."""
    if limit is not None and limit <= 0:
        return []
    query = (
        sa.select(console_lines.c.line_no, console_lines.c.t, console_lines.c.stream, console_lines.c.text)
        .where(console_lines.c.run_pk == run_pk, console_lines.c.line_no >= max(start, 0))
        .order_by(console_lines.c.line_no)
    )
    if limit is not None:
        query = query.limit(limit)
    return [ConsoleLine(int(n), float(t), stream, text) for n, t, stream, text in conn.execute(query)]


def console_count(conn: Connection, run_pk: int) -> int:
    """How many console lines the run has (its next line number)."""
    found = conn.execute(sa.select(sa.func.count()).where(console_lines.c.run_pk == run_pk)).scalar()
    return int(found or 0)


def console_size(conn: Connection, run_pk: int) -> tuple[int, int, float | None]:
    """``(lines, bytes of output.log, time of the last line)``, computed in the database."""
    text = console_lines.c.text
    if conn.dialect.name == "postgresql":
        octets: Any = sa.func.octet_length(text)
    else:  # SQLite: length() of a BLOB counts bytes (octet_length needs SQLite 3.43)
        octets = sa.func.length(sa.cast(text, sa.LargeBinary))
    row = conn.execute(
        sa.select(sa.func.count(), sa.func.sum(octets), sa.func.max(console_lines.c.t)).where(
            console_lines.c.run_pk == run_pk
        )
    ).one()
    count = int(row[0] or 0)
    # output.log ends every line with a newline.
    return count, int(row[1] or 0) + count, None if row[2] is None else float(row[2])


def console_texts(conn: Connection, run_pk: int) -> Iterator[str]:
    """The text of every console line in order, read in chunks (a long run's output may be large)."""
    start = 0
    while True:
        chunk = list(
            conn.execute(
                sa.select(console_lines.c.line_no, console_lines.c.text)
                .where(console_lines.c.run_pk == run_pk, console_lines.c.line_no >= start)
                .order_by(console_lines.c.line_no)
                .limit(_READ_CHUNK)
            )
        )
        for _, text in chunk:
            yield text
        if len(chunk) < _READ_CHUNK:
            return
        start = int(chunk[-1][0]) + 1


def search_console(conn: Connection, run_pk: int, text: str, start: int, limit: int | None) -> list[ConsoleLine]:
    """Lines numbered ``start`` and on that contain ``text`` (case-insensitive), in order, at most ``limit``.

    Matched in Python, chunk by chunk, rather than with SQL's ``LIKE``/``lower()``: SQLite folds the case of
    ASCII letters only, PostgreSQL of every letter, and one matcher keeps one meaning on both backends.
    """
    if limit is not None and limit <= 0:
        return []
    needle = text.casefold()
    found: list[ConsoleLine] = []
    while True:
        chunk = console_lines_of(conn, run_pk, start, _READ_CHUNK)
        for line in chunk:
            if needle in line.text.casefold():
                found.append(line)
                if limit is not None and len(found) >= limit:
                    return found
        if len(chunk) < _READ_CHUNK:
            return found
        start = chunk[-1].line_no + 1


def system_samples_of(conn: Connection, run_pk: int, after: float | None) -> list[SystemSample]:
    """The run's samples taken after unix time ``after`` (all of them for None), in time order."""
    query = (
        sa.select(system_samples.c.t, system_samples.c.runtime, system_samples.c["values"])
        .where(system_samples.c.run_pk == run_pk)
        .order_by(system_samples.c.t, system_samples.c.id)
    )
    if after is not None:
        query = query.where(system_samples.c.t > after)
    return [SystemSample(float(t), float(runtime), dict(values)) for t, runtime, values in conn.execute(query)]


def system_keys(conn: Connection, run_pks: Sequence[int] | sa.Select[Any]) -> list[str]:
    """Every key of the samples of these runs (a list of primary keys, or a query selecting them), sorted.

    The database lists the keys of each stored JSON object, so samples are neither fetched nor decoded.
    """
    values = system_samples.c["values"]
    chosen = system_samples.c.run_pk.in_(run_pks)
    if conn.dialect.name == "postgresql":
        query = sa.select(sa.func.json_object_keys(values).label("k")).where(chosen).distinct()
    else:
        each = sa.func.json_each(values).table_valued("key")
        joined = system_samples.join(each, sa.true())  # json_each reads the row it is joined to
        query = sa.select(each.c.key.label("k")).select_from(joined).where(chosen).distinct()
    return sorted(str(k) for k in conn.execute(query).scalars())


def system_history(conn: Connection, run_pk: int, keys: Sequence[str] | None) -> list[dict[str, Any]]:
    """Samples in time order as ``{"_timestamp": t, "_runtime": r, key: value...}``.

    With ``keys``, each row holds only those keys (besides the two times) and samples holding none of them
    are left out, as :meth:`runyard.store.Store.history` does.
    """
    wanted = None if keys is None else [k for k in keys if k not in ("_timestamp", "_runtime")]
    query = (
        sa.select(system_samples.c.t, system_samples.c.runtime, system_samples.c["values"])
        .where(system_samples.c.run_pk == run_pk)
        .order_by(system_samples.c.t, system_samples.c.id)
    )
    out: list[dict[str, Any]] = []
    for t, runtime, values in conn.execute(query):
        row: dict[str, Any] = {"_timestamp": t, "_runtime": runtime}
        if wanted is None:
            row.update(values)
        else:
            picked = {k: values[k] for k in wanted if k in values}
            if not picked:
                continue
            row.update(picked)
        out.append(row)
    return out
