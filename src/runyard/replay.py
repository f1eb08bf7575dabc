"""Replaying run logs into a store or a runyard server: ``runyard sync``, and the catch-up every store-opening
command does.

A run log whose process died (or an offline run) may hold records the store has not taken. Replaying is always
safe: ingestion is idempotent on (session, seq), so records the store already holds are skipped.

What replaying guarantees:

* every intact record is stored, whatever its size, and whatever damage lies before or after it: the reader
  skips damaged bytes and goes on with the next whole record;
* records lost in damaged bytes are named (sequence numbers and byte ranges), recorded in the store
  (``Store.lost_records``) and make the result :attr:`ReplayResult.left_behind`, as does damage at the end of
  the log; the torn last record a killed writer leaves was never acknowledged and is not a loss;
* a log is marked as synced per store: its ``.synced`` marker lists the id of each store that holds all of it
  (:meth:`runyard.store.Store.identity`; through a runyard server, the id of the store it serves), so syncing
  it into another store is never skipped;
* a log bound for a runyard server (:mod:`runyard.runlog.binding`) is left alone by the catch-up of local
  commands: ``runyard sync`` sends it to its server.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from runyard import records as R
from runyard.errors import CommError, RunLogError, StoreError
from runyard.records import Record
from runyard.runlog import Damage, RunLogReader
from runyard.runlog.binding import bound_server

if TYPE_CHECKING:
    from runyard.store import Store

_BATCH = 5000


class Target(Protocol):
    """Where a run log is replayed: a :class:`~runyard.store.Store`, or a runyard server's
    :class:`~runyard.sinks.http.HttpSink` (``runyard sync`` of a run bound for a server).

    A server's :meth:`identity` is the id of the store it serves, so a log synced through a server is marked as
    synced into that store, whichever way it is reached next.
    """

    def identity(self) -> str: ...

    def session_progress(self, session: str) -> int: ...

    def ingest(self, records: Sequence[Record], *, session: str) -> int: ...

    def stored_steps(self, session: str) -> int: ...


@dataclass
class ReplayResult:
    """What replaying one run log did."""

    path: Path
    session: str | None
    applied: int  # records newly applied
    last_seq: int
    complete: bool  # the log ends with an exit record and the store holds all of it
    error: str | None = None
    already: bool = False  # marked as synced into this store: not read again
    run: str | None = None  # entity/project/run_id, from the start record
    steps: int | None = None  # steps the store holds for the run, read back after replaying
    lost: list[tuple[int, int, int, int]] = field(default_factory=list)  # first, last seq; damaged bytes start, end
    damage: list[Damage] = field(default_factory=list)  # byte ranges skipped
    torn_bytes: int = 0  # the unacknowledged beginning of a record, left by a killed writer

    @property
    def damaged_tail(self) -> Damage | None:
        """Damaged bytes at the end of the log, with no intact record after them: what they held is lost."""
        return self.damage[-1] if self.damage and self.damage[-1].at_end else None

    @property
    def left_behind(self) -> bool:
        """Something of the log is not in the store: an error stopped replaying, or records were lost."""
        return bool(self.error or self.lost or self.damaged_tail)


def find_run_logs(paths: Iterable[Path]) -> Iterator[Path]:
    """Every ``*.rylog`` file named by ``paths`` (files, run folders, or a runyard root folder)."""
    for path in paths:
        if path.is_file():
            yield path
        elif path.is_dir():
            yield from sorted(path.rglob("*.rylog"))


def _marker(path: Path) -> Path:
    return path.with_name(path.name + ".synced")


def synced_into(path: Path) -> set[str]:
    """The ids of the stores that hold all of the run log at ``path``, from its marker."""
    try:
        lines = _marker(path).read_text().splitlines()
    except OSError:
        return set()
    # A marker of an older runyard holds only a number, with no store id: it proves nothing about any store.
    return {parts[0] for parts in (line.split() for line in lines) if len(parts) >= 2}


def _mark(path: Path, store_id: str, last_seq: int) -> None:
    marker = _marker(path)
    lines = [f"{sid} {last_seq}" for sid in sorted(synced_into(path) - {store_id})]
    lines.append(f"{store_id} {last_seq}")
    try:
        marker.write_text("\n".join(lines) + "\n")
    except OSError:
        pass  # without a marker the log is only read again next time: idempotent


def replay(path: Path, store: Target, *, force: bool = False) -> ReplayResult:
    """Ingest whatever ``store`` lacks of the run log at ``path``."""
    store_id = store.identity()
    if store_id in synced_into(path) and not force:
        return ReplayResult(path, None, 0, 0, True, already=True)
    result = ReplayResult(path, None, 0, 0, False)
    reader = RunLogReader(path)
    saw_exit = False
    try:
        while True:
            batch = reader.read(final=True)
            if not batch:
                break
            if result.session is None:
                _begin(result, batch[0], store)
                if result.error:
                    return result
            session = result.session
            assert session is not None
            saw_exit = saw_exit or any(r[1] == R.KIND_EXIT for r in batch)
            result.lost.extend(_gap(r[2]) for r in batch if r[1] == R.KIND_GAP)
            before = store.session_progress(session)
            if before >= batch[-1][0] and not force:
                result.last_seq = before
                continue
            for i in range(0, len(batch), _BATCH):
                result.last_seq = store.ingest(batch[i : i + _BATCH], session=session)
            result.applied += sum(1 for r in batch if r[0] > before and r[1] != R.KIND_GAP)
    except (RunLogError, StoreError) as exc:
        result.error = str(exc)
    finally:
        end = reader.end()
        result.damage = list(reader.damage)
        result.torn_bytes = end.torn_bytes
        reader.close()
    if result.session is not None and not result.error:
        try:
            result.steps = store.stored_steps(result.session)
        except CommError:  # the store's or the server's: the count is only unknown, nothing is lost
            result.steps = None
    result.complete = saw_exit and result.session is not None and not result.left_behind
    if result.complete:
        _mark(path, store_id, result.last_seq)
    return result


def _gap(body: dict[str, Any]) -> tuple[int, int, int, int]:
    return (body["first"], body["last"], body["start"], body["end"])


def _begin(result: ReplayResult, first: list[Any], store: Target) -> None:
    """Name the session from the log's first record (its file name, when the start record was lost)."""
    if first[1] == R.KIND_START:
        body = first[2]
        result.session = str(body["session"])
        result.run = f"{body.get('entity')}/{body.get('project')}/{body.get('run_id')}"
        return
    session = result.path.stem
    if store.session_progress(session) == 0:
        result.error = (
            "the run log's start record is damaged or missing, and the store has never seen this session, so its "
            "run (entity, project, id) is unknown: nothing of it can be stored"
        )
        return
    result.session = session


def open_store(url: str, root: Path, crash_timeout: float = 300.0) -> Store:
    """Open the store at ``url`` and ingest whatever run logs under ``root`` it still lacks."""
    from runyard.store import Store
    from runyard.store.store import default_blob_location

    store = Store.open(url, crash_timeout=crash_timeout, default_blobs=default_blob_location(url))
    for result in catch_up(root, store):
        if result.applied:
            print(f"runyard: ingested {result.applied} records left in {result.path}", file=sys.stderr)
        if result.left_behind:
            print(f"runyard: {result.path}: {describe_loss(result)}", file=sys.stderr)
    return store


def describe_loss(result: ReplayResult) -> str:
    """What of a run log is not in the store, and why (empty when nothing is left behind)."""
    parts = []
    if result.error:
        parts.append(f"not fully stored: {result.error}")
    for first, last, start, end in result.lost:
        what = f"record #{first}" if first == last else f"{last - first + 1} records (#{first}-#{last})"
        parts.append(
            f"{what} lost in damaged bytes {start}-{end} of the run log; every intact record around them is stored"
        )
    tail = result.damaged_tail
    if tail is not None:
        parts.append(
            f"bytes {tail.start}-{tail.end} at the end of the run log are damaged: whatever they held after record "
            f"#{result.last_seq} is lost; everything before is stored"
        )
    return "; ".join(parts)


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
