"""A store's identity: a random id the store records in itself, the same whatever URL reaches it.

Two URLs may name one database (a path and its symlink, two host names) and one URL may name a database that
was dropped and created again; the id tells them apart. ``runyard sync`` writes it into a run log's
``.synced`` marker, so a log synced into one store is still synced into another.
"""

from __future__ import annotations

import uuid

from runyard.store.sql import Sql, scalar

__all__ = ["IDENTITY_SETTING", "store_identity"]

IDENTITY_SETTING = "store_id"
"""The ``store_settings`` key of the store's id."""

_SELECT = 'SELECT "value" FROM store_settings WHERE "key" = :key'


def store_identity(sql: Sql) -> str:
    """The store's id, recorded on first use (inside the caller's write transaction)."""
    found = scalar(sql, _SELECT, {"key": IDENTITY_SETTING})
    if found is None:
        sql.run(
            'INSERT INTO store_settings ("key", "value") VALUES (:key, :value) ON CONFLICT ("key") DO NOTHING',
            {"key": IDENTITY_SETTING, "value": uuid.uuid4().hex},
        )
        found = scalar(sql, _SELECT, {"key": IDENTITY_SETTING})  # another process may have recorded one first
    return str(found)
