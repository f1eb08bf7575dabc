"""The server's state: run visibility, stop and preemption marks, per-user project workspaces, API keys.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

# Spelled out rather than imported from schema.py: a migration must keep meaning what it meant when written.
Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    # Plain ADD COLUMNs on both backends (never SQLite's table rebuild: with foreign keys on it would
    # cascade-delete every run's children).
    op.add_column("runs", sa.Column("visibility", sa.String(16), nullable=False, server_default="private"))
    op.add_column("runs", sa.Column("stop_requested_at", sa.Double, nullable=True))
    op.add_column("runs", sa.Column("preempting_at", sa.Double, nullable=True))
    op.create_table(
        "workspaces",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("project_id", Id, sa.ForeignKey("projects.id", ondelete="CASCADE"), nullable=False),
        sa.Column("username", sa.Text, nullable=False),
        sa.Column("settings", sa.JSON, nullable=False),
        sa.Column("updated_at", sa.Double, nullable=False),
        sa.UniqueConstraint("project_id", "username", name="uq_workspaces_project_user"),
    )
    op.create_table(
        "api_keys",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("username", sa.Text, nullable=False),
        sa.Column("key_hash", sa.Text, nullable=False),
        sa.Column("name", sa.Text, nullable=False, server_default=""),
        sa.Column("created_at", sa.Double, nullable=False),
        sa.Column("last_used_at", sa.Double, nullable=True),
        sa.UniqueConstraint("key_hash", name="uq_api_keys_key_hash"),
    )


def downgrade() -> None:
    op.drop_table("api_keys")
    op.drop_table("workspaces")
    op.drop_column("runs", "preempting_at")
    # SQLite >= 3.35 drops a column in place; no table rebuild.
    op.drop_column("runs", "stop_requested_at")
    op.drop_column("runs", "visibility")
