"""The account tables (registered on the store's one ``metadata``).

::

    users (one per person; each has an entity of the same name, kind "user")
    entities (kind "user" | "team") 1─* memberships *─1 users (role: admin | member | viewer)
    api_keys (existing table: owner username, display prefix, revoked_at)
    login_sessions (browser sign-ins: a hash of the cookie's token, its CSRF token, expiry)
    invitations (a hash of the link's token, the team and role it grants, expiry, use)
    login_failures (one row per failed sign-in: shared by every replica on the database)

Secrets (session and invitation tokens, API keys, the setup token) are stored as SHA-256 only: a copied
database hands out nothing that works. Passwords are argon2 hashes.
"""

from __future__ import annotations

import sqlalchemy as sa

from runyard.store.schema import Id, metadata

__all__ = ["invitations", "login_failures", "login_sessions", "memberships", "users"]

users = sa.Table(
    "users",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column("username", sa.Text, nullable=False),
    # argon2 (argon2-cffi's encoded form); NULL: the user signs in by single sign-on only.
    sa.Column("password_hash", sa.Text, nullable=True),
    sa.Column("site_admin", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("disabled", sa.Boolean, nullable=False, server_default=sa.false()),
    # "issuer subject" of a single sign-on identity, so a renamed or re-mapped login finds the same user.
    sa.Column("external_id", sa.Text, nullable=True),
    sa.Column("created_at", sa.Double, nullable=False),
    sa.UniqueConstraint("username", name="uq_users_username"),
    sa.UniqueConstraint("external_id", name="uq_users_external_id"),
)

memberships = sa.Table(
    "memberships",
    metadata,
    sa.Column("entity_id", Id, sa.ForeignKey("entities.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("username", sa.Text, primary_key=True),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("created_at", sa.Double, nullable=False),
    sa.Index("ix_memberships_username", "username"),
)

login_sessions = sa.Table(
    "login_sessions",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column("token_hash", sa.Text, nullable=False),
    sa.Column("username", sa.Text, nullable=False),
    sa.Column("csrf_token", sa.Text, nullable=False),
    sa.Column("created_at", sa.Double, nullable=False),
    sa.Column("expires_at", sa.Double, nullable=False),
    sa.UniqueConstraint("token_hash", name="uq_login_sessions_token_hash"),
    sa.Index("ix_login_sessions_username", "username"),
)

invitations = sa.Table(
    "invitations",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column("token_hash", sa.Text, nullable=False),
    sa.Column("team", sa.Text, nullable=False),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("created_by", sa.Text, nullable=False),
    sa.Column("created_at", sa.Double, nullable=False),
    sa.Column("expires_at", sa.Double, nullable=False),
    sa.Column("used_at", sa.Double, nullable=True),
    sa.Column("used_by", sa.Text, nullable=True),
    sa.UniqueConstraint("token_hash", name="uq_invitations_token_hash"),
)

login_failures = sa.Table(
    "login_failures",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column("username", sa.Text, nullable=False),
    sa.Column("address", sa.Text, nullable=False),
    sa.Column("at", sa.Double, nullable=False),
    sa.Index("ix_login_failures_username_at", "username", "at"),
    sa.Index("ix_login_failures_address_at", "address", "at"),
)
