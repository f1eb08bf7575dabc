"""The artifact tables (registered on the store's one ``metadata``).

::

    projects 1─* artifact_types 1─* artifact_collections 1─* artifact_versions 1─* artifact_files
                                                      1─* artifact_aliases ─1 artifact_versions
    runs *─* artifact_versions through artifact_usage (kind "logged" or "used")

A version's ``digest`` is the SHA-256 of its manifest (every file's path and content digest), so logging the
same content again finds the version instead of making a new one. A version outlives the run that logged it
(``run_pk`` becomes NULL): other runs may use it.
"""

from __future__ import annotations

import sqlalchemy as sa

from runyard.store.jsontypes import JSONValue
from runyard.store.schema import Id, metadata

__all__ = [
    "artifact_aliases",
    "artifact_collections",
    "artifact_files",
    "artifact_types",
    "artifact_usage",
    "artifact_versions",
]

artifact_types = sa.Table(
    "artifact_types",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column("project_id", Id, sa.ForeignKey("projects.id", ondelete="CASCADE"), nullable=False),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("created_at", sa.Double, nullable=False),
    sa.UniqueConstraint("project_id", "name", name="uq_artifact_types_project_name"),
)

artifact_collections = sa.Table(
    "artifact_collections",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column("project_id", Id, sa.ForeignKey("projects.id", ondelete="CASCADE"), nullable=False),
    sa.Column("type_id", Id, sa.ForeignKey("artifact_types.id", ondelete="CASCADE"), nullable=False),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("description", sa.Text, nullable=True),
    sa.Column("created_at", sa.Double, nullable=False),
    # Retention: keep the last N versions plus every aliased one (NULL: keep all).
    sa.Column("keep_last", sa.Integer, nullable=True),
    # The next version's number: versions are never renumbered, and a deleted one's number is never reused.
    sa.Column("next_version", sa.Integer, nullable=False, server_default="0"),
    sa.UniqueConstraint("project_id", "name", name="uq_artifact_collections_project_name"),
)

artifact_versions = sa.Table(
    "artifact_versions",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column("collection_id", Id, sa.ForeignKey("artifact_collections.id", ondelete="CASCADE"), nullable=False),
    sa.Column("version_index", sa.Integer, nullable=False),
    sa.Column("digest", sa.Text, nullable=False),
    sa.Column("description", sa.Text, nullable=True),
    sa.Column("metadata", JSONValue, nullable=False),
    sa.Column("size", sa.BigInteger, nullable=False),
    sa.Column("file_count", sa.Integer, nullable=False),
    sa.Column("created_at", sa.Double, nullable=False),
    sa.Column("run_pk", Id, sa.ForeignKey("runs.id", ondelete="SET NULL"), nullable=True),
    sa.UniqueConstraint("collection_id", "version_index", name="uq_artifact_versions_index"),
    sa.UniqueConstraint("collection_id", "digest", name="uq_artifact_versions_digest"),
)

artifact_aliases = sa.Table(
    "artifact_aliases",
    metadata,
    sa.Column("collection_id", Id, sa.ForeignKey("artifact_collections.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("alias", sa.Text, primary_key=True),
    sa.Column("version_id", Id, sa.ForeignKey("artifact_versions.id", ondelete="CASCADE"), nullable=False, index=True),
)

artifact_files = sa.Table(
    "artifact_files",
    metadata,
    sa.Column("version_id", Id, sa.ForeignKey("artifact_versions.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("path", sa.Text, primary_key=True),
    # The content's SHA-256 (hex) for stored files; for a reference, what the source says of it (ETag, size).
    sa.Column("digest", sa.Text, nullable=False),
    sa.Column("size", sa.BigInteger, nullable=False),
    # The blob holding the bytes (NULL for a reference, whose bytes stay where ``ref`` points).
    sa.Column("blob_key", sa.Text, nullable=True, index=True),
    sa.Column("ref", sa.Text, nullable=True),
)

artifact_usage = sa.Table(
    "artifact_usage",
    metadata,
    sa.Column("run_pk", Id, sa.ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("version_id", Id, sa.ForeignKey("artifact_versions.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("kind", sa.String(8), primary_key=True),  # "logged" | "used"
    sa.Column("at", sa.Double, nullable=False),
    sa.Index("ix_artifact_usage_version", "version_id"),
)
