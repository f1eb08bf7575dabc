"""Fixtures of the public-API suite: a runyard root and store per backend, filled by the real SDK.

``place`` is module-scoped (creating runs through ``runyard.init`` costs a fraction of a second each): a test
module seeds its runs once per backend and its tests read them through ``runyard.Api``. Tests that edit or
delete runs make their own in a project of their own. The environment is cleared of ``RUNYARD_*`` /
``WANDB_*`` variables for the module; each test may set its own with ``monkeypatch``.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
from places import Place

from runyard.api import Api


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def place(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Place]:
    """A fresh runyard root and store, once per backend for the whole module."""
    with pytest.MonkeyPatch.context() as mp:
        for name in list(os.environ):
            if name.startswith(("RUNYARD_", "WANDB_")):
                mp.delenv(name)
        mp.setenv("RUNYARD_SILENT", "true")
        root = tmp_path_factory.mktemp("runyard")
        if request.param == "sqlite":
            yield Place(root, f"sqlite:///{root}/runyard.db")
            return
        admin = request.getfixturevalue("pg_admin_url")
        import psycopg
        from sqlalchemy.engine import make_url

        name = f"runyard_api_{uuid.uuid4().hex[:16]}"
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        try:
            yield Place(root, make_url(admin).set(database=name).render_as_string(hide_password=False))
        finally:
            with psycopg.connect(admin, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def api(place: Place) -> Iterator[Api]:
    """A ``runyard.Api`` on the module's store, closed after the test."""
    with place.api() as opened:
        yield opened
