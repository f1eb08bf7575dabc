"""API keys: who may call the server with the wandb client (HTTP Basic ``api:<key>``).

Only a SHA-256 of each key is stored, so a copied database does not hand out working keys. Keys are 40
lowercase hex characters (160 random bits): the shape every wandb client release accepts.
"""

from __future__ import annotations

import hashlib
import secrets

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from runyard.store.schema import api_keys

__all__ = ["create_key", "hash_key", "key_owner", "new_key", "touch_key"]


def new_key() -> str:
    """A fresh random key (40 hex characters)."""
    return secrets.token_hex(20)


def hash_key(key: str) -> str:
    """The stored form of a key: its SHA-256, hex."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def create_key(conn: Connection, username: str, name: str, now: float, key: str | None = None) -> str:
    """Store a key for ``username`` (a new random one unless ``key`` is given); returns the key itself."""
    key = key or new_key()
    conn.execute(
        sa.insert(api_keys).values(username=username, key_hash=hash_key(key), name=name, created_at=now, prefix=key[:8])
    )
    return key


def key_owner(conn: Connection, key: str) -> str | None:
    """The username a key belongs to, or None when no stored key matches (or it was revoked)."""
    found = conn.execute(
        sa.select(api_keys.c.username).where(api_keys.c.key_hash == hash_key(key), api_keys.c.revoked_at.is_(None))
    ).scalar()
    return None if found is None else str(found)


def touch_key(conn: Connection, key: str, now: float) -> None:
    """Record that a key was just used."""
    conn.execute(sa.update(api_keys).where(api_keys.c.key_hash == hash_key(key)).values(last_used_at=now))
