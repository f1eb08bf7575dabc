"""Bring a store's schema to the head revision, once, even when many processes open a fresh store together.

Every ``Store.open`` reads ``alembic_version`` and compares it with
:data:`~runyard.store.schema.HEAD_REVISION`, one cheap query; alembic is only imported when a migration is
actually due. Migrating happens under a lock (SQLite: ``lockf`` on ``<db file>.lock``; PostgreSQL: an advisory
lock), and the version is read again once the lock is held, so the processes that waited find the work done.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from runyard.errors import StoreError
from runyard.store.engine import WRITE_OPTION, is_sqlite, sqlite_path
from runyard.store.schema import HEAD_REVISION

__all__ = ["current_revision", "ensure_schema", "upgrade"]

# pg_advisory_lock takes a bigint: any constant shared by every runyard process will do.
_PG_LOCK_KEY = 0x72756E79617264  # "runyard"


def current_revision(engine: Engine) -> str | None:
    """The revision recorded in ``alembic_version``, or None for an empty database."""
    with engine.connect() as conn:
        try:
            return conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()
        except sa.exc.DBAPIError:
            # No such table yet (a failed statement on PostgreSQL also aborts the transaction, which
            # leaving the block rolls back).
            return None


def ensure_schema(engine: Engine) -> None:
    """Migrate to head if needed; a no-op costing one query when the store is current."""
    if current_revision(engine) == HEAD_REVISION:
        return
    with _migration_lock(engine):
        revision = current_revision(engine)
        if revision == HEAD_REVISION:
            return
        upgrade(engine)


def upgrade(engine: Engine, target: str = "head") -> None:
    """Run alembic's upgrade in one transaction (the caller holds the migration lock)."""
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    # ConfigParser interpolates "%": escape it in case the install path holds one.
    cfg.set_main_option("script_location", str(Path(__file__).parent / "migrations").replace("%", "%%"))
    with engine.execution_options(**{WRITE_OPTION: True}).begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, target)


@contextlib.contextmanager
def _migration_lock(engine: Engine) -> Iterator[None]:
    if is_sqlite(engine.url):
        path = sqlite_path(engine.url)
        if path is None:  # in-memory: one process by definition
            yield
            return
        import fcntl

        lock_path = path.with_name(path.name + ".lock")
        # lockf (POSIX record locks), not flock: a forked child does not inherit it, so a fork taken while this
        # process migrates cannot keep the store locked after the parent lets go.
        with open(lock_path, "a+b") as fh:
            fcntl.lockf(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.lockf(fh, fcntl.LOCK_UN)
        return
    with engine.connect() as conn:
        try:
            conn.execute(sa.text("SELECT pg_advisory_lock(:k)"), {"k": _PG_LOCK_KEY})
            conn.commit()
        except sa.exc.DBAPIError as exc:
            raise StoreError(f"could not lock the store for migration: {exc}") from exc
        try:
            yield
        finally:
            conn.execute(sa.text("SELECT pg_advisory_unlock(:k)"), {"k": _PG_LOCK_KEY})
            conn.commit()
