"""Rollups: chunk summaries of full history blocks, for charts of long series (runyard.store.rollups).

The table is filled for the history already stored: every full block is decoded once and summarised, a batch
of series at a time (about a second per 3M points). Readers would decode blocks without rollups anyway, so a
store whose migration is interrupted stays correct; it is only slower to chart.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02
"""

from __future__ import annotations

import math

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

# Spelled out rather than imported from schema.py: a migration must keep meaning what it meant when written.
Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_BLOCK_SIZE = 4096
_SERIES_BATCH = 50


def upgrade() -> None:
    op.create_table(
        "rollups",
        sa.Column("series_id", Id, sa.ForeignKey("series.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("seg_no", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("mask", sa.Integer, nullable=False),
        sa.Column("step_min", sa.BigInteger, nullable=False),
        sa.Column("step_max", sa.BigInteger, nullable=False),
        sa.Column("data", sa.LargeBinary, nullable=False),
    )
    _backfill(op.get_bind())


def _backfill(conn: sa.Connection) -> None:
    # The record format is the one runyard.store.rollups reads; the block format is versioned by its own bytes.
    from runyard.store.blocks import decode_block
    from runyard.store.rollups import FullBlock, chunk_records, write_rollups
    from runyard.store.sql import SqlaSql

    blocks = sa.table("blocks", sa.column("series_id"), sa.column("block_no"), sa.column("count"), sa.column("data"))
    ids = [int(sid) for sid in conn.execute(sa.text("SELECT id FROM series ORDER BY id")).scalars()]
    for start in range(0, len(ids), _SERIES_BATCH):
        query = (
            sa.select(blocks.c.series_id, blocks.c.block_no, blocks.c.data)
            .where(blocks.c.series_id.in_(ids[start : start + _SERIES_BATCH]), blocks.c.count == _BLOCK_SIZE)
            .order_by(blocks.c.series_id, blocks.c.block_no)
        )
        written = []
        for series_id, block_no, data in conn.execute(query):
            steps, values = decode_block(bytes(data))
            if len(steps) != _BLOCK_SIZE:
                continue  # a count column that disagrees with the data: leave the block to be decoded
            kinds = set(map(type, values))
            # Clean (C-level min/max per chunk) as the write path says it: ints, or floats none NaN.
            clean = kinds == {int} or (kinds == {float} and not any(map(math.isnan, values)))
            written.append(FullBlock(int(series_id), int(block_no), chunk_records(steps, values, clean)))
        write_rollups(SqlaSql(conn), written)


def downgrade() -> None:
    op.drop_table("rollups")
