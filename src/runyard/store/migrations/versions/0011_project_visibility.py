"""Project visibility: a project is private (members of its entity) or public (anyone, read-only).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("projects", sa.Column("visibility", sa.String(16), nullable=False, server_default="private"))


def downgrade() -> None:
    # ALTER TABLE ... DROP COLUMN (SQLite 3.35+), not a batch copy: copying a table on SQLite drops the old one,
    # and dropping a table deletes through ON DELETE CASCADE every run (and its data) that points at it.
    op.execute("ALTER TABLE projects DROP COLUMN visibility")
