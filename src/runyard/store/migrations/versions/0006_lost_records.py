"""Lost records: the records of a session that its run log lost to damage, kept when ingestion skips them.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-08
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "lost_records",
        sa.Column("session", sa.Text, primary_key=True),
        sa.Column("first_seq", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("run_pk", _Id, sa.ForeignKey("runs.id", ondelete="CASCADE"), nullable=False),
        sa.Column("last_seq", sa.BigInteger, nullable=False),
        sa.Column("log_start", sa.BigInteger, nullable=False),
        sa.Column("log_end", sa.BigInteger, nullable=False),
        sa.Column("noted_at", sa.Double, nullable=False),
    )
    op.create_index("ix_lost_records_run_pk", "lost_records", ["run_pk"])


def downgrade() -> None:
    op.drop_index("ix_lost_records_run_pk", table_name="lost_records")
    op.drop_table("lost_records")
