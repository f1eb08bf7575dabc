"""``store.server_state``: documents a ``runyard server`` keeps between requests, in the store so that every
replica on the same database sees them (see :mod:`runyard.store.server_state.tables`).

A document is read whole (:meth:`ServerState.get`), changed in memory and written back with
:meth:`ServerState.save`, or with :meth:`Store.ingest(..., save=doc) <runyard.store.Store.ingest>` in the same
transaction as the records it goes with. The write succeeds only if the stored version is still the one read;
otherwise :class:`StaleDocError` is raised and nothing of the transaction is kept, and the caller reads again
and redoes its change. No lock is held between the read and the write, so a slow request never blocks another
replica, and a write lost in a crash leaves the previous document whole.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from runyard.errors import StoreError
from runyard.store.sql import Sql, SqlaSql, dump_json, load_json

if TYPE_CHECKING:
    from runyard.store.store import Store

__all__ = ["Doc", "ServerState", "StaleDocError", "save_doc"]


class StaleDocError(StoreError):
    """Another writer stored the document after it was read: read it again and redo the change."""


@dataclass
class Doc:
    """One document: ``value`` as read (or as new), ``version`` as stored (0: not stored yet)."""

    kind: str
    key: str
    value: dict[str, Any] = field(default_factory=dict)
    version: int = 0
    expires_at: float | None = None


def save_doc(sql: Sql, doc: Doc) -> None:
    """Store ``doc`` inside the caller's transaction if nobody stored it since it was read; bumps its version.

    Raises :class:`StaleDocError` otherwise (the caller's transaction must then be rolled back).
    """
    params = {
        "kind": doc.kind,
        "key": doc.key,
        "value": dump_json(doc.value),
        "version": doc.version,
        "expires_at": doc.expires_at,
    }
    if doc.version == 0:
        done = sql.run(
            "INSERT INTO server_state (kind, key, value, version, expires_at)"
            " VALUES (:kind, :key, :value, 1, :expires_at) ON CONFLICT (kind, key) DO NOTHING",
            params,
        )
    else:
        done = sql.run(
            "UPDATE server_state SET value = :value, version = version + 1, expires_at = :expires_at"
            " WHERE kind = :kind AND key = :key AND version = :version",
            params,
        )
    if done.rowcount != 1:
        raise StaleDocError(f"{doc.kind} {doc.key!r} was changed by another request (version {doc.version})")
    doc.version += 1


class ServerState:
    """The server-state documents of one store."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def get(self, kind: str, key: str) -> Doc | None:
        """The document, or None when there is none (or it has expired)."""
        with self._store.engine.connect() as conn:
            row = (
                SqlaSql(conn)
                .run(
                    "SELECT value, version, expires_at FROM server_state WHERE kind = :kind AND key = :key",
                    {"kind": kind, "key": key},
                )
                .fetchone()
            )
        if row is None or (row[2] is not None and row[2] < time.time()):
            return None
        return Doc(kind, key, load_json(row[0]), int(row[1]), row[2])

    def save(self, doc: Doc) -> None:
        """Store ``doc`` unless another writer stored it since it was read (:class:`StaleDocError`)."""
        with self._store._write_engine.begin() as conn:
            save_doc(SqlaSql(conn), doc)

    def put(self, kind: str, key: str, value: dict[str, Any], expires_at: float | None = None) -> None:
        """Store ``value`` whatever is stored (the last writer wins: for documents any replica may recompute)."""
        with self._store._write_engine.begin() as conn:
            SqlaSql(conn).run(
                "INSERT INTO server_state (kind, key, value, version, expires_at)"
                " VALUES (:kind, :key, :value, 1, :expires_at) ON CONFLICT (kind, key) DO UPDATE SET"
                " value = excluded.value, version = server_state.version + 1, expires_at = excluded.expires_at",
                {"kind": kind, "key": key, "value": dump_json(value), "expires_at": expires_at},
            )

    def delete(self, kind: str, key: str) -> None:
        """Remove the document (nothing when there is none)."""
        with self._store._write_engine.begin() as conn:
            SqlaSql(conn).run("DELETE FROM server_state WHERE kind = :kind AND key = :key", {"kind": kind, "key": key})

    def purge(self, kind: str) -> int:
        """Remove the expired documents of ``kind``; returns how many."""
        with self._store._write_engine.begin() as conn:
            done = SqlaSql(conn).run(
                "DELETE FROM server_state WHERE kind = :kind AND expires_at < :now", {"kind": kind, "now": time.time()}
            )
        return int(done.rowcount or 0)

    def secret(self, name: str) -> bytes:
        """A random 32-byte secret shared by every process of the store, drawn by the first that asks."""
        drawn = Doc("secret", name, {"hex": secrets.token_hex(32)})
        try:
            self.save(drawn)
        except StaleDocError:
            pass  # drawn before, by this replica or another: use that one
        found = self.get("secret", name)
        if found is None or not isinstance(found.value.get("hex"), str):
            raise StoreError(f"the store's secret {name!r} is missing or damaged")
        return bytes.fromhex(found.value["hex"])
