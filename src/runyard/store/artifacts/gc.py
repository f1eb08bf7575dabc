"""Garbage collection of the blob store: delete blobs that nothing references, safely against writers.

A writer (the SDK logging an artifact, a server receiving an upload) puts a blob first and commits the row that
references it afterwards. Between the two, the blob is unreferenced; so:

* a blob younger than the grace period is never deleted (a blob put again is touched, so its age restarts:
  :meth:`~runyard.store.blobs.BlobStore.put_file`);
* the blobs are listed before the references are read, and each candidate's age is checked again just before it
  is deleted: a writer that touched it in between keeps it;
* one collection runs at a time per store (a lock row in ``store_settings``, good across server replicas).

References are every non-NULL ``blob_key`` column of every table of the schema (run files, artifact files, and
any room added later that names its column ``blob_key``).
"""

from __future__ import annotations

import time

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from runyard.errors import ConflictError
from runyard.store.artifacts.models import GcReport
from runyard.store.blobs import BlobStore
from runyard.store.engine import WRITE_OPTION, dialect_insert
from runyard.store.schema import metadata, store_settings

__all__ = ["DEFAULT_GRACE_S", "GC_LOCK_SETTING", "collect", "referenced_keys"]

DEFAULT_GRACE_S = 24 * 3600.0
"""Blobs younger than this are kept even when unreferenced (``runyard gc --grace-minutes``)."""

GC_LOCK_SETTING = "gc_lock"
_STALE_LOCK_S = 6 * 3600.0  # a lock older than this belongs to a collection that died


def referenced_keys(engine: Engine) -> set[str]:
    """Every blob key some row of the store names."""
    keys: set[str] = set()
    with engine.connect() as conn:
        for table in metadata.sorted_tables:
            if "blob_key" in table.c:
                column = table.c.blob_key
                keys.update(
                    str(k) for k in conn.execute(sa.select(column).where(column.is_not(None)).distinct()).scalars()
                )
    return keys


def collect(engine: Engine, blobs: BlobStore, *, grace_s: float = DEFAULT_GRACE_S, dry_run: bool = False) -> GcReport:
    """Delete the blobs no row references that are older than ``grace_s`` seconds; report what was freed.

    Raises :class:`~runyard.errors.ConflictError` when another collection holds the lock.
    """
    _lock(engine)
    try:
        now = time.time()
        listed = list(blobs.list_blobs())  # before the references: a blob committed later is young, or referenced
        referenced = referenced_keys(engine)
        report = GcReport(dry_run=dry_run)
        deleted = freed = young = 0
        keys: list[str] = []
        for key, size, mtime in listed:
            if key in referenced:
                continue
            if now - mtime < grace_s:
                young += 1
                continue
            if not dry_run:
                fresh = {k: m for k, _, m in _stat(blobs, key)}
                if key not in fresh or time.time() - fresh[key] < grace_s:
                    young += key in fresh
                    continue
                if not blobs.delete(key):
                    continue
            deleted += 1
            freed += size
            keys.append(key)
        return GcReport(
            deleted=deleted,
            bytes_freed=freed,
            referenced=sum(1 for k, _, _ in listed if k in referenced),
            too_young=young,
            dry_run=report.dry_run,
            keys=keys,
        )
    finally:
        _unlock(engine)


def _stat(blobs: BlobStore, key: str) -> list[tuple[str, int, float]]:
    # The folder backend can look at one blob; others re-list (rare: only for a candidate).
    path = getattr(blobs, "path", None)
    if callable(path):
        try:
            st = path(key).stat()
        except FileNotFoundError:
            return []
        return [(key, st.st_size, st.st_mtime)]
    return [item for item in blobs.list_blobs() if item[0] == key]


def _lock(engine: Engine) -> None:
    now = time.time()
    setting = store_settings.c.key == GC_LOCK_SETTING
    with engine.execution_options(**{WRITE_OPTION: True}).begin() as conn:
        held = conn.execute(sa.select(store_settings.c.value).where(setting)).scalar()
        if held is not None and now - float(held) < _STALE_LOCK_S:
            raise ConflictError(
                f"another blob garbage collection has been running since {time.ctime(float(held))}; wait for it to "
                f"end (a lock older than {_STALE_LOCK_S / 3600:.0f} h is taken over)"
            )
        conn.execute(sa.delete(store_settings).where(setting))
        stmt = dialect_insert(conn, store_settings).values(key=GC_LOCK_SETTING, value=repr(now))
        result = conn.execute(stmt.on_conflict_do_nothing(index_elements=[store_settings.c.key]))
        if result.rowcount == 0:
            raise ConflictError("another blob garbage collection started at the same moment; wait for it to end")


def _unlock(engine: Engine) -> None:
    with engine.execution_options(**{WRITE_OPTION: True}).begin() as conn:
        conn.execute(sa.delete(store_settings).where(store_settings.c.key == GC_LOCK_SETTING))
