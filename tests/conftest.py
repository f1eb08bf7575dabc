"""Shared fixtures: a store URL for each backend, and an open store on it.

The store suite runs on SQLite (a file in a temp dir) and PostgreSQL (a fresh database per test on
127.0.0.1:5432, dropped afterwards). PostgreSQL is skipped only when ``RUNYARD_TEST_POSTGRES=0``; otherwise a
server that cannot be reached is an error, not a skip, so CI never passes without it.

The tests log in to PostgreSQL with ``RUNYARD_TEST_POSTGRES_URL`` (an admin URL whose role may create
databases), else as ``$PGUSER``, else as ``postgres``, the role every standard install has.

Hypothesis runs without its per-example deadline everywhere: no property here is about speed, and a deadline
only makes a loaded machine fail tests (speed is measured in ``bench/``).
"""

from __future__ import annotations

import importlib.util
import os
import sys
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


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A URL to an empty store, once per backend."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/store/runyard.db"
        return
    if os.environ.get("RUNYARD_TEST_POSTGRES") == "0":
        pytest.skip("RUNYARD_TEST_POSTGRES=0")
    import psycopg

    name = f"runyard_test_{uuid.uuid4().hex[:16]}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield _postgres_url(name)
    finally:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    """An open :class:`runyard.store.Store` on ``store_url``, closed after the test."""
    from runyard.store import Store

    opened = Store.open(store_url)
    try:
        yield opened
    finally:
        opened.close()
