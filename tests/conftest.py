"""Shared fixtures: a store URL for each backend, and an open store on it.

The store suite runs on SQLite (a file in a temp dir) and PostgreSQL (a fresh database per test on
127.0.0.1:5432, dropped afterwards). PostgreSQL is skipped only when ``RUNYARD_TEST_POSTGRES=0``; otherwise a
server that cannot be reached is an error, not a skip, so CI never passes without it.

A test's PostgreSQL database is a copy of one migrated to head once per test process (migrating costs about a
second, a copy a fraction of it), and it is dropped in the background (a DROP DATABASE takes seconds on a busy
machine). A test that needs a database without runyard's tables (migrations from scratch or from an old
revision) says so with ``@pytest.mark.empty_store``.

The tests log in to PostgreSQL with ``RUNYARD_TEST_POSTGRES_URL`` (an admin URL whose role may create
databases), else as ``$PGUSER``, else as ``postgres``, the role every standard install has.

Hypothesis runs without its per-example deadline everywhere: no property here is about speed, and a deadline
only makes a loaded machine fail tests (speed is measured in ``bench/``).
"""

from __future__ import annotations

import importlib.util
import os
import queue
import sys
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from hypothesis import settings

if TYPE_CHECKING:
    from runyard.store import Store

_SRC = Path(__file__).resolve().parents[1] / "src"


def _ensure_runyard_importable() -> None:
    # An uninstalled checkout: test the source tree. A "./runyard" data folder (the default local store)
    # would otherwise be picked up as a namespace package when the working directory is on sys.path.
    spec = importlib.util.find_spec("runyard")
    locations = (spec.submodule_search_locations or []) if spec is not None else []
    if not any((Path(p) / "records.py").exists() for p in locations):
        sys.path.insert(0, str(_SRC))


_ensure_runyard_importable()

settings.register_profile("runyard", deadline=None)
settings.load_profile("runyard")


def postgres_admin_url() -> str:
    """The URL the tests create and drop their PostgreSQL databases with (see the module's docstring)."""
    url = os.environ.get("RUNYARD_TEST_POSTGRES_URL")
    if url:
        return url
    role = os.environ.get("PGUSER") or "postgres"
    return f"postgresql://{role}@127.0.0.1:5432/postgres"


PG_ADMIN_URL = postgres_admin_url()


@pytest.fixture(scope="session")
def pg_admin_url() -> str:
    """The PostgreSQL admin URL of the test run (skipped with ``RUNYARD_TEST_POSTGRES=0``)."""
    if os.environ.get("RUNYARD_TEST_POSTGRES") == "0":
        pytest.skip("RUNYARD_TEST_POSTGRES=0")
    return PG_ADMIN_URL


def _postgres_url(database: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(PG_ADMIN_URL).set(database=database).render_as_string(hide_password=False)


class _PostgresDatabases:
    """The test databases of one test process: copies of a template migrated once, dropped by a thread."""

    def __init__(self) -> None:
        self._template: str | None = None
        self._drops: queue.Queue[str | None] = queue.Queue()
        self._dropper = threading.Thread(target=self._drop_all, name="runyard-test-dropdb", daemon=True)
        self._dropper.start()

    def create(self, *, empty: bool) -> str:
        """A new database: runyard's tables at head, or none with ``empty``; returns its name."""
        import psycopg

        name = f"runyard_test_{uuid.uuid4().hex[:16]}"
        template = "" if empty else f' TEMPLATE "{self._migrated_template()}"'
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"{template}')
        return name

    def drop_later(self, name: str) -> None:
        self._drops.put(name)

    def close(self) -> None:
        self._drops.put(None)
        self._dropper.join(timeout=300)
        if self._template is not None:
            _drop_database(self._template)

    def _migrated_template(self) -> str:
        if self._template is None:
            import psycopg

            from runyard.store import Store

            name = f"runyard_template_{uuid.uuid4().hex[:16]}"
            with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
                conn.execute(f'CREATE DATABASE "{name}"')
            Store.open(_postgres_url(name)).close()
            # a copy needs the template to have no connections left
            with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
                conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (name,))
            self._template = name
        return self._template

    def _drop_all(self) -> None:
        while (name := self._drops.get()) is not None:
            _drop_database(name)


def _drop_database(name: str) -> None:
    import psycopg

    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def _postgres_databases() -> Iterator[_PostgresDatabases]:
    databases = _PostgresDatabases()
    yield databases
    databases.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A URL to an empty store, once per backend (on PostgreSQL already at head; see the module's docstring)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/store/runyard.db"
        return
    if os.environ.get("RUNYARD_TEST_POSTGRES") == "0":
        pytest.skip("RUNYARD_TEST_POSTGRES=0")
    databases: _PostgresDatabases = request.getfixturevalue("_postgres_databases")
    name = databases.create(empty=request.node.get_closest_marker("empty_store") is not None)
    try:
        yield _postgres_url(name)
    finally:
        databases.drop_later(name)


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    """An open :class:`runyard.store.Store` on ``store_url``, closed after the test."""
    from runyard.store import Store

    opened = Store.open(store_url)
    try:
        yield opened
    finally:
        opened.close()
