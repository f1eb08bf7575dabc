"""Ending a run as ``killed`` by hand, when its process cannot be reached to stop it, and what happens after.

A stop (SIGINT, then SIGTERM and SIGKILL, see :mod:`runyard.sinks.stopper`) only lands through the run's own
ingester process. When that is gone (killed, on a host that went away) or the trainer runs where no stop can
reach, the run would read "stopping" until its heartbeat goes stale, and then ``crashed``. Marking it killed
ends it now, as the user says: ``killed``, exit code 255, ended now, with who and why kept in its metadata.

If its process turns out to be alive after all and data arrives again, the run reads ``running`` again, as a
``crashed`` run does (W&B does the same for a run that was declared dead): the data is the truth. The mark
stays in the metadata with ``revived_at`` added, so the change is never silent.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from runyard.records import STATE_KILLED, STATE_RUNNING

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

__all__ = ["KILLED_EXIT_CODE", "MARKED_KILLED", "mark_killed", "revive_marked_killed"]

KILLED_EXIT_CODE = 255
"""The exit code of a killed run (the SDK records 255 for a run stopped by KeyboardInterrupt, as wandb does)."""

MARKED_KILLED = "marked_killed"
"""The key of a run's ``metadata`` that says who marked it killed, when and why (:func:`mark_killed`)."""


def mark_killed(conn: Connection, run_pk: int, now: float, *, by: str | None, reason: str | None) -> bool:
    """End a run stored as running as ``killed`` at ``now``; returns whether it did (False: it had ended).

    A run stored as running may read ``crashed`` (its heartbeat stale): it qualifies too.
    """
    # Imported here: ingestion imports this module for revive_marked_killed, and the ingester process runs
    # without SQLAlchemy (see runyard.store.writer).
    import sqlalchemy as sa

    from runyard.store.schema import runs

    row = conn.execute(sa.select(runs.c.state, runs.c.metadata).where(runs.c.id == run_pk)).one_or_none()
    if row is None or row.state != STATE_RUNNING:
        return False
    mark: dict[str, Any] = {"at": now, "by": by, "reason": reason}
    conn.execute(
        sa.update(runs)
        .where(runs.c.id == run_pk)
        .values(
            state=STATE_KILLED,
            exit_code=KILLED_EXIT_CODE,
            finished_at=now,
            metadata={**(row.metadata or {}), MARKED_KILLED: mark},
        )
    )
    return True


def revive_marked_killed(run: dict[str, Any], now: float) -> None:
    """Reopen ``run`` (a row being ingested into) if it was marked killed and nothing else has ended it since.

    Its process sent data again, so it is alive: ``running`` again, exit code and end cleared, and
    ``revived_at`` added to the mark. A run that ended by its own exit record after the mark stays ended.
    """
    mark = (run.get("metadata") or {}).get(MARKED_KILLED)
    if run["state"] != STATE_KILLED or not isinstance(mark, dict) or "revived_at" in mark:
        return
    if run["finished_at"] != mark.get("at"):
        return
    run["state"] = STATE_RUNNING
    run["exit_code"] = None
    run["finished_at"] = None
    run["metadata"] = {**run["metadata"], MARKED_KILLED: {**mark, "revived_at": now}}
