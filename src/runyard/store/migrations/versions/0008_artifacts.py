"""Artifacts: types, collections, versions (by manifest digest), aliases, files (blob keys) and run usage.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from runyard.store.jsontypes import JSONValue

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

_Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "artifact_types",
        sa.Column("id", _Id, primary_key=True, autoincrement=True),
        sa.Column("project_id", _Id, sa.ForeignKey("projects.id", ondelete="CASCADE"), nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("created_at", sa.Double, nullable=False),
        sa.UniqueConstraint("project_id", "name", name="uq_artifact_types_project_name"),
    )
    op.create_table(
        "artifact_collections",
        sa.Column("id", _Id, primary_key=True, autoincrement=True),
        sa.Column("project_id", _Id, sa.ForeignKey("projects.id", ondelete="CASCADE"), nullable=False),
        sa.Column("type_id", _Id, sa.ForeignKey("artifact_types.id", ondelete="CASCADE"), nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("description", sa.Text, nullable=True),
        sa.Column("created_at", sa.Double, nullable=False),
        sa.Column("keep_last", sa.Integer, nullable=True),
        sa.Column("next_version", sa.Integer, nullable=False, server_default="0"),
        sa.UniqueConstraint("project_id", "name", name="uq_artifact_collections_project_name"),
    )
    op.create_table(
        "artifact_versions",
        sa.Column("id", _Id, primary_key=True, autoincrement=True),
        sa.Column("collection_id", _Id, sa.ForeignKey("artifact_collections.id", ondelete="CASCADE"), nullable=False),
        sa.Column("version_index", sa.Integer, nullable=False),
        sa.Column("digest", sa.Text, nullable=False),
        sa.Column("description", sa.Text, nullable=True),
        sa.Column("metadata", JSONValue, nullable=False),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("file_count", sa.Integer, nullable=False),
        sa.Column("created_at", sa.Double, nullable=False),
        sa.Column("run_pk", _Id, sa.ForeignKey("runs.id", ondelete="SET NULL"), nullable=True),
        sa.UniqueConstraint("collection_id", "version_index", name="uq_artifact_versions_index"),
        sa.UniqueConstraint("collection_id", "digest", name="uq_artifact_versions_digest"),
    )
    op.create_table(
        "artifact_aliases",
        sa.Column("collection_id", _Id, sa.ForeignKey("artifact_collections.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("alias", sa.Text, primary_key=True),
        sa.Column("version_id", _Id, sa.ForeignKey("artifact_versions.id", ondelete="CASCADE"), nullable=False),
    )
    op.create_index("ix_artifact_aliases_version_id", "artifact_aliases", ["version_id"])
    op.create_table(
        "artifact_files",
        sa.Column("version_id", _Id, sa.ForeignKey("artifact_versions.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("path", sa.Text, primary_key=True),
        sa.Column("digest", sa.Text, nullable=False),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("blob_key", sa.Text, nullable=True),
        sa.Column("ref", sa.Text, nullable=True),
    )
    op.create_index("ix_artifact_files_blob_key", "artifact_files", ["blob_key"])
    op.create_table(
        "artifact_usage",
        sa.Column("run_pk", _Id, sa.ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("version_id", _Id, sa.ForeignKey("artifact_versions.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("kind", sa.String(8), primary_key=True),
        sa.Column("at", sa.Double, nullable=False),
    )
    op.create_index("ix_artifact_usage_version", "artifact_usage", ["version_id"])


def downgrade() -> None:
    for table in (
        "artifact_usage",
        "artifact_files",
        "artifact_aliases",
        "artifact_versions",
        "artifact_collections",
        "artifact_types",
    ):
        op.drop_table(table)
