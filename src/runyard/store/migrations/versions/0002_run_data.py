"""Where and how a run ran: runs.metadata, console_lines, system_samples, run_files.

Revision ID: 0002
Revises: 0001
Create Date: 2025-01-15
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

# Spelled out rather than imported from schema.py: a migration must keep meaning what it meant when written.
Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    # A plain ADD COLUMN on both backends (never SQLite's table rebuild, which with foreign keys on would
    # cascade-delete every run's children). Existing runs get "{}".
    op.add_column("runs", sa.Column("metadata", sa.JSON, nullable=False, server_default="{}"))
    op.create_table(
        "console_lines",
        sa.Column("run_pk", Id, sa.ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True, autoincrement=False),
        sa.Column("line_no", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("t", sa.Double, nullable=False),
        sa.Column("stream", sa.String(8), nullable=False),
        sa.Column("text", sa.Text, nullable=False),
    )
    op.create_table(
        "system_samples",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("run_pk", Id, sa.ForeignKey("runs.id", ondelete="CASCADE"), nullable=False),
        sa.Column("t", sa.Double, nullable=False),
        sa.Column("runtime", sa.Double, nullable=False),
        sa.Column("values", sa.JSON, nullable=False),
    )
    op.create_index("ix_system_samples_run_t", "system_samples", ["run_pk", "t"])
    op.create_table(
        "run_files",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("run_pk", Id, sa.ForeignKey("runs.id", ondelete="CASCADE"), nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("content", sa.LargeBinary, nullable=False),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("updated_at", sa.Double, nullable=False),
        sa.UniqueConstraint("run_pk", "name", name="uq_run_files_run_name"),
    )


def downgrade() -> None:
    for table in ("run_files", "system_samples", "console_lines"):
        op.drop_table(table)
    # SQLite >= 3.35 drops a column in place; no table rebuild.
    op.drop_column("runs", "metadata")
