"""Project keys and run values: each project's config and summary keys with how many runs have each, and each
run's config and summary values as sort keys; both backfilled from the runs.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

_Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_CodePointText = sa.Text().with_variant(sa.Text(collation="C"), "postgresql")


def upgrade() -> None:
    op.create_table(
        "project_keys",
        sa.Column("project_id", _Id, sa.ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("root", sa.String(16), primary_key=True),
        sa.Column("key", sa.Text, primary_key=True),
        sa.Column("runs", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "run_values",
        sa.Column("run_pk", _Id, sa.ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("root", sa.String(16), primary_key=True),
        sa.Column("key", _CodePointText, primary_key=True),
        sa.Column("project_id", _Id, nullable=False),
        sa.Column("rank", sa.SmallInteger, nullable=False),
        sa.Column("num", sa.Double, nullable=True),
        sa.Column("txt", _CodePointText, nullable=True),
    )
    op.create_index("ix_run_values_order", "run_values", ["project_id", "root", "key", "rank", "num", "txt", "run_pk"])
    from runyard.store.key_index import rebuild_project_keys
    from runyard.store.run_values import record_value_changes, sort_keys
    from runyard.store.sql import SqlaSql, load_json

    conn = op.get_bind()
    sql = SqlaSql(conn)
    for (project_id,) in conn.execute(sa.text("SELECT id FROM projects")).fetchall():
        rows = conn.execute(
            sa.text("SELECT id, config, summary FROM runs WHERE project_id = :p"), {"p": project_id}
        ).fetchall()
        decoded = [(int(pk), load_json(c), load_json(s)) for pk, c, s in rows]
        rebuild_project_keys(sql, int(project_id), ((c, s) for _, c, s in decoded))
        for pk, c, s in decoded:
            record_value_changes(sql, pk, int(project_id), {}, sort_keys(c, s))


def downgrade() -> None:
    op.drop_index("ix_run_values_order", table_name="run_values")
    op.drop_table("run_values")
    op.drop_table("project_keys")
