"""Who is calling with an API key: one dependency for every key-authenticated route.

A key arrives as ``Authorization: Bearer <key>`` (runyard's SDK) or as HTTP Basic with the key as password
(``api:<key>``, what the wandb client sends). :func:`key_user` checks it before the request's body is read, so
a caller without a valid key never makes the server read, decompress or parse anything. Routes that take data
for a run then call :func:`authorize_write` with the run's entity and project: the one place that decides who
may write where.

Keys are checked against the store's ``api_keys`` (a SHA-256 lookup) at most every
:data:`~runyard.server.identity.RECHECK_S` seconds per key; in between the answer is remembered (:class:`KeyCache`
for ``runyard ui``, :class:`~runyard.server.identity.Identities` on a server with accounts), so a run sending a
batch every quarter second costs no database read for it. A revoked key stops working within those seconds.

On a server with accounts, a key stands for its owner with the owner's roles: :func:`authorize_write` lets them
write their own entity and the teams where they are a member or admin (:func:`runyard.server.access.can_write`).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import threading
import time
from typing import Annotated

from fastapi import Depends, Request

from runyard.server.access import can_write
from runyard.server.deps import User, current_user
from runyard.server.errors import ApiError
from runyard.store import Store

__all__ = ["KeyCache", "KeyUser", "api_key_of", "authorize_write", "key_cache", "key_user"]

_RECHECK_S = 10.0


class KeyCache:
    """Remembers which keys were valid, for :data:`_RECHECK_S` seconds."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._known: dict[str, tuple[str, float]] = {}
        self._lock = threading.Lock()

    def owner(self, key: str) -> str | None:
        """The username ``key`` belongs to, or None for a key the store does not know."""
        digest = hashlib.sha256(key.encode("utf-8")).hexdigest()
        now = time.monotonic()
        with self._lock:
            found = self._known.get(digest)
        if found is not None and now - found[1] < _RECHECK_S:
            return found[0]
        owner = self.store.api_key_owner(key, touch=True)
        with self._lock:
            if owner is None:
                self._known.pop(digest, None)
            else:
                self._known[digest] = (owner, now)
        return owner


def key_cache(request: Request) -> KeyCache:
    """The app's key cache (made by :func:`runyard.server.app.create_app`)."""
    cache: KeyCache = request.app.state.key_cache
    return cache


def api_key_of(request: Request) -> str | None:
    """The key a request carries: ``Bearer <key>``, or the password of HTTP Basic; None when it has none."""
    header = request.headers.get("authorization", "")
    scheme, _, credentials = header.partition(" ")
    credentials = credentials.strip()
    if not credentials:
        return None
    if scheme.lower() == "bearer":
        return credentials
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(credentials, validate=True).decode("utf-8")
    except (binascii.Error, ValueError):
        return None
    _user, sep, password = decoded.partition(":")
    return password if sep and password else None


def key_user(request: Request) -> User:
    """The owner of the request's API key; 401 ``unauthorized`` without a valid one (the body is not read)."""
    key = api_key_of(request)
    if key is None:
        raise ApiError(
            401,
            "an API key is required: send it as `Authorization: Bearer <key>` (runyard login, RUNYARD_API_KEY); "
            "`runyard ui` prints one, and on `runyard server` each user creates theirs under Settings → API keys",
        )
    if request.app.state.accounts:
        return current_user(request)  # the key's owner with their roles; 401 for an unknown or revoked key
    owner = key_cache(request).owner(key)
    if owner is None:
        raise ApiError(401, "invalid API key: this server does not know it (revoked, or meant for another server)")
    # `runyard ui`: one person's store, so every valid key acts as its local user, who may do anything.
    return User(username=owner, entity=current_user(request).entity)


def authorize_write(user: User, entity: str, project: str) -> None:
    """Raise 403 ``forbidden`` unless ``user`` may write runs of ``entity/project``.

    A user may write their own entity and the teams where they are a member or admin; in local mode anything.
    """
    if not can_write(user, entity):
        raise ApiError(
            403,
            f"{user.username or 'an anonymous caller'} may not log runs to {entity}/{project}: log to your own "
            f"entity ({user.entity!r}) or ask an admin of {entity!r} for the member role",
        )


KeyUser = Annotated[User, Depends(key_user)]
