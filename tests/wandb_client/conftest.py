"""Fixtures of the wandb client suite: a live server over SQLite (one per session) or PostgreSQL."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from wandb_clients import LiveServer, serve_in_thread


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """One live server over a SQLite store for the whole session (each test uses its own project)."""
    folder = tmp_path_factory.mktemp("wandb-server")
    yield from serve_in_thread(f"sqlite:///{folder}/runyard.db")


@pytest.fixture(scope="session")
def blob_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A live server over a SQLite store keeping files in a blob folder beside it (as ``runyard ui`` does)."""
    folder = tmp_path_factory.mktemp("wandb-blob-server")
    yield from serve_in_thread(f"sqlite:///{folder}/runyard.db", blobs=str(folder / "blobs"))


@pytest.fixture
def pg_server(pg_admin_url: str) -> Iterator[LiveServer]:
    """A live server over a fresh PostgreSQL database (skipped only with ``RUNYARD_TEST_POSTGRES=0``)."""
    yield from _fresh_pg_server(pg_admin_url)


@pytest.fixture
def pg_blob_server(pg_admin_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A live server over a fresh PostgreSQL database, its files in a blob folder."""
    yield from _fresh_pg_server(pg_admin_url, blobs=str(tmp_path_factory.mktemp("pg-blobs")))


def _fresh_pg_server(admin: str, blobs: str | None = None) -> Iterator[LiveServer]:
    import psycopg
    from sqlalchemy.engine import make_url

    name = f"runyard_test_{uuid.uuid4().hex[:16]}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield from serve_in_thread(make_url(admin).set(database=name).render_as_string(hide_password=False), blobs)
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def project(request: pytest.FixtureRequest) -> str:
    """A project name of this test's own."""
    return "p-" + uuid.uuid4().hex[:10]
