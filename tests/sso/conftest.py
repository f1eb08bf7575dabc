"""Fixtures of the single sign-on suite: one real OIDC provider process for the session."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sso_provider import Provider, provider_process


@pytest.fixture(scope="session")
def provider() -> Iterator[Provider]:
    with provider_process() as running:
        yield running
