"""Project keys: each project's config and summary keys with how many runs have each, backfilled from the runs.

Revision ID: 0009
Revises: 0006
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0006"
branch_labels = None
depends_on = None

_Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "project_keys",
        sa.Column("project_id", _Id, sa.ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("root", sa.String(16), primary_key=True),
        sa.Column("key", sa.Text, primary_key=True),
        sa.Column("runs", sa.BigInteger, nullable=False),
    )
    from runyard.store.key_index import rebuild_project_keys
    from runyard.store.sql import SqlaSql, load_json

    conn = op.get_bind()
    sql = SqlaSql(conn)
    for (project_id,) in conn.execute(sa.text("SELECT id FROM projects")).fetchall():
        rows = conn.execute(
            sa.text("SELECT config, summary FROM runs WHERE project_id = :p"), {"p": project_id}
        ).fetchall()
        rebuild_project_keys(sql, int(project_id), ((load_json(c), load_json(s)) for c, s in rows))


def downgrade() -> None:
    op.drop_table("project_keys")
