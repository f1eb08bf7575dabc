"""``store.accounts``: users, teams, API keys, browser sessions, invitations and login rate limits.

Every secret is kept as a SHA-256 (API keys, session and invitation tokens, the setup token) and passwords as
argon2 hashes, so a copied database lets no one in. Everything lives in the database, never in a server's
memory: several replicas on one database see the same users, sessions and failed logins.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

import sqlalchemy as sa

from runyard.errors import ConflictError, NotFoundError, StoreError, UsageError
from runyard.store import api_keys as key_rows
from runyard.store.accounts.tables import invitations, login_failures, login_sessions, memberships, users
from runyard.store.schema import api_keys, entities, store_settings

if TYPE_CHECKING:
    from argon2 import PasswordHasher
    from sqlalchemy.engine import Connection

    from runyard.store.store import Store

__all__ = [
    "RESERVED_NAMES",
    "ROLES",
    "Accounts",
    "ApiKeyInfo",
    "Invitation",
    "SessionInfo",
    "UserInfo",
    "check_name",
]

ROLES = ("admin", "member", "viewer")
"""A member's roles in a team, from most to least."""

SETUP_SETTING = "setup_token_hash"
"""The ``store_settings`` key of the first start's one-time setup token (its SHA-256)."""

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")

RESERVED_NAMES = frozenset(
    {"api", "assets", "docs", "files", "graphql", "invite", "login", "settings", "setup", "static", "wandb"}
)
"""Names no user or team may take: the first part of the web app's and the server's own paths (an entity
named ``settings`` would have a workspace URL the settings page answers)."""
_T = TypeVar("_T")


def check_name(name: str, what: str = "user name") -> str:
    """``name`` when it can be a user or team name (it is also an entity in URLs); raises UsageError otherwise."""
    if not isinstance(name, str) or not _NAME.match(name):
        raise UsageError(
            f"{what} {name!r} is not allowed: use 1 to 64 letters, digits, '_', '.' or '-', starting with a letter "
            "or digit"
        )
    if name.lower() in RESERVED_NAMES:
        raise UsageError(f"{what} {name!r} is taken by the server's own pages: choose another")
    return name


def _sha(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class UserInfo:
    """A user account. ``has_password`` is False for users who sign in by single sign-on only."""

    username: str
    site_admin: bool
    disabled: bool
    created_at: float
    has_password: bool
    external_id: str | None = None


@dataclass(frozen=True)
class ApiKeyInfo:
    """An API key as lists show it: never the key, only its first characters."""

    id: int
    username: str
    name: str
    prefix: str
    created_at: float
    last_used_at: float | None
    revoked_at: float | None


@dataclass(frozen=True)
class SessionInfo:
    """A browser session: whose it is, the CSRF token bound to it, and when it ends."""

    username: str
    csrf_token: str
    expires_at: float


@dataclass(frozen=True)
class Invitation:
    """An invitation to join ``team`` with ``role``."""

    team: str
    role: str
    created_by: str
    expires_at: float
    used_at: float | None


class Accounts:
    """The store's accounts (reach it as ``store.accounts``)."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._hasher: PasswordHasher | None = None
        self._dummy: str | None = None

    # -- plumbing -------------------------------------------------------------------------------------------

    def _write(self, what: str, body: Callable[[Connection], _T]) -> _T:
        try:
            with self._store._write_engine.begin() as conn:
                return body(conn)
        except sa.exc.IntegrityError as exc:
            raise ConflictError(f"could not {what}: it exists already") from exc
        except sa.exc.SQLAlchemyError as exc:
            raise StoreError(f"could not {what}: {exc}") from exc

    def _read(self, what: str, body: Callable[[Connection], _T]) -> _T:
        try:
            with self._store.engine.connect() as conn:
                return body(conn)
        except sa.exc.SQLAlchemyError as exc:
            raise StoreError(f"could not {what}: {exc}") from exc

    def _ph(self) -> PasswordHasher:
        if self._hasher is None:
            from argon2 import PasswordHasher

            self._hasher = PasswordHasher()
        return self._hasher

    def _dummy_hash(self) -> str:
        if self._dummy is None:
            self._dummy = str(self._ph().hash(secrets.token_hex(16)))
        return self._dummy

    def hash_password(self, password: str) -> str:
        """An argon2 hash of ``password`` (argon2-cffi's defaults)."""
        if not isinstance(password, str) or len(password) < 8:
            raise UsageError("a password needs at least 8 characters")
        return str(self._ph().hash(password))

    # -- users ------------------------------------------------------------------------------------------------

    def user_count(self) -> int:
        """How many users exist (0: the server still needs its first admin)."""
        return int(
            self._read("count users", lambda c: c.execute(sa.select(sa.func.count()).select_from(users)).scalar()) or 0
        )

    def create_user(
        self, username: str, password: str | None, *, site_admin: bool = False, external_id: str | None = None
    ) -> UserInfo:
        """Create a user and their entity; raises ConflictError for a taken name (a user's or a team's)."""
        check_name(username)
        hashed = None if password is None else self.hash_password(password)
        now = time.time()

        def body(conn: Connection) -> UserInfo:
            if conn.execute(sa.select(users.c.id).where(users.c.username == username)).first() is not None:
                raise ConflictError(f"the user {username!r} exists already: pick another name")
            kind = conn.execute(sa.select(entities.c.kind).where(entities.c.name == username)).scalar()
            if kind == "team":
                raise ConflictError(f"{username!r} is a team's name: pick another user name")
            if kind is None:
                conn.execute(sa.insert(entities).values(name=username, created_at=now, kind="user"))
            conn.execute(
                sa.insert(users).values(
                    username=username,
                    password_hash=hashed,
                    site_admin=site_admin,
                    disabled=False,
                    external_id=external_id,
                    created_at=now,
                )
            )
            return UserInfo(username, site_admin, False, now, hashed is not None, external_id)

        return self._write(f"create the user {username!r}", body)

    def find_or_create_sso_user(self, username: str, *, external_id: str) -> UserInfo:
        """The user a single sign-on identity maps to, created (without a password) on its first sign-in.

        ``external_id`` (e.g. ``"<issuer> <subject>"``) finds the user again even if the provider's name for
        them changes; a new identity whose name is taken gets the name with a number appended.
        """
        found = self._read(
            "find a user", lambda c: c.execute(sa.select(users).where(users.c.external_id == external_id)).first()
        )
        if found is not None:
            return _user(found)
        base = re.sub(r"[^A-Za-z0-9_.-]", "-", username).strip("-.") or "user"
        base = base[:60]
        for n in range(1 if base.lower() in RESERVED_NAMES else 0, 100):
            candidate = base if n == 0 else f"{base}{n + 1}"
            try:
                return self.create_user(candidate, None, external_id=external_id)
            except ConflictError:
                again = self._read(
                    "find a user",
                    lambda c: c.execute(sa.select(users).where(users.c.external_id == external_id)).first(),
                )
                if again is not None:  # another replica created it meanwhile
                    return _user(again)
        raise ConflictError(f"no free user name like {username!r} for this sign-in")

    def get_user(self, username: str) -> UserInfo | None:
        """The user named ``username``, or None."""
        row = self._read(
            "read a user", lambda c: c.execute(sa.select(users).where(users.c.username == username)).first()
        )
        return None if row is None else _user(row)

    def list_users(self) -> list[UserInfo]:
        """Every user, by name."""
        rows = self._read("list users", lambda c: c.execute(sa.select(users).order_by(users.c.username)).fetchall())
        return [_user(r) for r in rows]

    def verify_password(self, username: str, password: str) -> UserInfo | None:
        """The user when ``password`` is theirs (and they are not disabled), else None; upgrades old hashes."""
        from argon2.exceptions import InvalidHashError, VerificationError

        row = self._read(
            "read a user", lambda c: c.execute(sa.select(users).where(users.c.username == username)).first()
        )
        ph = self._ph()
        if row is None or row.password_hash is None:
            # As slow as a real check: response times do not tell which names exist.
            try:
                ph.verify(self._dummy_hash(), password)
            except (VerificationError, InvalidHashError):
                pass
            return None
        try:
            ph.verify(row.password_hash, password)
        except (VerificationError, InvalidHashError):
            return None
        if row.disabled:
            return None
        if ph.check_needs_rehash(row.password_hash):
            new = ph.hash(password)
            self._write(
                "update a password",
                lambda c: c.execute(sa.update(users).where(users.c.id == row.id).values(password_hash=new)),
            )
        return _user(row)

    def set_password(self, username: str, password: str) -> None:
        """Set a user's password (and end their sessions elsewhere)."""
        hashed = self.hash_password(password)

        def body(conn: Connection) -> None:
            done = conn.execute(sa.update(users).where(users.c.username == username).values(password_hash=hashed))
            if done.rowcount == 0:
                raise NotFoundError(f"no user {username!r}")
            conn.execute(sa.delete(login_sessions).where(login_sessions.c.username == username))

        self._write("set a password", body)

    def set_disabled(self, username: str, disabled: bool) -> None:
        """Disable (or enable again) a user: a disabled user's sessions end and their keys are refused."""

        def body(conn: Connection) -> None:
            done = conn.execute(sa.update(users).where(users.c.username == username).values(disabled=disabled))
            if done.rowcount == 0:
                raise NotFoundError(f"no user {username!r}")
            if disabled:
                conn.execute(sa.delete(login_sessions).where(login_sessions.c.username == username))

        self._write("change a user", body)

    def set_site_admin(self, username: str, site_admin: bool) -> None:
        """Make ``username`` a site admin, or no longer one."""
        done = self._write(
            "change a user",
            lambda c: c.execute(sa.update(users).where(users.c.username == username).values(site_admin=site_admin)),
        )
        if done.rowcount == 0:
            raise NotFoundError(f"no user {username!r}")

    def roles(self, username: str) -> dict[str, str]:
        """The entities ``username`` belongs to with their role: their own entity (admin) and their teams."""

        def body(conn: Connection) -> dict[str, str]:
            rows = conn.execute(
                sa.select(entities.c.name, memberships.c.role)
                .select_from(memberships.join(entities, memberships.c.entity_id == entities.c.id))
                .where(memberships.c.username == username)
            ).fetchall()
            return {str(name): str(role) for name, role in rows}

        found = self._read("read a user's roles", body)
        found[username] = "admin"
        return found

    # -- API keys ---------------------------------------------------------------------------------------------

    def create_key(self, username: str, name: str = "") -> tuple[ApiKeyInfo, str]:
        """A new API key for ``username``: its listing and the key itself (shown once, never stored)."""
        key = key_rows.new_key()
        now = time.time()

        def body(conn: Connection) -> ApiKeyInfo:
            key_rows.create_key(conn, username, name, now, key)
            pk = conn.execute(sa.select(api_keys.c.id).where(api_keys.c.key_hash == key_rows.hash_key(key))).scalar()
            return ApiKeyInfo(int(pk or 0), username, name, key[:8], now, None, None)

        return self._write("store an API key", body), key

    def list_keys(self, username: str, *, revoked: bool = False) -> list[ApiKeyInfo]:
        """``username``'s keys, newest first (revoked ones only with ``revoked``)."""
        query = sa.select(api_keys).where(api_keys.c.username == username)
        if not revoked:
            query = query.where(api_keys.c.revoked_at.is_(None))
        rows = self._read("list API keys", lambda c: c.execute(query.order_by(api_keys.c.id.desc())).fetchall())
        return [_key(r) for r in rows]

    def get_key(self, key_id: int) -> ApiKeyInfo | None:
        """The key with id ``key_id``, or None."""
        row = self._read(
            "read an API key", lambda c: c.execute(sa.select(api_keys).where(api_keys.c.id == key_id)).first()
        )
        return None if row is None else _key(row)

    def revoke_key(self, key_id: int) -> bool:
        """Revoke a key (servers refuse it within their cache's lifetime); False when there was no live key."""
        now = time.time()
        done = self._write(
            "revoke an API key",
            lambda c: (
                c.execute(
                    sa.update(api_keys)
                    .where(api_keys.c.id == key_id, api_keys.c.revoked_at.is_(None))
                    .values(revoked_at=now)
                ).rowcount
            ),
        )
        return bool(done)

    def key_user(self, key: str) -> str | None:
        """The owner of a live key who is an enabled user (None otherwise); records the key's use."""
        now = time.time()

        def find(conn: Connection) -> tuple[int, str] | None:
            row = conn.execute(
                sa.select(api_keys.c.id, api_keys.c.username, users.c.disabled)
                .select_from(api_keys.join(users, users.c.username == api_keys.c.username))
                .where(api_keys.c.key_hash == key_rows.hash_key(key), api_keys.c.revoked_at.is_(None))
            ).first()
            return None if row is None or row.disabled else (int(row.id), str(row.username))

        # Read first: a flood of wrong keys never takes the store's write lock.
        found = self._read("check an API key", find)
        if found is None:
            return None
        self._write(
            "record an API key's use",
            lambda c: c.execute(sa.update(api_keys).where(api_keys.c.id == found[0]).values(last_used_at=now)),
        )
        return found[1]

    # -- browser sessions -------------------------------------------------------------------------------------

    def create_session(self, username: str, ttl_s: float) -> tuple[str, SessionInfo]:
        """A new session for ``username`` lasting ``ttl_s``: the cookie's token (stored hashed) and its info."""
        token = secrets.token_urlsafe(32)
        csrf = secrets.token_urlsafe(24)
        now = time.time()
        info = SessionInfo(username, csrf, now + ttl_s)

        def body(conn: Connection) -> None:
            conn.execute(
                sa.insert(login_sessions).values(
                    token_hash=_sha(token), username=username, csrf_token=csrf, created_at=now, expires_at=now + ttl_s
                )
            )
            # Expired sessions of everyone go now and then: the table stays as small as the live sessions.
            if secrets.randbelow(50) == 0:
                conn.execute(sa.delete(login_sessions).where(login_sessions.c.expires_at < now))

        self._write("start a session", body)
        return token, info

    def session(self, token: str) -> SessionInfo | None:
        """The live session of a cookie's token whose user is enabled, or None."""
        now = time.time()

        def body(conn: Connection) -> SessionInfo | None:
            row = conn.execute(
                sa.select(login_sessions.c.username, login_sessions.c.csrf_token, login_sessions.c.expires_at)
                .select_from(login_sessions.join(users, users.c.username == login_sessions.c.username))
                .where(login_sessions.c.token_hash == _sha(token), users.c.disabled.is_(False))
            ).first()
            if row is None or row.expires_at <= now:
                return None
            return SessionInfo(str(row.username), str(row.csrf_token), float(row.expires_at))

        return self._read("read a session", body)

    def end_session(self, token: str) -> None:
        """End the session of a cookie's token (no error when there is none)."""
        self._write(
            "end a session",
            lambda c: c.execute(sa.delete(login_sessions).where(login_sessions.c.token_hash == _sha(token))),
        )

    # -- login rate limit -------------------------------------------------------------------------------------

    def record_login_failure(self, username: str, address: str) -> None:
        """Count a failed sign-in for ``username`` from ``address``."""
        now = time.time()

        def body(conn: Connection) -> None:
            conn.execute(sa.insert(login_failures).values(username=username.lower(), address=address, at=now))
            if secrets.randbelow(50) == 0:
                conn.execute(sa.delete(login_failures).where(login_failures.c.at < now - 86400))

        self._write("record a failed sign-in", body)

    def login_failures(self, username: str, address: str, since: float) -> tuple[int, float | None]:
        """Failed sign-ins since ``since`` for ``username`` or from ``address``: the larger count and the oldest."""

        def body(conn: Connection) -> tuple[int, float | None]:
            best: tuple[int, float | None] = (0, None)
            for column, value in ((login_failures.c.username, username.lower()), (login_failures.c.address, address)):
                count, oldest = conn.execute(
                    sa.select(sa.func.count(), sa.func.min(login_failures.c.at)).where(
                        column == value, login_failures.c.at >= since
                    )
                ).one()
                if int(count) > best[0]:
                    best = (int(count), None if oldest is None else float(oldest))
            return best

        return self._read("count failed sign-ins", body)

    def clear_login_failures(self, username: str) -> None:
        """Forget ``username``'s failed sign-ins (after a successful one)."""
        self._write(
            "forget failed sign-ins",
            lambda c: c.execute(sa.delete(login_failures).where(login_failures.c.username == username.lower())),
        )

    # -- first start ------------------------------------------------------------------------------------------

    def new_setup_token(self) -> str | None:
        """A fresh one-time token that creates the first admin, or None when users exist already.

        Each call replaces the previous token (only the latest printed link works).
        """
        token = secrets.token_urlsafe(24)

        def body(conn: Connection) -> str | None:
            if conn.execute(sa.select(sa.func.count()).select_from(users)).scalar():
                return None
            conn.execute(sa.delete(store_settings).where(store_settings.c.key == SETUP_SETTING))
            conn.execute(sa.insert(store_settings).values(key=SETUP_SETTING, value=_sha(token)))
            return token

        return self._write("make a setup token", body)

    def setup_pending(self) -> bool:
        """Whether a first admin may still be created with the setup token (no user exists yet)."""
        return self.user_count() == 0

    def use_setup_token(self, token: str, username: str, password: str) -> UserInfo | None:
        """Create the first site admin with the one-time ``token``; None when it is wrong or used up."""
        check_name(username)
        hashed = self.hash_password(password)
        now = time.time()

        def body(conn: Connection) -> UserInfo | None:
            stored = conn.execute(
                sa.select(store_settings.c.value).where(store_settings.c.key == SETUP_SETTING)
            ).scalar()
            if stored is None or not secrets.compare_digest(str(stored), _sha(token)):
                return None
            # Deleting the token is the claim: of two racing requests only one deletes the row.
            if conn.execute(sa.delete(store_settings).where(store_settings.c.key == SETUP_SETTING)).rowcount != 1:
                return None
            if conn.execute(sa.select(sa.func.count()).select_from(users)).scalar():
                return None
            if conn.execute(sa.select(entities.c.id).where(entities.c.name == username)).first() is None:
                conn.execute(sa.insert(entities).values(name=username, created_at=now, kind="user"))
            conn.execute(
                sa.insert(users).values(
                    username=username, password_hash=hashed, site_admin=True, disabled=False, created_at=now
                )
            )
            return UserInfo(username, True, False, now, True)

        return self._write("create the first admin", body)

    # -- teams ------------------------------------------------------------------------------------------------

    def create_team(self, name: str, creator: str) -> None:
        """Create the team ``name`` with ``creator`` as its admin; ConflictError when the name is taken."""
        check_name(name, "team name")
        now = time.time()

        def body(conn: Connection) -> None:
            taken = conn.execute(sa.select(entities.c.id).where(entities.c.name == name)).first()
            if taken is not None or conn.execute(sa.select(users.c.id).where(users.c.username == name)).first():
                raise ConflictError(f"the name {name!r} is taken (by a user, a team or runs logged there)")
            conn.execute(sa.insert(entities).values(name=name, created_at=now, kind="team"))
            entity_id = conn.execute(sa.select(entities.c.id).where(entities.c.name == name)).scalar()
            conn.execute(
                sa.insert(memberships).values(entity_id=entity_id, username=creator, role="admin", created_at=now)
            )

        self._write(f"create the team {name!r}", body)

    def is_team(self, name: str) -> bool:
        """Whether ``name`` is a team."""
        kind = self._read(
            "read an entity", lambda c: c.execute(sa.select(entities.c.kind).where(entities.c.name == name)).scalar()
        )
        return kind == "team"

    def teams(self, username: str | None = None) -> list[tuple[str, str | None]]:
        """Teams with ``username``'s role in each (None: every team, role None), by name."""

        def body(conn: Connection) -> list[tuple[str, str | None]]:
            if username is None:
                rows = conn.execute(
                    sa.select(entities.c.name).where(entities.c.kind == "team").order_by(entities.c.name)
                ).fetchall()
                return [(str(r[0]), None) for r in rows]
            rows = conn.execute(
                sa.select(entities.c.name, memberships.c.role)
                .select_from(memberships.join(entities, memberships.c.entity_id == entities.c.id))
                .where(memberships.c.username == username, entities.c.kind == "team")
                .order_by(entities.c.name)
            ).fetchall()
            return [(str(n), str(r)) for n, r in rows]

        return self._read("list teams", body)

    def members(self, team: str) -> list[tuple[str, str]]:
        """``team``'s members with their roles, by name; NotFoundError for no such team."""

        def body(conn: Connection) -> list[tuple[str, str]]:
            entity_id = _team_id(conn, team)
            rows = conn.execute(
                sa.select(memberships.c.username, memberships.c.role)
                .where(memberships.c.entity_id == entity_id)
                .order_by(memberships.c.username)
            ).fetchall()
            return [(str(u), str(r)) for u, r in rows]

        return self._read("list members", body)

    def set_member(self, team: str, username: str, role: str) -> None:
        """Make ``username`` a member of ``team`` with ``role`` (or change their role)."""
        if role not in ROLES:
            raise UsageError(f"role {role!r} is not one of {', '.join(ROLES)}")
        now = time.time()

        def body(conn: Connection) -> None:
            entity_id = _team_id(conn, team)
            if conn.execute(sa.select(users.c.id).where(users.c.username == username)).first() is None:
                raise NotFoundError(f"no user {username!r}: create them or send an invitation")
            _set_member(conn, entity_id, username, role, now)
            _keep_an_admin(conn, entity_id, team)

        self._write(f"set a member of {team!r}", body)

    def remove_member(self, team: str, username: str) -> bool:
        """Remove ``username`` from ``team``; False when they were not a member."""

        def body(conn: Connection) -> bool:
            entity_id = _team_id(conn, team)
            done = conn.execute(
                sa.delete(memberships).where(memberships.c.entity_id == entity_id, memberships.c.username == username)
            ).rowcount
            _keep_an_admin(conn, entity_id, team)
            return bool(done)

        return self._write(f"remove a member of {team!r}", body)

    # -- invitations ------------------------------------------------------------------------------------------

    def create_invitation(self, team: str, role: str, created_by: str, expires_s: float) -> tuple[str, float]:
        """A one-time invitation into ``team`` with ``role``: the link's token and when it expires."""
        if role not in ROLES:
            raise UsageError(f"role {role!r} is not one of {', '.join(ROLES)}")
        if not 0 < expires_s <= 90 * 86400:
            raise UsageError("an invitation lasts between a moment and 90 days")
        token = secrets.token_urlsafe(24)
        now = time.time()

        def body(conn: Connection) -> None:
            _team_id(conn, team)
            conn.execute(
                sa.insert(invitations).values(
                    token_hash=_sha(token),
                    team=team,
                    role=role,
                    created_by=created_by,
                    created_at=now,
                    expires_at=now + expires_s,
                )
            )

        self._write("create an invitation", body)
        return token, now + expires_s

    def invitation(self, token: str) -> Invitation | None:
        """The unused, unexpired invitation of ``token``, or None."""
        row = self._read(
            "read an invitation",
            lambda c: c.execute(sa.select(invitations).where(invitations.c.token_hash == _sha(token))).first(),
        )
        if row is None or row.used_at is not None or row.expires_at <= time.time():
            return None
        return Invitation(str(row.team), str(row.role), str(row.created_by), float(row.expires_at), None)

    def accept_invitation(self, token: str, username: str, password: str | None = None) -> Invitation | None:
        """Use the invitation: create ``username`` (when ``password`` is given) and add them to its team.

        Returns None when the token is unknown, used or expired; ConflictError when a new name is taken.
        """
        hashed = None if password is None else self.hash_password(password)
        if password is not None:
            check_name(username)
        now = time.time()

        def body(conn: Connection) -> Invitation | None:
            row = conn.execute(sa.select(invitations).where(invitations.c.token_hash == _sha(token))).first()
            if row is None or row.used_at is not None or row.expires_at <= now:
                return None
            claimed = conn.execute(
                sa.update(invitations)
                .where(invitations.c.id == row.id, invitations.c.used_at.is_(None))
                .values(used_at=now, used_by=username)
            ).rowcount
            if claimed != 1:
                return None
            if hashed is not None:
                if conn.execute(sa.select(users.c.id).where(users.c.username == username)).first() is not None:
                    raise ConflictError(f"the user {username!r} exists already: sign in, then open the link")
                if conn.execute(sa.select(entities.c.id).where(entities.c.name == username)).first() is not None:
                    raise ConflictError(f"the name {username!r} is taken: pick another")
                conn.execute(sa.insert(entities).values(name=username, created_at=now, kind="user"))
                conn.execute(
                    sa.insert(users).values(
                        username=username, password_hash=hashed, site_admin=False, disabled=False, created_at=now
                    )
                )
            entity_id = _team_id(conn, str(row.team))
            _set_member(conn, entity_id, username, str(row.role), now)
            return Invitation(str(row.team), str(row.role), str(row.created_by), float(row.expires_at), now)

        return self._write("accept an invitation", body)


def _team_id(conn: Connection, team: str) -> int:
    row = conn.execute(sa.select(entities.c.id, entities.c.kind).where(entities.c.name == team)).first()
    if row is None or row.kind != "team":
        raise NotFoundError(f"no team {team!r}")
    return int(row.id)


def _set_member(conn: Connection, entity_id: int, username: str, role: str, now: float) -> None:
    done = conn.execute(
        sa.update(memberships)
        .where(memberships.c.entity_id == entity_id, memberships.c.username == username)
        .values(role=role)
    ).rowcount
    if not done:
        conn.execute(sa.insert(memberships).values(entity_id=entity_id, username=username, role=role, created_at=now))


def _keep_an_admin(conn: Connection, entity_id: int, team: str) -> None:
    admins = conn.execute(
        sa.select(sa.func.count()).where(memberships.c.entity_id == entity_id, memberships.c.role == "admin")
    ).scalar()
    if not admins:
        raise UsageError(f"the team {team!r} would have no admin left: make someone else admin first")


def _user(row: sa.Row) -> UserInfo:  # type: ignore[type-arg]
    return UserInfo(
        str(row.username),
        bool(row.site_admin),
        bool(row.disabled),
        float(row.created_at),
        row.password_hash is not None,
        row.external_id,
    )


def _key(row: sa.Row) -> ApiKeyInfo:  # type: ignore[type-arg]
    return ApiKeyInfo(
        int(row.id),
        str(row.username),
        str(row.name),
        str(row.prefix),
        float(row.created_at),
        row.last_used_at,
        row.revoked_at,
    )
