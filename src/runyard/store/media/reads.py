"""The media room composed into :class:`~runyard.store.Store` as ``store.media``: what media panels read."""

from __future__ import annotations

import bisect
import hashlib
import tempfile
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from runyard.errors import NotFoundError, UsageError
from runyard.store.blocks import decode_block
from runyard.store.engine import sqlite_path
from runyard.store.media.histograms import HistogramBlockCache, HistogramMatrix, matrix_of_blocks
from runyard.store.media.schema import media_keys
from runyard.store.media.tables import TableCache, TablePage
from runyard.store.schema import blocks, entities, projects, run_files, runs, series

__all__ = ["MediaAtStep", "MediaStore"]

FileReader = Callable[[str, str, str, str], "bytes | None"]
_MATRICES_KEPT = 32
_DECODED_POINTS_KEPT = 200_000  # media references kept decoded (small dicts: tens of MB at most)
MAX_RUNS = 500
"""Runs one media read may name."""


@dataclass(frozen=True)
class MediaAtStep:
    """One media key of several runs at one step: every step any of them logged it at (for a slider), the
    step shown, and each run's reference at its last logged step at or before it."""

    steps: list[int]
    step: int | None
    items: list[dict[str, Any]]

    def to_json(self) -> dict[str, Any]:
        return {"steps": self.steps, "step": self.step, "items": self.items}


class MediaStore:
    """Media keys, references, histograms over time and paged tables of a store's runs."""

    def __init__(self, engine: Engine, read_file: FileReader, cache_folder: Path | None = None) -> None:
        self._engine = engine
        self._read_file = read_file
        if cache_folder is None:
            db = sqlite_path(engine.url) if engine.url.get_backend_name() == "sqlite" else None
            cache_folder = db.parent / "cache" if db is not None else Path(tempfile.gettempdir()) / "runyard-cache"
        self.tables = TableCache(cache_folder / "tables")
        self.histograms = HistogramBlockCache(cache_folder / "histograms")
        self._matrices: OrderedDict[tuple[Any, ...], HistogramMatrix] = OrderedDict()
        self._lock = threading.Lock()
        self._decoded: OrderedDict[bytes, tuple[list[int], list[Any]]] = OrderedDict()
        self._decoded_points = 0

    def _points(self, conn: Connection, pk: int, key: str) -> tuple[list[int], list[Any]]:
        """All points of one series, each block decoded once: a slider move, or the next viewer of the same
        panel, finds the blocks' references decoded (keyed by a digest of the block, so never stale)."""
        steps: list[int] = []
        values: list[Any] = []
        for data in conn.execute(_blocks_query(pk, key, None, None)).scalars():
            digest = hashlib.blake2b(data, digest_size=16).digest()
            with self._lock:
                found = self._decoded.get(digest)
                if found is not None:
                    self._decoded.move_to_end(digest)
            if found is None:
                found = decode_block(data)
                with self._lock:
                    self._decoded[digest] = found
                    self._decoded_points += len(found[0])
                    while self._decoded_points > _DECODED_POINTS_KEPT and len(self._decoded) > 1:
                        _, old = self._decoded.popitem(last=False)
                        self._decoded_points -= len(old[0])
            steps.extend(found[0])
            values.extend(found[1])
        return steps, values

    def keys(self, entity: str, project: str, run_ids: Sequence[str] | None = None) -> dict[str, str]:
        """The media keys of the project's runs (or of ``run_ids`` only) and their reference type, by key."""
        query = (
            sa.select(media_keys.c.key, media_keys.c.type)
            .select_from(_JOIN.join(media_keys, media_keys.c.run_pk == runs.c.id))
            .where(entities.c.name == entity, projects.c.name == project)
            .distinct()
        )
        if run_ids is not None:
            query = query.where(runs.c.run_id.in_(_check_runs(run_ids)))
        with self._engine.connect() as conn:
            found: dict[str, str] = {}
            for key, kind in conn.execute(query):
                found.setdefault(key, kind)
        return dict(sorted(found.items()))

    def at_step(
        self, entity: str, project: str, run_ids: Sequence[str], key: str, step: int | None = None
    ) -> MediaAtStep:
        """``key`` of each of ``run_ids`` at ``step`` (None: the last step any of them logged it at).

        A run's item is its value at its last step at or before ``step``; a run without one is left out.
        """
        with self._engine.connect() as conn:
            points = {run_id: self._points(conn, pk, key) for run_id, pk in _run_pks(conn, entity, project, run_ids)}
        all_steps = sorted({s for steps, _ in points.values() for s in steps})
        if step is None and all_steps:
            step = all_steps[-1]
        items = []
        for run_id in run_ids:
            if run_id not in points or step is None:
                continue
            steps, values = points[run_id]
            at = bisect.bisect_right(steps, step) - 1
            if at >= 0:
                items.append({"run_id": run_id, "step": steps[at], "value": values[at]})
        return MediaAtStep(steps=all_steps, step=step, items=items)

    def between(
        self, entity: str, project: str, run_ids: Sequence[str], key: str, min_step: int, max_step: int, limit: int
    ) -> list[dict[str, Any]]:
        """``key``'s references of each of ``run_ids`` at steps ``min_step..max_step`` (at most ``limit`` per run),
        as ``{"run_id", "step", "value"}`` in run order, then step order: what a slider prefetches around it."""
        out: list[dict[str, Any]] = []
        with self._engine.connect() as conn:
            pks = dict(_run_pks(conn, entity, project, run_ids))
            for run_id in run_ids:
                if run_id not in pks:
                    continue
                steps, values = self._points(conn, pks[run_id], key)
                lo, hi = bisect.bisect_left(steps, min_step), bisect.bisect_right(steps, max_step)
                out += [
                    {"run_id": run_id, "step": steps[i], "value": values[i]} for i in range(lo, min(hi, lo + limit))
                ]
        return out

    def histogram(
        self,
        entity: str,
        project: str,
        run_id: str,
        key: str,
        *,
        buckets: int = 500,
        min_step: int | None = None,
        max_step: int | None = None,
    ) -> HistogramMatrix:
        """``key``'s histograms as a step x bin matrix of at most ``buckets`` rows (see
        :mod:`runyard.store.media.histograms`); empty for an unknown key."""
        if buckets < 1:
            raise UsageError(f"buckets must be >= 1, not {buckets}")
        with self._engine.connect() as conn:
            pks = _run_pks(conn, entity, project, [run_id])
            if not pks:
                raise NotFoundError(f"no run {entity}/{project}/{run_id}")
            datas = list(conn.execute(_blocks_query(pks[0][1], key, min_step, max_step)).scalars())
        # The same view asked again (another tab, a reload) is answered from the last matrices built.
        wanted = (tuple(hashlib.blake2b(d, digest_size=16).digest() for d in datas), buckets, min_step, max_step)
        with self._lock:
            found = self._matrices.get(wanted)
        if found is None:
            found = matrix_of_blocks([self.histograms.get(data) for data in datas], buckets, min_step, max_step)
            with self._lock:
                self._matrices[wanted] = found
                while len(self._matrices) > _MATRICES_KEPT:
                    self._matrices.popitem(last=False)
        return found

    def table_page(
        self,
        entity: str,
        project: str,
        run_id: str,
        path: str,
        *,
        offset: int = 0,
        limit: int = 50,
        sort: str | None = None,
        descending: bool = False,
        search: str | None = None,
        where: list[tuple[str, str, Any]] | None = None,
    ) -> TablePage:
        """A page of the table file ``path`` of the run (a ``table-file`` reference's ``path``).

        The file is indexed on the first read (seconds for a million rows), every later page is read from the
        index. Raises :class:`~runyard.errors.NotFoundError` when the run has no such file.
        """
        where_file = f"file {path!r} of run {entity}/{project}/{run_id}"
        with self._engine.connect() as conn:
            pks = _run_pks(conn, entity, project, [run_id])
            stamp = None
            if pks:
                stamp = conn.execute(
                    sa.select(run_files.c.size, run_files.c.updated_at).where(
                        run_files.c.run_pk == pks[0][1], run_files.c.name == path
                    )
                ).one_or_none()
        # A file already indexed is not read again (a million-row table is tens of MB): known by its run, name,
        # size and time of writing, which a rewrite of the file changes.
        known = None if stamp is None else (pks[0][1], path, stamp[0], stamp[1])
        index = None if known is None else self.tables.known(known)
        if index is None:
            content = self._read_file(entity, project, run_id, path)
            if content is None:
                raise NotFoundError(f"run {entity}/{project}/{run_id} has no file {path!r}")
            index = self.tables.get(content, where_file, known)
        return index.page(offset=offset, limit=limit, sort=sort, descending=descending, search=search, where=where)


_JOIN = runs.join(projects, runs.c.project_id == projects.c.id).join(entities, projects.c.entity_id == entities.c.id)


def _check_runs(run_ids: Sequence[str]) -> list[str]:
    if len(run_ids) > MAX_RUNS:
        raise UsageError(f"at most {MAX_RUNS} runs per media read, not {len(run_ids)}")
    return list(run_ids)


def _run_pks(conn: Connection, entity: str, project: str, run_ids: Sequence[str]) -> list[tuple[str, int]]:
    query = (
        sa.select(runs.c.run_id, runs.c.id)
        .select_from(_JOIN)
        .where(entities.c.name == entity, projects.c.name == project, runs.c.run_id.in_(_check_runs(run_ids)))
    )
    return [(run_id, pk) for run_id, pk in conn.execute(query)]


def _blocks_query(pk: int, key: str, min_step: int | None, max_step: int | None) -> sa.Select[Any]:
    """The data of a series' blocks overlapping ``[min_step, max_step]``, in order."""
    query = (
        sa.select(blocks.c.data)
        .select_from(blocks.join(series, blocks.c.series_id == series.c.id))
        .where(series.c.run_pk == pk, series.c.key == key)
        .order_by(blocks.c.block_no)
    )
    if min_step is not None:
        query = query.where(blocks.c.step_max >= min_step)
    if max_step is not None:
        query = query.where(blocks.c.step_min <= max_step)
    return query
