"""The initial schema: entities, projects, runs, sessions, series, blocks.

Revision ID: 0001
Revises:
Create Date: 2025-01-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

# Spelled out rather than imported from schema.py: a migration must keep meaning what it meant when written.
Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "entities",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("created_at", sa.Double, nullable=False),
        sa.UniqueConstraint("name", name="uq_entities_name"),
    )
    op.create_table(
        "projects",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("entity_id", Id, sa.ForeignKey("entities.id", ondelete="CASCADE"), nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("created_at", sa.Double, nullable=False),
        sa.Column("last_activity", sa.Double, nullable=False),
        sa.UniqueConstraint("entity_id", "name", name="uq_projects_entity_name"),
    )
    op.create_table(
        "runs",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("project_id", Id, sa.ForeignKey("projects.id", ondelete="CASCADE"), nullable=False),
        sa.Column("run_id", sa.Text, nullable=False),
        sa.Column("name", sa.Text, nullable=False, server_default=""),
        sa.Column("notes", sa.Text, nullable=True),
        sa.Column("tags", sa.JSON, nullable=False),
        sa.Column("group_name", sa.Text, nullable=True),
        sa.Column("job_type", sa.Text, nullable=True),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("exit_code", sa.Integer, nullable=True),
        sa.Column("config", sa.JSON, nullable=False),
        sa.Column("summary", sa.JSON, nullable=False),
        sa.Column("summary_state", sa.JSON, nullable=False),
        sa.Column("metrics", sa.JSON, nullable=False),
        sa.Column("created_at", sa.Double, nullable=False),
        sa.Column("heartbeat_at", sa.Double, nullable=False),
        sa.Column("finished_at", sa.Double, nullable=True),
        sa.Column("runtime", sa.Double, nullable=False, server_default="0"),
        sa.Column("last_step", sa.BigInteger, nullable=False, server_default="-1"),
        sa.Column("host", sa.Text, nullable=False, server_default=""),
        sa.Column("username", sa.Text, nullable=False, server_default=""),
        sa.Column("program", sa.Text, nullable=False, server_default=""),
        sa.Column("pid", sa.Integer, nullable=True),
        sa.UniqueConstraint("project_id", "run_id", name="uq_runs_project_run_id"),
    )
    op.create_index("ix_runs_project_created", "runs", ["project_id", "created_at"])
    op.create_table(
        "sessions",
        sa.Column("session", sa.Text, primary_key=True),
        sa.Column("run_pk", Id, sa.ForeignKey("runs.id", ondelete="CASCADE"), nullable=False),
        sa.Column("last_seq", sa.BigInteger, nullable=False),
        sa.Column("started_at", sa.Double, nullable=False),
    )
    op.create_index("ix_sessions_run_pk", "sessions", ["run_pk"])
    op.create_table(
        "series",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("run_pk", Id, sa.ForeignKey("runs.id", ondelete="CASCADE"), nullable=False),
        sa.Column("key", sa.Text, nullable=False),
        sa.UniqueConstraint("run_pk", "key", name="uq_series_run_key"),
    )
    op.create_table(
        "blocks",
        sa.Column("series_id", Id, sa.ForeignKey("series.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("block_no", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("step_min", sa.BigInteger, nullable=False),
        sa.Column("step_max", sa.BigInteger, nullable=False),
        sa.Column("count", sa.Integer, nullable=False),
        sa.Column("nan_count", sa.Integer, nullable=False),
        sa.Column("vmin", sa.Double, nullable=True),
        sa.Column("vmax", sa.Double, nullable=True),
        sa.Column("vsum", sa.Double, nullable=True),
        sa.Column("vlast", sa.Double, nullable=True),
        sa.Column("data", sa.LargeBinary, nullable=False),
    )


def downgrade() -> None:
    for table in ("blocks", "series", "sessions", "runs", "projects", "entities"):
        op.drop_table(table)
