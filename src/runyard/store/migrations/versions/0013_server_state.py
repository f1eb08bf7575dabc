"""Server state: what a runyard server keeps between requests (a wandb client's open session of a run, artifacts
being logged, the secret that signs file URLs), in the store so that every replica on the database sees it.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "server_state",
        sa.Column("kind", sa.String(32), primary_key=True),
        sa.Column("key", sa.Text, primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
        sa.Column("version", sa.BigInteger, nullable=False),
        sa.Column("expires_at", sa.Double, nullable=True),
    )
    op.create_index("ix_server_state_expires", "server_state", ["expires_at"])


def downgrade() -> None:
    op.drop_index("ix_server_state_expires", table_name="server_state")
    op.drop_table("server_state")
