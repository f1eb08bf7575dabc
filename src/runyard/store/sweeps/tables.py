"""The sweeps room's tables: sweeps, their runs (each assignment of parameters), and their agents.

::

    projects 1─* sweeps 1─* sweep_runs  (run_id names the run in the sweep's project, once it starts)
                        1─* sweep_agents

A run belongs to a sweep through ``sweep_runs``: the controller writes the row (the parameters, the grid point)
when it hands the run to an agent, before the run exists; the run, created by ``runyard.init`` with that id in
the sweep's project, is found by (project, run_id). ``UNIQUE (sweep_pk, grid_index)`` is what makes two agents
unable to receive the same grid point, whatever the backend.
"""

from __future__ import annotations

import sqlalchemy as sa

from runyard.store.jsontypes import JSONValue
from runyard.store.schema import Id, metadata

__all__ = ["sweep_agents", "sweep_runs", "sweeps"]

sweeps = sa.Table(
    "sweeps",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column("project_id", Id, sa.ForeignKey("projects.id", ondelete="CASCADE"), nullable=False),
    sa.Column("sweep_id", sa.Text, nullable=False),
    sa.Column("name", sa.Text, nullable=False, server_default=""),
    sa.Column("method", sa.String(16), nullable=False),
    # The config as given (W&B's dict); the controller parses it again for each suggestion.
    sa.Column("config", JSONValue, nullable=False),
    # RUNNING | PAUSED | FINISHED | CANCELED (W&B's states).
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("username", sa.Text, nullable=False, server_default=""),
    sa.Column("created_at", sa.Double, nullable=False),
    sa.Column("updated_at", sa.Double, nullable=False),
    sa.UniqueConstraint("project_id", "sweep_id", name="uq_sweeps_project_sweep_id"),
    sa.Index("ix_sweeps_sweep_id", "sweep_id"),
)

sweep_runs = sa.Table(
    "sweep_runs",
    metadata,
    sa.Column("sweep_pk", Id, sa.ForeignKey("sweeps.id", ondelete="CASCADE"), primary_key=True),
    # 0, 1, 2...: the order of assignment, which also seeds the suggestion.
    sa.Column("seq", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("run_id", sa.Text, nullable=False),
    # The parameters, flat by dotted name ({"opt.lr": 0.1}).
    sa.Column("params", JSONValue, nullable=False),
    sa.Column("grid_index", sa.BigInteger, nullable=True),
    sa.Column("agent_id", sa.Text, nullable=True),
    sa.Column("assigned_at", sa.Double, nullable=False),
    # Set when the sweep stopped the run (hyperband, or a cancelled sweep), with why.
    sa.Column("stopped_at", sa.Double, nullable=True),
    sa.Column("stop_reason", sa.Text, nullable=True),
    sa.UniqueConstraint("sweep_pk", "run_id", name="uq_sweep_runs_run_id"),
    sa.UniqueConstraint("sweep_pk", "grid_index", name="uq_sweep_runs_grid_index"),
)

sweep_agents = sa.Table(
    "sweep_agents",
    metadata,
    sa.Column("agent_id", sa.Text, primary_key=True),
    sa.Column("sweep_pk", Id, sa.ForeignKey("sweeps.id", ondelete="CASCADE"), nullable=False, index=True),
    sa.Column("host", sa.Text, nullable=False, server_default=""),
    sa.Column("pid", sa.Integer, nullable=True),
    sa.Column("created_at", sa.Double, nullable=False),
    sa.Column("heartbeat_at", sa.Double, nullable=False),
    sa.Column("runs", sa.Integer, nullable=False, server_default="0"),
)
