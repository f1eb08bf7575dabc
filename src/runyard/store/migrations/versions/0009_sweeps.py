"""Sweeps: sweeps, the runs they assign, and their agents.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

_Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "sweeps",
        sa.Column("id", _Id, primary_key=True, autoincrement=True),
        sa.Column("project_id", _Id, sa.ForeignKey("projects.id", ondelete="CASCADE"), nullable=False),
        sa.Column("sweep_id", sa.Text, nullable=False),
        sa.Column("name", sa.Text, nullable=False, server_default=""),
        sa.Column("method", sa.String(16), nullable=False),
        sa.Column("config", sa.JSON, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("username", sa.Text, nullable=False, server_default=""),
        sa.Column("created_at", sa.Double, nullable=False),
        sa.Column("updated_at", sa.Double, nullable=False),
        sa.UniqueConstraint("project_id", "sweep_id", name="uq_sweeps_project_sweep_id"),
    )
    op.create_index("ix_sweeps_sweep_id", "sweeps", ["sweep_id"])
    op.create_table(
        "sweep_runs",
        sa.Column("sweep_pk", _Id, sa.ForeignKey("sweeps.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("seq", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("run_id", sa.Text, nullable=False),
        sa.Column("params", sa.JSON, nullable=False),
        sa.Column("grid_index", sa.BigInteger, nullable=True),
        sa.Column("agent_id", sa.Text, nullable=True),
        sa.Column("assigned_at", sa.Double, nullable=False),
        sa.Column("stopped_at", sa.Double, nullable=True),
        sa.Column("stop_reason", sa.Text, nullable=True),
        sa.UniqueConstraint("sweep_pk", "run_id", name="uq_sweep_runs_run_id"),
        sa.UniqueConstraint("sweep_pk", "grid_index", name="uq_sweep_runs_grid_index"),
    )
    op.create_table(
        "sweep_agents",
        sa.Column("agent_id", sa.Text, primary_key=True),
        sa.Column("sweep_pk", _Id, sa.ForeignKey("sweeps.id", ondelete="CASCADE"), nullable=False),
        sa.Column("host", sa.Text, nullable=False, server_default=""),
        sa.Column("pid", sa.Integer, nullable=True),
        sa.Column("created_at", sa.Double, nullable=False),
        sa.Column("heartbeat_at", sa.Double, nullable=False),
        sa.Column("runs", sa.Integer, nullable=False, server_default="0"),
    )
    op.create_index("ix_sweep_agents_sweep_pk", "sweep_agents", ["sweep_pk"])


def downgrade() -> None:
    op.drop_index("ix_sweep_agents_sweep_pk", table_name="sweep_agents")
    op.drop_table("sweep_agents")
    op.drop_table("sweep_runs")
    op.drop_index("ix_sweeps_sweep_id", table_name="sweeps")
    op.drop_table("sweeps")
