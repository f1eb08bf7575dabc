"""Fixtures of the store suite."""

from __future__ import annotations

import pytest
from store_fakes import FakeSession


@pytest.fixture
def fake_session() -> type[FakeSession]:
    """The :class:`FakeSession` class, to build sessions with."""
    return FakeSession
