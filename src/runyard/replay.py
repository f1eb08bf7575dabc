"""Replaying run logs into a store or a runyard server: ``runyard sync``, and the catch-up every store-opening
command does.

A run log whose process died (or an offline run) may hold records the store has not taken. Replaying is always
safe: ingestion is idempotent on (session, seq), so records the store already holds are skipped.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from runyard import records as R
from runyard.errors import RunLogError
from runyard.records import Record
from runyard.runlog import RunLogReader
from runyard.runlog.binding import bound_server

if TYPE_CHECKING:
    from runyard.store import Store

_BATCH = 5000


class Target(Protocol):
    """Where a run log is replayed: a :class:`~runyard.store.Store`, or a runyard server's
    :class:`~runyard.sinks.http.HttpSink` (``runyard sync`` of a run bound for a server)."""

    def session_progress(self, session: str) -> int: ...

    def ingest(self, records: Sequence[Record], *, session: str) -> int: ...


@dataclass
class ReplayResult:
    """What replaying one run log did."""

    path: Path
    session: str | None
    applied: int  # records newly applied
    last_seq: int
    complete: bool  # the log ends with an exit record and the store holds all of it
    error: str | None = None


def find_run_logs(paths: Iterable[Path]) -> Iterator[Path]:
    """Every ``*.rylog`` file named by ``paths`` (files, run folders, or a runyard root folder)."""
    for path in paths:
        if path.is_file():
            yield path
        elif path.is_dir():
            yield from sorted(path.rglob("*.rylog"))


def _marker(path: Path) -> Path:
    return path.with_name(path.name + ".synced")


def replay(path: Path, store: Target, *, force: bool = False) -> ReplayResult:
    """Ingest whatever ``store`` lacks of the run log at ``path``."""
    marker = _marker(path)
    if marker.exists() and not force:
        return ReplayResult(path, None, 0, 0, True)
    reader = RunLogReader(path)
    session: str | None = None
    applied = 0
    last = 0
    saw_exit = False
    try:
        while True:
            batch = reader.read()
            if not batch:
                break
            if session is None:
                first = batch[0]
                if first[1] != R.KIND_START:
                    return ReplayResult(path, None, 0, 0, False, "the run log does not begin with a start record")
                session = str(first[2]["session"])
                done = store.session_progress(session)
                if done >= batch[-1][0] and not force:
                    last = done
                    saw_exit = saw_exit or any(r[1] == R.KIND_EXIT for r in batch)
                    continue
            saw_exit = saw_exit or any(r[1] == R.KIND_EXIT for r in batch)
            before = store.session_progress(session)
            for i in range(0, len(batch), _BATCH):
                last = store.ingest(batch[i : i + _BATCH], session=session)
            applied += max(0, last - before)
    except RunLogError as exc:
        return ReplayResult(path, session, applied, last, False, str(exc))
    finally:
        reader.close()
    complete = saw_exit and session is not None
    if complete:
        marker.write_text(str(last))
    return ReplayResult(path, session, applied, last, complete)


def open_store(url: str, root: Path, crash_timeout: float = 300.0) -> Store:
    """Open the store at ``url`` and ingest whatever run logs under ``root`` it still lacks."""
    from runyard.store import Store

    store = Store.open(url, crash_timeout=crash_timeout)
    for result in catch_up(root, store):
        if result.applied:
            print(f"runyard: ingested {result.applied} records left in {result.path}", file=sys.stderr)
    return store


def catch_up(root: Path, store: Store) -> list[ReplayResult]:
    """Replay every run log under ``root`` that has not been fully ingested yet (skips offline runs)."""
    runs = root / "runs"
    if not runs.is_dir():
        return []
    out = []
    for path in find_run_logs([runs]):
        if path.parent.name.startswith("offline-run"):
            continue
        if bound_server(path) is not None:
            continue  # a run logged to a runyard server: `runyard sync` sends it there
        out.append(replay(path, store))
    return out
