"""Shared fixtures: a store URL for each backend, and an open store on it.

The store suite runs on SQLite (a file in a temp dir) and PostgreSQL (a fresh database per test on
127.0.0.1:5432, dropped afterwards). PostgreSQL is skipped only when ``RUNYARD_TEST_POSTGRES=0``; otherwise a
server that cannot be reached is an error, not a skip, so CI never passes without it.
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

PG_ADMIN_URL = os.environ.get("RUNYARD_TEST_POSTGRES_URL", "postgresql://root@127.0.0.1:5432/postgres")


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
