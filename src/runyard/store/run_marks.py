"""Marks a live run's process sets on its run: about to be preempted (wandb's ``mark_preempting()``)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from runyard.store.schema import runs, sessions

__all__ = ["mark_preempting"]


def mark_preempting(conn: Connection, session: str, t: float) -> None:
    """Set ``runs.preempting_at`` of the session's run to ``t`` unless already set (the first mark is kept)."""
    run_pk = sa.select(sessions.c.run_pk).where(sessions.c.session == session).scalar_subquery()
    conn.execute(sa.update(runs).where(runs.c.id == run_pk, runs.c.preempting_at.is_(None)).values(preempting_at=t))
