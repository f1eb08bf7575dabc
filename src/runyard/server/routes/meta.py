"""Who am I, and is the server up."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

router = APIRouter(tags=["meta"])


@router.get("/health")
def health() -> dict[str, Any]:
    """The server is up and answering."""
    from runyard import __version__

    return {"ok": True, "version": __version__}
