"""The artifact room's reads (SQLAlchemy Core on a connection)."""

from __future__ import annotations

import re
from typing import Any

import sqlalchemy as sa

from runyard.store.artifacts.models import ArtifactCollectionInfo, ArtifactFile, ArtifactTypeInfo, ArtifactVersion
from runyard.store.artifacts.tables import (
    artifact_aliases,
    artifact_collections,
    artifact_files,
    artifact_types,
    artifact_usage,
    artifact_versions,
)
from runyard.store.schema import entities, projects, runs

__all__ = [
    "collection_by_name",
    "list_collections",
    "list_types",
    "list_versions",
    "resolve",
    "run_versions",
    "version_files",
    "version_runs",
    "versions_by_id",
]

_VERSION = re.compile(r"v(\d+)")
_DIGEST = re.compile(r"[0-9a-f]{64}")

_v, _c, _t = artifact_versions, artifact_collections, artifact_types

_SELECT = (
    sa.select(
        _v.c.id, entities.c.name.label("entity"), projects.c.name.label("project"), _t.c.name.label("type"),
        _c.c.name, _v.c.version_index, _v.c.digest, _v.c.description, _v.c["metadata"], _v.c.size,
        _v.c.file_count, _v.c.created_at, runs.c.run_id,
    )
    .select_from(
        _v.join(_c, _c.c.id == _v.c.collection_id)
        .join(_t, _t.c.id == _c.c.type_id)
        .join(projects, projects.c.id == _c.c.project_id)
        .join(entities, entities.c.id == projects.c.entity_id)
        .outerjoin(runs, runs.c.id == _v.c.run_pk)
    )
)  # fmt: skip


def versions_by_id(conn: sa.Connection, ids: list[int]) -> list[ArtifactVersion]:
    """The versions of ``ids`` (in that order, missing ones left out), with their aliases."""
    if not ids:
        return []
    rows = conn.execute(_SELECT.where(_v.c.id.in_(ids))).mappings().all()
    aliases: dict[int, list[str]] = {}
    for vid, alias in conn.execute(
        sa.select(artifact_aliases.c.version_id, artifact_aliases.c.alias)
        .where(artifact_aliases.c.version_id.in_(ids))
        .order_by(artifact_aliases.c.alias)
    ):
        aliases.setdefault(int(vid), []).append(str(alias))
    by_id = {int(r["id"]): _version(r, aliases.get(int(r["id"]), [])) for r in rows}
    return [by_id[i] for i in ids if i in by_id]


def _version(row: Any, aliases: list[str]) -> ArtifactVersion:
    return ArtifactVersion(
        id=int(row["id"]),
        entity=row["entity"],
        project=row["project"],
        type=row["type"],
        name=row["name"],
        version_index=int(row["version_index"]),
        digest=row["digest"],
        description=row["description"],
        metadata=dict(row["metadata"] or {}),
        size=int(row["size"]),
        file_count=int(row["file_count"]),
        created_at=float(row["created_at"]),
        aliases=tuple(aliases),
        run_id=row["run_id"],
    )


def collection_by_name(conn: sa.Connection, entity: str, project: str, name: str) -> ArtifactCollectionInfo | None:
    """The collection ``name`` of the project, or None."""
    found = list_collections(conn, entity, project, None, name)
    return found[0] if found else None


def list_collections(
    conn: sa.Connection, entity: str, project: str, type_name: str | None = None, name: str | None = None
) -> list[ArtifactCollectionInfo]:
    """The project's collections (of one type, or all), by name."""
    count = sa.select(sa.func.count()).select_from(_v).where(_v.c.collection_id == _c.c.id).scalar_subquery()
    query = (
        sa.select(_c, _t.c.name.label("type_name"), count.label("version_count"))
        .select_from(
            _c.join(_t, _t.c.id == _c.c.type_id)
            .join(projects, projects.c.id == _c.c.project_id)
            .join(entities, entities.c.id == projects.c.entity_id)
        )
        .where(entities.c.name == entity, projects.c.name == project)
        .order_by(_c.c.name)
    )
    if type_name is not None:
        query = query.where(_t.c.name == type_name)
    if name is not None:
        query = query.where(_c.c.name == name)
    return [
        ArtifactCollectionInfo(
            id=int(r["id"]), entity=entity, project=project, type=r["type_name"], name=r["name"],
            description=r["description"], created_at=float(r["created_at"]), keep_last=r["keep_last"],
            version_count=int(r["version_count"]),
        )
        for r in conn.execute(query).mappings()
    ]  # fmt: skip


def list_types(conn: sa.Connection, entity: str, project: str) -> list[ArtifactTypeInfo]:
    """The project's artifact types, by name."""
    count = sa.select(sa.func.count()).select_from(_c).where(_c.c.type_id == _t.c.id).scalar_subquery()
    query = (
        sa.select(_t.c.name, count.label("n"))
        .select_from(
            _t.join(projects, projects.c.id == _t.c.project_id).join(entities, entities.c.id == projects.c.entity_id)
        )
        .where(entities.c.name == entity, projects.c.name == project)
        .order_by(_t.c.name)
    )
    return [ArtifactTypeInfo(str(name), int(n)) for name, n in conn.execute(query)]


def list_versions(conn: sa.Connection, collection_id: int) -> list[ArtifactVersion]:
    """The collection's versions, newest first."""
    ids = conn.execute(
        sa.select(_v.c.id).where(_v.c.collection_id == collection_id).order_by(_v.c.version_index.desc())
    ).scalars()
    return versions_by_id(conn, [int(i) for i in ids])


def resolve(conn: sa.Connection, collection_id: int, spec: str) -> ArtifactVersion | None:
    """The version ``spec`` names in the collection: ``vN``, an alias (``latest``...), or a manifest digest."""
    match = _VERSION.fullmatch(spec)
    found: Any = None
    if match:
        found = conn.execute(
            sa.select(_v.c.id).where(_v.c.collection_id == collection_id, _v.c.version_index == int(match.group(1)))
        ).scalar()
    if found is None:
        found = conn.execute(
            sa.select(artifact_aliases.c.version_id).where(
                artifact_aliases.c.collection_id == collection_id, artifact_aliases.c.alias == spec
            )
        ).scalar()
    if found is None and _DIGEST.fullmatch(spec):
        found = conn.execute(
            sa.select(_v.c.id).where(_v.c.collection_id == collection_id, _v.c.digest == spec)
        ).scalar()
    if found is None:
        return None
    versions = versions_by_id(conn, [int(found)])
    return versions[0] if versions else None


def version_files(conn: sa.Connection, version_id: int) -> list[ArtifactFile]:
    """A version's manifest, by path."""
    f = artifact_files
    rows = conn.execute(
        sa.select(f.c.path, f.c.digest, f.c.size, f.c.blob_key, f.c.ref)
        .where(f.c.version_id == version_id)
        .order_by(f.c.path)
    )
    return [ArtifactFile(str(p), str(d), int(s), b, r) for p, d, s, b, r in rows]


def run_versions(conn: sa.Connection, run_pk: int, kind: str) -> list[ArtifactVersion]:
    """The versions the run ``logged`` or ``used``, in the order it did."""
    ids = conn.execute(
        sa.select(artifact_usage.c.version_id)
        .where(artifact_usage.c.run_pk == run_pk, artifact_usage.c.kind == kind)
        .order_by(artifact_usage.c.at, artifact_usage.c.version_id)
    ).scalars()
    return versions_by_id(conn, [int(i) for i in ids])


def version_runs(conn: sa.Connection, version_id: int, kind: str) -> list[tuple[str, str, str]]:
    """``(entity, project, run_id)`` of the runs that ``logged`` or ``used`` the version."""
    query = (
        sa.select(entities.c.name, projects.c.name, runs.c.run_id)
        .select_from(
            artifact_usage.join(runs, runs.c.id == artifact_usage.c.run_pk)
            .join(projects, projects.c.id == runs.c.project_id)
            .join(entities, entities.c.id == projects.c.entity_id)
        )
        .where(artifact_usage.c.version_id == version_id, artifact_usage.c.kind == kind)
        .order_by(artifact_usage.c.at)
    )
    return [(str(e), str(p), str(r)) for e, p, r in conn.execute(query)]
