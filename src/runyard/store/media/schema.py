"""The media room's table: each run's media keys with their reference type.

::

    runs 1─* media_keys (run_pk, key) -> type   (the "_type" of the key's values: image-file, histogram...)
"""

from __future__ import annotations

import sqlalchemy as sa

from runyard.store.schema import Id, metadata

__all__ = ["media_keys"]

media_keys = sa.Table(
    "media_keys",
    metadata,
    sa.Column("run_pk", Id, sa.ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("key", sa.Text, primary_key=True),
    sa.Column("type", sa.Text, nullable=False),
)
