"""The server-state room's table: what a ``runyard server`` keeps between requests, shared by every replica.

One row per document, named by ``(kind, key)``: a wandb client's open session of a run, an artifact the wandb
client is logging, the MD5 of a blob, the secret that signs file URLs. ``version`` grows by one on every write,
so a writer that read version *n* can store its change only if nobody stored one in between (optimistic
concurrency: two replicas never overwrite each other's change unseen). ``expires_at`` (unix time, NULL: never)
is when the document may be removed.
"""

from __future__ import annotations

import sqlalchemy as sa

from runyard.store.schema import metadata

__all__ = ["server_state"]

server_state = sa.Table(
    "server_state",
    metadata,
    sa.Column("kind", sa.String(32), primary_key=True),
    sa.Column("key", sa.Text, primary_key=True),
    # JSON text (runyard.store.sql.dump_json): read and written whole, never queried inside.
    sa.Column("value", sa.Text, nullable=False),
    sa.Column("version", sa.BigInteger, nullable=False),
    sa.Column("expires_at", sa.Double, nullable=True),
    sa.Index("ix_server_state_expires", "expires_at"),
)
