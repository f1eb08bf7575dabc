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
from runyard.store.schema import HEAD_REVISION, metadata
from runyard.store.sqlite_setup import creation_lock

__all__ = ["create_fresh", "current_revision", "ensure_schema", "upgrade"]

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
        if revision is None and not sa.inspect(engine).get_table_names():
            create_fresh(engine)
        else:
            upgrade(engine)


def create_fresh(engine: Engine) -> None:
    """Create the head schema in an empty database and record its revision.

    Equivalent to running every migration (a test checks that both give the same schema), without loading
    alembic: a new store is ready in milliseconds, which is what the first ``init()`` of a project waits for.
    """
    version = sa.Table(
        "alembic_version",
        sa.MetaData(),
        sa.Column("version_num", sa.String(32), primary_key=True),
    )
    with engine.execution_options(**{WRITE_OPTION: True}).begin() as conn:
        metadata.create_all(conn)
        version.create(conn)
        conn.execute(version.insert().values(version_num=HEAD_REVISION))


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
        with creation_lock(path):
            yield
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


SQLITE_SCHEMA = Path(__file__).with_name("sqlite_schema.sql")
"""The head schema as SQLite DDL, generated from :mod:`runyard.store.schema` by :func:`sqlite_ddl`: how the
SQLAlchemy-free writer (:mod:`runyard.store.writer`) creates a fresh store. A test keeps it current."""


def sqlite_ddl() -> str:
    """The statements :func:`create_fresh` runs on SQLite, as one script whose first line names the revision."""
    from sqlalchemy.dialects import sqlite
    from sqlalchemy.schema import CreateIndex, CreateTable

    dialect = sqlite.dialect()
    version = sa.Table("alembic_version", sa.MetaData(), sa.Column("version_num", sa.String(32), primary_key=True))
    statements = []
    for table in [*metadata.sorted_tables, version]:
        statements.append(str(CreateTable(table).compile(dialect=dialect)).strip())
        statements.extend(
            str(CreateIndex(index).compile(dialect=dialect)).strip()
            for index in sorted(table.indexes, key=lambda i: str(i.name))
        )
    header = f"-- runyard store schema, revision {HEAD_REVISION} (generated by runyard.store.migrate.sqlite_ddl)"
    lines = "\n".join(f"{statement};" for statement in statements).splitlines()
    return header + "\n" + "".join(line.rstrip() + "\n" for line in lines)


if __name__ == "__main__":
    # python -m runyard.store.migrate: rewrite sqlite_schema.sql after a schema change.
    SQLITE_SCHEMA.write_text(sqlite_ddl())
