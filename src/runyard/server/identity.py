"""Who is asking, on a server with accounts: an API key's owner, a browser session's user, or nobody.

Every request's user is resolved once (:func:`resolve_user`, reached through
:func:`runyard.server.deps.current_user`): ``Authorization: Bearer <key>`` or HTTP Basic ``api:<key>`` → the
key's owner; else the ``runyard_session`` cookie → the session's user; else :data:`~runyard.server.deps.ANONYMOUS`.
A user carries their roles (their own entity: admin; their teams' memberships).

Lookups are remembered in the process for :data:`RECHECK_S` seconds (keys, sessions, users' roles), so a busy
client costs no database read per request; the database stays the only truth, which every replica reads. So a
revoked key, an ended session, a disabled user or a changed role takes effect everywhere within
:data:`RECHECK_S` seconds (at once on the replica that made the change).

State-changing requests that a session cookie authenticates must carry ``X-CSRF-Token`` with the token bound to
that session (:class:`CsrfGuard`); requests with a key need none (no browser adds a key by itself).
"""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from collections.abc import Callable
from http.cookies import SimpleCookie
from typing import Generic, TypeVar

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from runyard.server.deps import ANONYMOUS, User
from runyard.server.encoding import ApiResponse
from runyard.server.errors import ApiError, error_body
from runyard.store import Store
from runyard.store.accounts.room import SessionInfo

__all__ = [
    "CSRF_COOKIE",
    "CSRF_HEADER",
    "RECHECK_S",
    "SESSION_COOKIE",
    "CsrfGuard",
    "Identities",
    "resolve_user",
    "session_token_of",
]

SESSION_COOKIE = "runyard_session"
CSRF_COOKIE = "runyard_csrf"
CSRF_HEADER = "x-csrf-token"
RECHECK_S = 10.0
"""How long a replica trusts what it read about a key, session or user before reading it again."""

_UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_V = TypeVar("_V")


class _TtlCache(Generic[_V]):
    """A small map whose entries are read again after :data:`RECHECK_S` (answers None are not kept)."""

    def __init__(self, ttl: float, limit: int = 10_000) -> None:
        self._ttl = ttl
        self._limit = limit
        self._items: dict[str, tuple[_V, float]] = {}
        self._lock = threading.Lock()

    def get(self, key: str, load: Callable[[], _V | None]) -> _V | None:
        now = time.monotonic()
        with self._lock:
            found = self._items.get(key)
        if found is not None and now - found[1] < self._ttl:
            return found[0]
        value = load()
        with self._lock:
            if value is None:
                self._items.pop(key, None)
            else:
                if len(self._items) >= self._limit:
                    self._items.clear()  # rare: a flood of distinct keys; reading again is always right
                self._items[key] = (value, now)
        return value

    def drop(self, key: str) -> None:
        with self._lock:
            self._items.pop(key, None)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


def _sha(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class Identities:
    """An app's view of the store's users, keys and sessions, remembered for :data:`RECHECK_S` seconds."""

    def __init__(self, store: Store, ttl: float = RECHECK_S) -> None:
        self.store = store
        self._keys: _TtlCache[str] = _TtlCache(ttl)
        self._sessions: _TtlCache[SessionInfo] = _TtlCache(ttl)
        self._users: _TtlCache[User] = _TtlCache(ttl)

    def key_owner(self, key: str) -> str | None:
        """The enabled user owning the live ``key``, or None."""
        return self._keys.get(_sha(key), lambda: self.store.accounts.key_user(key))

    def session(self, token: str) -> SessionInfo | None:
        """The live session of a cookie's token, or None."""
        found = self._sessions.get(_sha(token), lambda: self.store.accounts.session(token))
        if found is not None and found.expires_at <= time.time():
            self._sessions.drop(_sha(token))
            return None
        return found

    def user(self, username: str) -> User | None:
        """``username`` with their roles, or None for no such (or a disabled) user."""
        return self._users.get(username, lambda: self._load_user(username))

    def _load_user(self, username: str) -> User | None:
        info = self.store.accounts.get_user(username)
        if info is None or info.disabled:
            return None
        return User(
            username=info.username,
            entity=info.username,
            local=False,
            roles=self.store.accounts.roles(username),
            site_admin=info.site_admin,
        )

    def forget_session(self, token: str) -> None:
        """Drop a session from this replica's memory (after logout)."""
        self._sessions.drop(_sha(token))

    def forget_users(self) -> None:
        """Drop every remembered user and key (after a change of roles, keys or users on this replica)."""
        self._users.clear()
        self._keys.clear()


def identities(request: Request) -> Identities:
    """The app's :class:`Identities` (made by :func:`runyard.server.app.create_app` in accounts mode)."""
    found: Identities = request.app.state.identities
    return found


def session_token_of(request: Request) -> str | None:
    """The session cookie's token, or None."""
    token = request.cookies.get(SESSION_COOKIE)
    return token or None


def resolve_user(request: Request) -> User:
    """Who is asking (see the module); 401 for a key the server does not know. Resolved once per request."""
    known = getattr(request.state, "runyard_user", None)
    if isinstance(known, User):
        return known
    from runyard.server.auth import api_key_of

    ids = identities(request)
    key = api_key_of(request)
    if key is not None:
        owner = ids.key_owner(key)
        user = None if owner is None else ids.user(owner)
        if user is None:
            raise ApiError(
                401,
                "invalid API key: this server does not know it (revoked, or its user disabled, or meant for another "
                "server); create one under Settings → API keys",
            )
    else:
        session = _session(request, ids)
        found = None if session is None else ids.user(session.username)
        user = found if found is not None else ANONYMOUS
    request.state.runyard_user = user
    return user


def _session(request: Request, ids: Identities) -> SessionInfo | None:
    state = request.scope.get("state") or {}
    if "runyard_session" in state:
        known: SessionInfo | None = state["runyard_session"]
        return known
    token = session_token_of(request)
    return None if token is None else ids.session(token)


def _cookie_of(scope: Scope, name: str) -> str | None:
    for header, value in scope.get("headers", ()):
        if header == b"cookie":
            jar: SimpleCookie = SimpleCookie()
            try:
                jar.load(value.decode("latin-1"))
            except Exception:  # a malformed cookie header authenticates nothing
                continue
            if name in jar:
                return jar[name].value or None
    return None


class CsrfGuard:
    """Refuses a state-changing request authenticated by a session cookie without the session's CSRF token.

    A page of another site can make the browser send the cookie, but cannot read the token: the header proves
    the request comes from runyard's own page. Requests that carry ``Authorization`` are judged by their key.
    """

    def __init__(self, app: ASGIApp, ids: Identities) -> None:
        self.app = app
        self.ids = ids

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in _UNSAFE:
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers", ()))
        token = None if b"authorization" in headers else _cookie_of(scope, SESSION_COOKIE)
        if token is not None:
            session = await run_in_threadpool(self.ids.session, token)
            # Remembered for the request: current_user reads it instead of looking the session up again.
            scope.setdefault("state", {})["runyard_session"] = session
            if session is not None:
                sent = headers.get(CSRF_HEADER.encode(), b"").decode("latin-1")
                if not sent or not secrets.compare_digest(sent, session.csrf_token):
                    message = (
                        f"{scope['method']} {scope['path']} was refused: a signed-in browser request that changes "
                        f"something must send the {CSRF_HEADER} header with the value of the {CSRF_COOKIE} cookie "
                        "(runyard's web app does); programs should use an API key instead of the session cookie"
                    )
                    await ApiResponse(error_body(403, message, "csrf"), status_code=403)(scope, receive, send)
                    return
        await self.app(scope, receive, send)
