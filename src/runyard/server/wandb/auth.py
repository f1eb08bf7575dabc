"""Who is calling: HTTP Basic with the API key as password, as the wandb client sends it (``api:<key>``).

A key is checked against the store's ``api_keys`` (a SHA-256 lookup) at most once a minute; in between, the
answer is remembered, so a run's requests every few seconds cost no database read.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import threading
import time

from fastapi import Request

from runyard.server.deps import current_user
from runyard.server.errors import ApiError, error_body
from runyard.store import Store

__all__ = ["AuthError", "Caller", "KeyCache", "caller_of", "unauthorized_body"]

_RECHECK_S = 60.0


class Caller:
    """An authenticated wandb client: the key's owner, and the entity its runs go to by default."""

    __slots__ = ("entity", "username")

    def __init__(self, username: str, entity: str) -> None:
        self.username = username
        self.entity = entity


class KeyCache:
    """Remembers which keys were valid, for :data:`_RECHECK_S` seconds."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._known: dict[str, tuple[str, float]] = {}
        self._lock = threading.Lock()

    def owner(self, key: str) -> str | None:
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


class AuthError(ApiError):
    """A request without a valid key: 401, answered in W&B's error shape as well as runyard's."""

    def __init__(self, message: str) -> None:
        super().__init__(401, message)


def unauthorized_body(message: str) -> dict[str, object]:
    """The client shows ``errors[0].message`` (GraphQL's shape); runyard's own ``error`` sits beside it."""
    return {"errors": [{"message": message}], **error_body(401, message)}


def _password(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic" or not encoded:
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, ValueError):
        return None
    _user, sep, password = decoded.partition(":")
    return password if sep and password else None


def caller_of(request: Request, keys: KeyCache) -> Caller:
    """The authenticated caller, or a 401 the wandb client reports as an authentication failure."""
    key = _password(request)
    if key is None:
        raise AuthError("authentication failed: an API key is required (HTTP Basic, user api, the key as password)")
    owner = keys.owner(key)
    if owner is None:
        raise AuthError("authentication failed: invalid API key (runyard ui prints a working one)")
    return Caller(owner, current_user(request).entity)
