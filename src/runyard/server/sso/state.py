"""A login's state between the redirect to the provider and its return: a signed, short-lived cookie.

The cookie holds the ``state`` and ``nonce`` sent to the provider, the PKCE verifier and where to go after
signing in. It is signed with HMAC-SHA256 under a key every replica shares (``RUNYARD_OIDC_SECRET``, else one
derived from the provider's client secret), so the replica that receives the callback need not be the one
that sent the user away, and nothing is kept in process memory.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import asdict, dataclass

__all__ = ["COOKIE", "MAX_AGE_S", "LoginState", "StateError", "StateSigner"]

COOKIE = "runyard_oidc"
MAX_AGE_S = 600
"""How long a user may take at the provider before the login has to start over."""


class StateError(Exception):
    """The login state cookie is missing, altered, expired, or belongs to another login."""


@dataclass(frozen=True)
class LoginState:
    """What the callback needs to finish a login the login endpoint started."""

    provider: str
    state: str
    nonce: str
    verifier: str
    next: str
    issued: float

    @classmethod
    def new(cls, provider: str, next_path: str) -> LoginState:
        """Fresh random state, nonce and PKCE verifier for a login at ``provider``."""
        return cls(
            provider=provider,
            state=secrets.token_urlsafe(24),
            nonce=secrets.token_urlsafe(24),
            verifier=secrets.token_urlsafe(48),
            next=next_path,
            issued=time.time(),
        )


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class StateSigner:
    """Signs and checks login state cookies with one key."""

    def __init__(self, key: bytes) -> None:
        self._key = key

    @classmethod
    def from_secret(cls, secret: str) -> StateSigner:
        """A signer whose key is derived from ``secret`` (the same secret gives the same key on every replica)."""
        return cls(hashlib.sha256(b"runyard-oidc-state\0" + secret.encode("utf-8")).digest())

    def _mac(self, body: str) -> str:
        return _b64(hmac.new(self._key, body.encode("ascii"), hashlib.sha256).digest())

    def dump(self, state: LoginState) -> str:
        """The cookie value for ``state``."""
        body = _b64(json.dumps(asdict(state), separators=(",", ":")).encode("utf-8"))
        return f"{body}.{self._mac(body)}"

    def load(self, value: str | None, provider: str, state: str | None, now: float | None = None) -> LoginState:
        """The login state of the cookie ``value``, checked against the callback's ``provider`` and ``state``.

        Raises:
            StateError: the cookie is missing, was not signed by this server, is older than :data:`MAX_AGE_S`,
                or was made for another provider or another ``state`` (a forged or mixed-up callback).
        """
        if not value:
            raise StateError(
                "this browser holds no sign-in in progress (cookies blocked, the login started in another "
                "browser, or it finished already): start again from the login page"
            )
        body, _, mac = value.partition(".")
        if not mac or not hmac.compare_digest(mac, self._mac(body)):
            raise StateError(
                "the sign-in state was not signed by this server (if it runs as several replicas, give them all "
                "the same RUNYARD_OIDC_SECRET): start again from the login page"
            )
        try:
            data = json.loads(_unb64(body))
            found = LoginState(**data)
        except (ValueError, TypeError) as exc:
            raise StateError("the sign-in state is unreadable: start again from the login page") from exc
        now = time.time() if now is None else now
        if now - found.issued > MAX_AGE_S:
            raise StateError(
                f"the sign-in took longer than {MAX_AGE_S // 60} minutes and expired: start again from the login page"
            )
        if found.provider != provider:
            raise StateError(
                f"the sign-in was started with {found.provider!r}, not {provider!r}: start again from the login page"
            )
        if not state or not hmac.compare_digest(found.state, state):
            raise StateError(
                "the provider's answer does not belong to the sign-in this browser started (state mismatch): "
                "start again from the login page"
            )
        return found
