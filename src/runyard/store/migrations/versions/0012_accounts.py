"""Accounts: users, team memberships, browser sessions (login_sessions), invitations, login failures;
entities gain a kind ("user" | "team"); API keys gain a display prefix and a revocation time.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

_Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.add_column("entities", sa.Column("kind", sa.String(8), nullable=False, server_default="user"))
    op.add_column("api_keys", sa.Column("prefix", sa.Text, nullable=False, server_default=""))
    op.add_column("api_keys", sa.Column("revoked_at", sa.Double, nullable=True))
    op.create_table(
        "users",
        sa.Column("id", _Id, primary_key=True, autoincrement=True),
        sa.Column("username", sa.Text, nullable=False),
        sa.Column("password_hash", sa.Text, nullable=True),
        sa.Column("site_admin", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("disabled", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("external_id", sa.Text, nullable=True),
        sa.Column("created_at", sa.Double, nullable=False),
        sa.UniqueConstraint("username", name="uq_users_username"),
        sa.UniqueConstraint("external_id", name="uq_users_external_id"),
    )
    op.create_table(
        "memberships",
        sa.Column("entity_id", _Id, sa.ForeignKey("entities.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("username", sa.Text, primary_key=True),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("created_at", sa.Double, nullable=False),
    )
    op.create_index("ix_memberships_username", "memberships", ["username"])
    op.create_table(
        "login_sessions",
        sa.Column("id", _Id, primary_key=True, autoincrement=True),
        sa.Column("token_hash", sa.Text, nullable=False),
        sa.Column("username", sa.Text, nullable=False),
        sa.Column("csrf_token", sa.Text, nullable=False),
        sa.Column("created_at", sa.Double, nullable=False),
        sa.Column("expires_at", sa.Double, nullable=False),
        sa.UniqueConstraint("token_hash", name="uq_login_sessions_token_hash"),
    )
    op.create_index("ix_login_sessions_username", "login_sessions", ["username"])
    op.create_table(
        "invitations",
        sa.Column("id", _Id, primary_key=True, autoincrement=True),
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
    op.create_table(
        "login_failures",
        sa.Column("id", _Id, primary_key=True, autoincrement=True),
        sa.Column("username", sa.Text, nullable=False),
        sa.Column("address", sa.Text, nullable=False),
        sa.Column("at", sa.Double, nullable=False),
    )
    op.create_index("ix_login_failures_username_at", "login_failures", ["username", "at"])
    op.create_index("ix_login_failures_address_at", "login_failures", ["address", "at"])


def downgrade() -> None:
    op.drop_index("ix_login_failures_address_at", table_name="login_failures")
    op.drop_index("ix_login_failures_username_at", table_name="login_failures")
    op.drop_table("login_failures")
    op.drop_table("invitations")
    op.drop_index("ix_login_sessions_username", table_name="login_sessions")
    op.drop_table("login_sessions")
    op.drop_index("ix_memberships_username", table_name="memberships")
    op.drop_table("memberships")
    op.drop_table("users")
    # ALTER TABLE ... DROP COLUMN (SQLite 3.35+), not a batch copy: copying ``entities`` on SQLite drops the old
    # table, which deletes every project and run through ON DELETE CASCADE.
    op.execute("ALTER TABLE api_keys DROP COLUMN revoked_at")
    op.execute("ALTER TABLE api_keys DROP COLUMN prefix")
    op.execute("ALTER TABLE entities DROP COLUMN kind")
