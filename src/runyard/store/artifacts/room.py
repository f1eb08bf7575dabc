"""``store.artifacts``: the artifact room of a :class:`~runyard.store.Store` (reads, edits, retention, gc).

Versions are committed by ingestion (an ``artifact`` record, :mod:`.writes`) or by :meth:`Artifacts.commit` for a
writer outside a run's sessions (the server's wandb protocol). Either way, the files' bytes must already be in the
store's blob store.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

import sqlalchemy as sa

from runyard.errors import ConflictError, NotFoundError, StoreError, UsageError
from runyard.store import queries, reads
from runyard.store.artifacts import gc, writes
from runyard.store.artifacts import reads as artifact_reads
from runyard.store.artifacts.models import (
    ArtifactCollectionInfo,
    ArtifactFile,
    ArtifactTypeInfo,
    ArtifactVersion,
    GcReport,
)
from runyard.store.artifacts.tables import artifact_aliases, artifact_collections, artifact_versions
from runyard.store.blobs import BlobStore
from runyard.store.sql import SqlaSql

if TYPE_CHECKING:
    from runyard.store.store import Store

__all__ = ["Artifacts", "parse_artifact_path"]

_T = TypeVar("_T")


def parse_artifact_path(path: str, entity: str, project: str) -> tuple[str, str, str, str]:
    """``[entity/][project/]name[:version]`` as ``(entity, project, name, version)``; version defaults to latest."""
    if not isinstance(path, str) or not path.strip():
        raise UsageError(
            f"an artifact is named 'name', 'name:v3', 'name:alias' or 'entity/project/name:v3', not {path!r}"
        )
    head, _, version = path.strip().partition(":")
    parts = head.split("/")
    if len(parts) > 3 or not all(parts):
        raise UsageError(f"cannot read the artifact name {path!r}: use 'name:version' or 'entity/project/name:version'")
    name = parts[-1]
    if len(parts) >= 2:
        project = parts[-2]
    if len(parts) == 3:
        entity = parts[0]
    return entity, project, name, version or writes.LATEST


class Artifacts:
    """The store's artifacts: types, collections, versions, aliases, files and which runs logged or used them."""

    def __init__(self, store: Store) -> None:
        self._store = store

    @property
    def blobs(self) -> BlobStore:
        """The blob store holding artifact files; :class:`~runyard.errors.StoreError` when the store has none."""
        if self._store.blobs is None:
            raise StoreError(
                "this store has no blob location, and artifact files live in one: open it with blobs= (a folder or "
                "s3://bucket/prefix), or start `runyard server --blobs URL`"
            )
        return self._store.blobs

    # -- reads

    def version(self, entity: str, project: str, name: str, spec: str = writes.LATEST) -> ArtifactVersion | None:
        """The version ``spec`` (``vN``, an alias, or a manifest digest) of the collection, or None."""
        with self._store.engine.connect() as conn:
            found = artifact_reads.collection_by_name(conn, entity, project, name)
            return None if found is None else artifact_reads.resolve(conn, found.id, spec)

    def get(self, path: str, entity: str, project: str) -> ArtifactVersion:
        """The version an artifact path names (``name:v3``, ``project/name:alias``...), relative to the defaults.

        Raises :class:`~runyard.errors.NotFoundError` saying which part is missing.
        """
        entity, project, name, spec = parse_artifact_path(path, entity, project)
        with self._store.engine.connect() as conn:
            found = artifact_reads.collection_by_name(conn, entity, project, name)
            if found is None:
                raise NotFoundError(f"no artifact {name!r} in {entity}/{project}")
            version = artifact_reads.resolve(conn, found.id, spec)
        if version is None:
            raise NotFoundError(
                f"artifact {entity}/{project}/{name} has no version {spec!r} (it has v0..v{found.version_count - 1} "
                "and its aliases)"
            )
        return version

    def collection(self, entity: str, project: str, name: str) -> ArtifactCollectionInfo | None:
        """The collection ``name`` of the project, or None."""
        with self._store.engine.connect() as conn:
            return artifact_reads.collection_by_name(conn, entity, project, name)

    def types(self, entity: str, project: str) -> list[ArtifactTypeInfo]:
        """The project's artifact types."""
        with self._store.engine.connect() as conn:
            return artifact_reads.list_types(conn, entity, project)

    def collections(self, entity: str, project: str, type_name: str | None = None) -> list[ArtifactCollectionInfo]:
        """The project's collections (of one type, or all)."""
        with self._store.engine.connect() as conn:
            return artifact_reads.list_collections(conn, entity, project, type_name)

    def versions(self, entity: str, project: str, name: str) -> list[ArtifactVersion]:
        """The collection's versions, newest first ([] for an unknown collection)."""
        with self._store.engine.connect() as conn:
            found = artifact_reads.collection_by_name(conn, entity, project, name)
            return [] if found is None else artifact_reads.list_versions(conn, found.id)

    def files(self, version: ArtifactVersion | int) -> list[ArtifactFile]:
        """A version's manifest, by path."""
        with self._store.engine.connect() as conn:
            return artifact_reads.version_files(conn, _id(version))

    def run_artifacts(self, entity: str, project: str, run_id: str, kind: str = "logged") -> list[ArtifactVersion]:
        """The versions a run ``logged`` or ``used``; raises :class:`~runyard.errors.NotFoundError` for no run."""
        if kind not in ("logged", "used"):
            raise UsageError(f"kind is 'logged' or 'used', not {kind!r}")
        with self._store.engine.connect() as conn:
            pk = reads.run_pk(conn, entity, project, run_id)
            if pk is None:
                raise NotFoundError(f"no run {entity}/{project}/{run_id}")
            return artifact_reads.run_versions(conn, pk, kind)

    def runs_of(self, version: ArtifactVersion | int, kind: str = "used") -> list[tuple[str, str, str]]:
        """``(entity, project, run_id)`` of the runs that ``logged`` or ``used`` a version."""
        with self._store.engine.connect() as conn:
            return artifact_reads.version_runs(conn, _id(version), kind)

    # -- writes

    def commit(
        self,
        entity: str,
        project: str,
        body: dict[str, Any],
        *,
        run_id: str | None = None,
    ) -> ArtifactVersion:
        """Commit a version (``body`` as an ``artifact`` record's, :class:`runyard.records.ArtifactBody`) outside
        a run's sessions; every file's blob must be in the blob store.

        Raises :class:`~runyard.errors.ConflictError` when the collection has another type and
        :class:`~runyard.errors.NotFoundError` for a missing run or project.
        """
        blobs = self.blobs
        missing = [f[0] for f in body.get("files") or () if not f[3] and not blobs.exists(f[1])]
        if missing:
            raise StoreError(f"the blob store does not hold the content of {missing[:3]}: upload the files first")

        def work(conn: sa.Connection) -> int | None:
            project_id = queries.project_pk(conn, entity, project)
            if project_id is None:
                raise NotFoundError(f"no project {entity}/{project}")
            run_pk = None if run_id is None else reads.run_pk(conn, entity, project, run_id)
            if run_id is not None and run_pk is None:
                raise NotFoundError(f"no run {entity}/{project}/{run_id}")
            self._check_type(conn, entity, project, str(body["name"]), str(body["type"]))
            return writes.commit_version(SqlaSql(conn), run_pk, project_id, body, time.time())

        version = self._write(f"could not commit artifact {body.get('name')!r}", work)
        assert version is not None
        return self._reload(version)

    def link_run(
        self, entity: str, project: str, run_id: str, version: ArtifactVersion | int, kind: str = "used"
    ) -> None:
        """Record that the run ``logged`` or ``used`` a version (a writer outside the run's sessions: the server)."""
        if kind not in ("logged", "used"):
            raise UsageError(f"kind is 'logged' or 'used', not {kind!r}")
        vid = _id(version)

        def work(conn: sa.Connection) -> None:
            run_pk = reads.run_pk(conn, entity, project, run_id)
            if run_pk is None:
                raise NotFoundError(f"no run {entity}/{project}/{run_id}")
            writes.link_run(SqlaSql(conn), run_pk, vid, kind, time.time())

        self._write("could not record the artifact's use", work)

    def check_type(self, entity: str, project: str, name: str, type_name: str) -> None:
        """Raise :class:`~runyard.errors.ConflictError` when the collection ``name`` exists with another type."""
        with self._store.engine.connect() as conn:
            self._check_type(conn, entity, project, name, type_name)

    @staticmethod
    def _check_type(conn: sa.Connection, entity: str, project: str, name: str, type_name: str) -> None:
        found = artifact_reads.collection_by_name(conn, entity, project, name)
        if found is not None and found.type != type_name:
            raise ConflictError(
                f"artifact {entity}/{project}/{name} is of type {found.type!r}, not {type_name!r}: a name keeps one "
                "type; log it under another name, or with that type"
            )

    def set_aliases(self, version: ArtifactVersion | int, aliases: Sequence[str]) -> ArtifactVersion:
        """Make ``aliases`` exactly the version's aliases (an alias taken from another version moves here).

        ``latest`` is not the user's to move: it stays on the newest version whatever the list says.
        """
        wanted = {str(a) for a in aliases} - {writes.LATEST}
        for alias in wanted:
            if not alias or ":" in alias or "/" in alias or (alias.startswith("v") and alias[1:].isdigit()):
                raise UsageError(f"{alias!r} cannot be an alias: vN names versions, and ':' and '/' separate names")
        vid = _id(version)

        def work(conn: sa.Connection) -> None:
            collection = conn.execute(
                sa.select(artifact_versions.c.collection_id).where(artifact_versions.c.id == vid)
            ).scalar()
            if collection is None:
                raise NotFoundError(f"no artifact version {vid}")
            conn.execute(
                sa.delete(artifact_aliases).where(
                    artifact_aliases.c.version_id == vid, artifact_aliases.c.alias != writes.LATEST
                )
            )
            for alias in sorted(wanted):
                writes.move_alias(SqlaSql(conn), int(collection), alias, vid)

        self._write("could not set the aliases", work)
        return self._reload(vid)

    def update(
        self, version: ArtifactVersion | int, *, description: str | None = None, metadata: dict[str, Any] | None = None
    ) -> ArtifactVersion:
        """Change a version's description or metadata (its files never change)."""
        vid = _id(version)
        values: dict[str, Any] = {}
        if description is not None:
            values["description"] = description
        if metadata is not None:
            values["metadata"] = dict(metadata)
        if values:
            self._write(
                "could not update the artifact",
                lambda conn: conn.execute(
                    sa.update(artifact_versions).where(artifact_versions.c.id == vid).values(**values)
                ),
            )
        return self._reload(vid)

    def delete(self, version: ArtifactVersion | int, *, delete_aliases: bool = False) -> None:
        """Delete a version (its blobs go at the next ``runyard gc`` if nothing else references them).

        A version with aliases other than ``latest`` is kept unless ``delete_aliases``: an alias is a promise
        (``production``) someone relies on. ``latest`` moves to the newest remaining version.
        """
        vid = _id(version)

        def work(conn: sa.Connection) -> None:
            row = conn.execute(
                sa.select(artifact_versions.c.collection_id).where(artifact_versions.c.id == vid)
            ).scalar()
            if row is None:
                raise NotFoundError(f"no artifact version {vid}")
            aliases = (
                conn.execute(sa.select(artifact_aliases.c.alias).where(artifact_aliases.c.version_id == vid))
                .scalars()
                .all()
            )
            held = sorted(set(aliases) - {writes.LATEST})
            if held and not delete_aliases:
                raise ConflictError(
                    f"the version has aliases {held}: remove them first, or delete with delete_aliases=True"
                )
            writes.delete_version_rows(SqlaSql(conn), vid)
            if writes.LATEST in aliases:
                newest = conn.execute(
                    sa.select(artifact_versions.c.id)
                    .where(artifact_versions.c.collection_id == row)
                    .order_by(artifact_versions.c.version_index.desc())
                    .limit(1)
                ).scalar()
                if newest is not None:
                    writes.move_alias(SqlaSql(conn), int(row), writes.LATEST, int(newest))

        self._write("could not delete the artifact version", work)

    def set_retention(self, entity: str, project: str, name: str, keep_last: int | None) -> list[int]:
        """Keep the collection's last ``keep_last`` versions plus every aliased one (None: keep all), applied now
        and after every new version. Returns the ids of the versions deleted now."""
        if keep_last is not None and (type(keep_last) is not int or keep_last < 1):
            raise UsageError(f"keep_last is a whole number >= 1 (or None to keep every version), not {keep_last!r}")

        def work(conn: sa.Connection) -> list[int]:
            found = artifact_reads.collection_by_name(conn, entity, project, name)
            if found is None:
                raise NotFoundError(f"no artifact {name!r} in {entity}/{project}")
            conn.execute(
                sa.update(artifact_collections).where(artifact_collections.c.id == found.id).values(keep_last=keep_last)
            )
            return writes.enforce_retention(SqlaSql(conn), found.id)

        return self._write("could not set the retention policy", work)

    def gc(self, *, grace_s: float = gc.DEFAULT_GRACE_S, dry_run: bool = False) -> GcReport:
        """Delete blobs nothing references that are older than ``grace_s`` (see :mod:`.gc`)."""
        return gc.collect(self._store.engine, self.blobs, grace_s=grace_s, dry_run=dry_run)

    # -- helpers

    def _reload(self, vid: int) -> ArtifactVersion:
        with self._store.engine.connect() as conn:
            found = artifact_reads.versions_by_id(conn, [vid])
        if not found:
            raise NotFoundError(f"no artifact version {vid}")
        return found[0]

    def _write(self, what: str, work: Callable[[sa.Connection], _T]) -> _T:
        try:
            with self._store._write_engine.begin() as conn:
                return work(conn)
        except sa.exc.SQLAlchemyError as exc:
            raise StoreError(f"{what}: {exc}") from exc


def _id(version: ArtifactVersion | int) -> int:
    return version if isinstance(version, int) else version.id
