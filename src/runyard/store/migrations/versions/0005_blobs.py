"""Blobs: run files may live in the blob store (run_files.blob_key), and store_settings records where it is.

Existing files keep their content inline; only ``content`` becoming nullable touches existing rows. On SQLite
that needs ``run_files`` rebuilt (batch mode): safe, since no table refers to ``run_files``, so dropping the old
copy cascades nowhere.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("run_files") as batch:
        batch.add_column(sa.Column("blob_key", sa.Text, nullable=True))
        batch.alter_column("content", existing_type=sa.LargeBinary, nullable=True)
    op.create_table(
        "store_settings",
        sa.Column("key", sa.Text, primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
    )


def downgrade() -> None:
    # Files held in the blob store cannot come back inline here: refuse rather than lose them.
    conn = op.get_bind()
    held = conn.execute(sa.text("SELECT count(*) FROM run_files WHERE content IS NULL")).scalar()
    if held:
        raise RuntimeError(f"{held} run file(s) are held in the blob store; cannot downgrade below 0005")
    op.drop_table("store_settings")
    with op.batch_alter_table("run_files") as batch:
        batch.alter_column("content", existing_type=sa.LargeBinary, nullable=False)
        batch.drop_column("blob_key")
