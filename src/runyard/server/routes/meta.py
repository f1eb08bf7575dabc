"""Who am I, and is the server up."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from runyard.server.deps import CurrentUser

router = APIRouter(tags=["meta"])


@router.get("/health")
def health() -> dict[str, Any]:
    """The server is up and answering."""
    from runyard import __version__

    return {"ok": True, "version": __version__}


@router.get("/me")
def me(user: CurrentUser) -> dict[str, Any]:
    """The current user: name, default entity, and whether this is a local (single-user) store."""
    return {"username": user.username, "entity": user.entity, "local": user.local}
