"""Artifacts through wandb's protocol: the client's log (create, upload, manifest, commit), use and download
calls, and ``wandb.Api``'s artifact reads, answered from ``store.artifacts``.

A version logged by the wandb client lands in the same room as one logged by runyard's SDK: its files are
content-addressed (SHA-256) in the blob store, its digest is runyard's manifest digest (so logging the same
content with either client finds the same version) and the versions/aliases rules are the room's. wandb's own
manifest speaks MD5 (base64): the MD5 of each uploaded file is computed as it arrives; for a version another
client made it is computed from the blob when a manifest is first asked for.

Between ``createArtifact`` and ``commitArtifact`` a version is *pending*: kept by :class:`Pending` in the
store, so any replica of the server (or the same one, restarted) takes the client's next call.
"""

from __future__ import annotations

import base64
import hashlib
import json
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from graphql import GraphQLError

from runyard.errors import ConflictError, NotFoundError, StoreError, UsageError
from runyard.manifest_digest import manifest_digest
from runyard.server.wandb.convert import iso, project_int_id, run_storage_id
from runyard.server.wandb.graphql import Obj
from runyard.store.artifacts.models import ArtifactFile, ArtifactVersion
from runyard.store.server_state import StaleDocError

if TYPE_CHECKING:
    from runyard.store import Store

__all__ = [
    "ARTIFACT_MUTATIONS",
    "Pending",
    "PendingArtifact",
    "artifact_mutations",
    "manifest_of",
    "md5_of_stream",
    "project_artifact_fields",
    "query_artifact",
    "run_artifacts",
]

ARTIFACT_MUTATIONS = frozenset(
    {
        "createArtifact",
        "createArtifactManifest",
        "createArtifactFiles",
        "commitArtifact",
        "useArtifact",
        "updateArtifactManifest",
        "updateArtifact",
        "createArtifactType",
        "deleteArtifact",
        "addAliases",
        "deleteAliases",
    }
)

MANIFEST_NAME = "wandb_manifest.json"

PENDING_TTL_S = 24 * 3600.0
"""How long the server remembers an artifact logged by the wandb client under the id it handed out first."""


@dataclass
class PendingArtifact:
    """An artifact between ``createArtifact`` and ``commitArtifact``."""

    key: str
    entity: str
    project: str
    run_id: str | None
    type: str
    name: str
    description: str | None
    metadata: dict[str, Any]
    aliases: list[str]
    uploads: dict[str, tuple[str, int, str]] = field(default_factory=dict)  # path -> (sha256 key, size, md5 b64)
    manifest: dict[str, Any] | None = None
    base_id: str | None = None
    committed: int | None = None  # the version id once committed
    created_at: float = field(default_factory=time.time)


class Pending:
    """The pending artifacts of a store, and the MD5 of blobs seen (wandb's manifests name files by MD5).

    Kept in the store (``store.server_state``), so that an artifact created through one server replica takes
    its files, its manifest and its commit through any other, and survives a restart of the server.
    """

    def __init__(self, store: Store) -> None:
        self._state = store.server_state

    def add(self, item: PendingArtifact) -> None:
        # A pending id stays valid a day after its commit (the client names it in later calls), then goes.
        self._state.purge(_PENDING_KIND)
        self._state.put(_PENDING_KIND, item.key, asdict(item), item.created_at + PENDING_TTL_S)

    def get(self, key: str) -> PendingArtifact | None:
        doc = self._state.get(_PENDING_KIND, key)
        return None if doc is None else _pending_of(doc.value)

    def update(self, key: str, change: Callable[[PendingArtifact], None]) -> PendingArtifact | None:
        """Apply ``change`` to the stored artifact (again on a fresh copy if another request changed it first)."""
        for _ in range(50):
            doc = self._state.get(_PENDING_KIND, key)
            if doc is None:
                return None
            item = _pending_of(doc.value)
            change(item)
            doc.value = asdict(item)
            try:
                self._state.save(doc)
            except StaleDocError:
                continue
            return item
        raise StoreError(f"pending artifact {key}: too many concurrent changes; retry")

    def note_md5(self, blob_key: str, md5: str, size: int) -> None:
        self._state.put(_MD5_KIND, blob_key, {"md5": md5})
        self._state.put(_BLOB_KIND, f"{md5}:{size}", {"blob": blob_key})

    def md5(self, blob_key: str) -> str | None:
        doc = self._state.get(_MD5_KIND, blob_key)
        return None if doc is None else str(doc.value["md5"])

    def blob_by_md5(self, md5: str, size: int) -> str | None:
        doc = self._state.get(_BLOB_KIND, f"{md5}:{size}")
        return None if doc is None else str(doc.value["blob"])


_PENDING_KIND = "wandb-artifact"
_MD5_KIND = "blob-md5"
_BLOB_KIND = "md5-blob"


def _pending_of(value: dict[str, Any]) -> PendingArtifact:
    value = dict(value)
    uploads = value.pop("uploads", {}) or {}
    item = PendingArtifact(**value)
    item.uploads = {path: (str(u[0]), int(u[1]), str(u[2])) for path, u in uploads.items()}
    return item


def md5_of_stream(chunks: Iterable[bytes]) -> tuple[Iterator[bytes], Any]:
    """Wrap ``chunks`` so that their MD5 is computed as they pass; returns the wrapped iterator and the hasher."""
    hasher = hashlib.md5(usedforsecurity=False)

    def passing() -> Iterator[bytes]:
        for chunk in chunks:
            hasher.update(chunk)
            yield chunk

    return passing(), hasher


# -- ids


def _artifact_id(version_id: int) -> str:
    return base64.b64encode(f"Artifact:{version_id}".encode()).decode()


def _pending_id(key: str) -> str:
    return base64.b64encode(f"Artifact:pending:{key}".encode()).decode()


def _decode_id(value: Any) -> tuple[str, str] | None:
    """``("version", "12")`` or ``("pending", key)`` for an artifact id we handed out."""
    if not isinstance(value, str):
        return None
    try:
        text = base64.b64decode(value.encode(), validate=True).decode()
    except ValueError:
        return None
    kind, _, rest = text.partition(":")
    if kind != "Artifact" or not rest:
        return None
    if rest.startswith("pending:"):
        return "pending", rest[len("pending:") :]
    return ("version", rest) if rest.isdigit() else None


def _version_id_of(ctx: Any, value: Any) -> int | None:
    """The committed version an artifact id names (a pending one once committed), or None."""
    found = _decode_id(value)
    if found is None:
        return None
    kind, rest = found
    if kind == "version":
        return int(rest)
    item = ctx.pending.get(rest)
    return None if item is None else item.committed


def _reload(ctx: Any, version_id: int) -> ArtifactVersion | None:
    from runyard.store.artifacts import reads as artifact_reads

    with ctx.store.engine.connect() as conn:
        found = artifact_reads.versions_by_id(conn, [version_id])
    if not found or not ctx.may_read_project(found[0].entity, found[0].project):
        return None  # a private project's artifact is not found for an outsider
    return found[0]


# -- objects


def _b64(kind: str, key: str) -> str:
    return base64.b64encode(f"{kind}:{key}".encode()).decode()


def _project_info(entity: str, project: str) -> Obj:
    return Obj(
        "Project",
        {
            "id": _b64("Project", f"{entity}/{project}"),
            "internalId": project_int_id(entity, project),
            "name": project,
            "entityName": entity,
            "entity": Obj("Entity", {"name": entity, "id": _b64("Entity", entity)}),
        },
    )


def _collection_obj(ctx: Any, entity: str, project: str, name: str, type_name: str | None = None) -> Obj:
    def info() -> Any:
        return ctx.store.artifacts.collection(entity, project, name)

    def artifacts(args: dict[str, Any]) -> Obj:
        versions = ctx.store.artifacts.versions(entity, project, name)
        return _version_connection(ctx, versions, args)

    def membership(args: dict[str, Any]) -> Obj | None:
        found = ctx.store.artifacts.version(entity, project, name, str(args.get("aliasName") or "latest"))
        return None if found is None else _membership_obj(ctx, found)

    found = info()
    return Obj(
        "ArtifactSequence",
        {
            "id": _b64("ArtifactCollection", f"{entity}/{project}/{name}"),
            "name": name,
            "description": found.description if found else None,
            "createdAt": iso(found.created_at) if found else None,
            "updatedAt": iso(found.created_at) if found else None,
            "project": _project_info(entity, project),
            "defaultArtifactType": Obj("ArtifactType", {"name": found.type if found else type_name}),
            "tags": {"edges": []},
            "aliases": lambda _a: Obj("ArtifactAliasConnection", {"edges": []}),
            "artifacts": artifacts,
            "artifactMembership": membership,
            "artifactMemberships": artifacts,
        },
    )


def _alias_objs(version: ArtifactVersion) -> list[Obj]:
    collection = Obj(
        "ArtifactSequence", {"name": version.name, "project": _project_info(version.entity, version.project)}
    )
    return [
        Obj(
            "ArtifactAlias",
            {"id": _b64("ArtifactAlias", f"{version.id}/{a}"), "alias": a, "artifactCollection": collection},
        )
        for a in version.aliases
    ]


def artifact_obj(ctx: Any, version: ArtifactVersion, *, as_id: str | None = None) -> Obj:
    """One version as wandb's ``Artifact`` (the ``ArtifactFragment`` and the download fields)."""
    e, p = version.entity, version.project

    def files(args: dict[str, Any]) -> Obj:
        entries = ctx.store.artifacts.files(version.id)
        names = args.get("names") or [e.get("name") for e in args.get("entries") or () if isinstance(e, dict)]
        if names:
            wanted = set(n for n in names if isinstance(n, str))
            entries = [f for f in entries if f.path in wanted]
        offset = int(args["after"]) if str(args.get("after") or "").isdigit() else 0
        first = max(1, min(int(args.get("first") or 10_000), 10_000))
        page = entries[offset : offset + first]
        edges = [
            Obj("FileEdge", {"node": _file_obj(ctx, version, f), "cursor": str(offset + i + 1)})
            for i, f in enumerate(page)
        ]
        return Obj(
            "FileConnection",
            {
                "edges": edges,
                "totalCount": len(entries),
                "pageInfo": Obj(
                    "PageInfo", {"endCursor": str(offset + len(page)), "hasNextPage": offset + first < len(entries)}
                ),
            },
        )

    def created_by(_args: dict[str, Any]) -> Obj | None:
        if version.run_id is None:
            return None
        return _run_info(e, p, version.run_id)

    def used_by(_args: dict[str, Any]) -> Obj:
        runs = ctx.store.artifacts.runs_of(version.id, "used")
        return Obj("RunConnection", {"edges": [Obj("RunEdge", {"node": _run_info(*r)}) for r in runs]})

    manifest_url = ctx.artifact_url("art-manifest", str(version.id), MANIFEST_NAME)
    sequence = Obj("ArtifactSequence", {"name": version.name, "project": _project_info(e, p)})
    return Obj(
        "Artifact",
        {
            "id": as_id or _artifact_id(version.id),
            "artifactSequence": sequence,
            "artifactCollection": sequence,
            "versionIndex": version.version_index,
            "artifactType": Obj("ArtifactType", {"name": version.type}),
            "description": version.description,
            "metadata": json.dumps(version.metadata),
            "ttlDurationSeconds": -2,
            "ttlIsInherited": True,
            "tags": [],
            "historyStep": None,
            "state": "COMMITTED",
            "size": version.size,
            "digest": version.digest,
            "digestAlgorithm": None,
            "commitHash": version.digest[:20],
            "fileCount": version.file_count,
            "createdAt": iso(version.created_at),
            "updatedAt": iso(version.created_at),
            "aliases": _alias_objs(version),
            "currentManifest": Obj(
                "ArtifactManifest",
                {
                    "id": _b64("ArtifactManifest", str(version.id)),
                    "file": Obj("File", {"directUrl": manifest_url, "url": manifest_url}),
                },
            ),
            "files": files,
            "filesByManifestEntries": files,
            "createdBy": created_by,
            "usedBy": used_by,
            "artifactMemberships": lambda _a: {"edges": []},
        },
    )


def _membership_obj(ctx: Any, version: ArtifactVersion) -> Obj:
    return Obj(
        "ArtifactCollectionMembership",
        {
            "id": _b64("ArtifactCollectionMembership", str(version.id)),
            "versionIndex": version.version_index,
            "createdAt": iso(version.created_at),
            "aliases": _alias_objs(version),
            "artifactCollection": Obj(
                "ArtifactSequence", {"name": version.name, "project": _project_info(version.entity, version.project)}
            ),
            "artifact": artifact_obj(ctx, version),
            "files": lambda a: artifact_obj(ctx, version).resolve("files", a),
        },
    )


def _run_info(entity: str, project: str, run_id: str) -> Obj:
    return Obj(
        "Run",
        {"id": run_storage_id(entity, project, run_id), "name": run_id, "project": _project_info(entity, project)},
    )


def _file_obj(ctx: Any, version: ArtifactVersion, f: ArtifactFile) -> Obj:
    url = f.ref if f.ref else ctx.artifact_url("art-get", str(version.id), f.path)
    return Obj(
        "File",
        {
            "id": _b64("File", f"{version.id}/{f.path}"),
            "name": f.path,
            "displayName": f.path,
            "url": url,
            "directUrl": url,
            "sizeBytes": f.size,
            "storagePath": None,
            "mimetype": None,
            "updatedAt": iso(version.created_at),
            "digest": f.digest,
            "md5": None,
        },
    )


def _version_connection(ctx: Any, versions: list[ArtifactVersion], args: dict[str, Any]) -> Obj:
    offset = int(args["after"]) if str(args.get("after") or "").isdigit() else 0
    first = max(1, min(int(args.get("first") or 50), 1000))
    page = versions[offset : offset + first]
    edges = [
        Obj(
            "VersionedArtifactEdge", {"node": artifact_obj(ctx, v), "version": v.version, "cursor": str(offset + i + 1)}
        )
        for i, v in enumerate(page)
    ]
    return Obj(
        "VersionedArtifactConnection",
        {
            "edges": edges,
            "totalCount": len(versions),
            "pageInfo": Obj(
                "PageInfo", {"endCursor": str(offset + len(page)), "hasNextPage": offset + first < len(versions)}
            ),
        },
    )


def _type_obj(ctx: Any, entity: str, project: str, name: str, count: int | None = None) -> Obj:
    def collections(args: dict[str, Any]) -> Obj:
        found = ctx.store.artifacts.collections(entity, project, name)
        edges = [Obj("ArtifactCollectionEdge", {"node": _collection_obj(ctx, entity, project, c.name)}) for c in found]
        return Obj(
            "ArtifactCollectionConnection",
            {"edges": edges, "totalCount": len(found), "pageInfo": Obj("PageInfo", {"hasNextPage": False})},
        )

    def collection(args: dict[str, Any]) -> Obj | None:
        found = ctx.store.artifacts.collection(entity, project, str(args.get("name") or ""))
        if found is None or found.type != name:
            return None
        return _collection_obj(ctx, entity, project, found.name)

    return Obj(
        "ArtifactType",
        {
            "id": _b64("ArtifactType", f"{entity}/{project}/{name}"),
            "name": name,
            "description": None,
            # The type's own creation time is not kept: its first collection's (W&B requires one).
            "createdAt": lambda _a: iso(
                min((c.created_at for c in ctx.store.artifacts.collections(entity, project, name)), default=0.0)
            ),
            "artifactCollections": collections,
            "artifactSequences": collections,
            "artifactCollection": collection,
            "artifactSequence": collection,
        },
    )


def _by_name(ctx: Any, entity: str, project: str, path: Any) -> ArtifactVersion | None:
    from runyard.store.artifacts.room import parse_artifact_path

    try:
        e, p, name, spec = parse_artifact_path(str(path or ""), entity, project)
    except UsageError as exc:
        raise GraphQLError(str(exc)) from exc
    if not ctx.may_read_project(e, p):
        return None
    found: ArtifactVersion | None = ctx.store.artifacts.version(e, p, name, spec)
    return found


def project_artifact_fields(ctx: Any, entity: str, project: str) -> dict[str, Any]:
    """The artifact fields of a ``Project``."""

    def artifact(args: dict[str, Any]) -> Obj | None:
        found = _by_name(ctx, entity, project, args.get("name"))
        return None if found is None else artifact_obj(ctx, found)

    def membership(args: dict[str, Any]) -> Obj | None:
        found = _by_name(ctx, entity, project, args.get("name"))
        return None if found is None else _membership_obj(ctx, found)

    def artifact_type(args: dict[str, Any]) -> Obj | None:
        name = str(args.get("name") or "")
        known = {t.name for t in ctx.store.artifacts.types(entity, project)}
        return _type_obj(ctx, entity, project, name) if name in known else None

    def artifact_types(_args: dict[str, Any]) -> Obj:
        found = ctx.store.artifacts.types(entity, project)
        edges = [Obj("ArtifactTypeEdge", {"node": _type_obj(ctx, entity, project, t.name)}) for t in found]
        return Obj(
            "ArtifactTypeConnection",
            {"edges": edges, "pageInfo": Obj("PageInfo", {"hasNextPage": False, "endCursor": None})},
        )

    def collection(args: dict[str, Any]) -> Obj | None:
        found = ctx.store.artifacts.collection(entity, project, str(args.get("name") or ""))
        return None if found is None else _collection_obj(ctx, entity, project, found.name)

    def collections(_args: dict[str, Any]) -> Obj:
        found = ctx.store.artifacts.collections(entity, project)
        edges = [Obj("ArtifactCollectionEdge", {"node": _collection_obj(ctx, entity, project, c.name)}) for c in found]
        return Obj(
            "ArtifactCollectionConnection",
            {"edges": edges, "totalCount": len(found), "pageInfo": Obj("PageInfo", {"hasNextPage": False})},
        )

    return {
        "artifact": artifact,
        "artifactCollectionMembership": membership,
        "artifactType": artifact_type,
        "artifactTypes": artifact_types,
        "artifactCollection": collection,
        "artifactCollections": collections,
    }


def run_artifacts(ctx: Any, entity: str, project: str, run_id: str, kind: str) -> Any:
    """``run.outputArtifacts`` (``logged``) / ``inputArtifacts`` (``used``)."""

    def resolve(args: dict[str, Any]) -> Obj:
        try:
            versions = ctx.store.artifacts.run_artifacts(entity, project, run_id, kind)
        except (NotFoundError, StoreError):
            versions = []
        return _version_connection(ctx, versions, args)

    return resolve


def query_artifact(ctx: Any) -> Any:
    """``Query.artifact(id:)``."""

    def resolve(args: dict[str, Any]) -> Obj | None:
        vid = _version_id_of(ctx, args.get("id"))
        if vid is None:
            return None
        found = _reload(ctx, vid)
        return None if found is None else artifact_obj(ctx, found, as_id=str(args.get("id")))

    return resolve


# -- the manifest served to the client


def manifest_of(ctx: Any, version: ArtifactVersion) -> dict[str, Any]:
    """wandb's manifest of a stored version (MD5 digests, computed from blobs the server has not hashed yet)."""
    contents: dict[str, Any] = {}
    birth = _artifact_id(version.id)
    for f in ctx.store.artifacts.files(version.id):
        if f.ref:
            contents[f.path] = {"digest": f.digest, "ref": f.ref, "size": f.size}
            continue
        assert f.blob_key is not None
        md5 = _blob_md5(ctx, f.blob_key, f.size)
        contents[f.path] = {"digest": md5, "size": f.size, "birthArtifactID": birth}
    return {
        "version": 1,
        "storagePolicy": "wandb-storage-policy-v1",
        "storagePolicyConfig": {"storageLayout": "V2"},
        "contents": contents,
    }


def _blob_md5(ctx: Any, key: str, size: int) -> str:
    md5 = ctx.pending.md5(key)
    if md5 is None:
        _, chunks = ctx.store.artifacts.blobs.stream(key)
        hasher = hashlib.md5(usedforsecurity=False)
        for chunk in chunks:
            hasher.update(chunk)
        md5 = base64.b64encode(hasher.digest()).decode()
        ctx.pending.note_md5(key, md5, size)
    return str(md5)


# -- mutations


def artifact_mutations(ctx: Any) -> dict[str, Any]:
    """The artifact mutations of the ``Mutation`` root."""

    def create_artifact(args: dict[str, Any]) -> Obj:
        inp = args.get("input") or {}
        entity = str(inp.get("entityName") or ctx.caller.entity)
        project = str(inp.get("projectName") or "uncategorized")
        name = str(inp.get("artifactCollectionName") or "")
        type_name = str(inp.get("artifactTypeName") or "")
        if not name or not type_name:
            raise GraphQLError("createArtifact needs artifactCollectionName and artifactTypeName")
        ctx.require_write(entity, "createArtifact")
        if ctx.store.blobs is None:
            # Refused before any upload: the client then gives up on the artifact and finishes the run.
            raise GraphQLError(
                "createArtifact: this server keeps no blob store, and artifact files live in one: start it with "
                "--blobs (a folder or s3://bucket/prefix); `runyard ui` keeps one beside its store"
            )
        try:
            ctx.store.artifacts.check_type(entity, project, name, type_name)
        except ConflictError as exc:
            raise GraphQLError(str(exc)) from exc
        metadata = inp.get("metadata")
        try:
            meta = json.loads(metadata) if isinstance(metadata, str) and metadata else {}
        except ValueError:
            meta = {}
        aliases = [
            str(a.get("alias"))
            for a in inp.get("aliases") or ()
            if isinstance(a, dict) and a.get("alias") and a.get("artifactCollectionName", name) == name
        ]
        item = PendingArtifact(
            key=uuid.uuid4().hex,
            entity=entity,
            project=project,
            run_id=str(inp["runName"]) if inp.get("runName") else None,
            type=type_name,
            name=name,
            description=inp.get("description"),
            metadata=meta if isinstance(meta, dict) else {},
            aliases=aliases,
        )
        ctx.pending.add(item)
        latest = ctx.store.artifacts.version(entity, project, name)
        return Obj(
            "CreateArtifactPayload",
            {
                "artifact": Obj(
                    "Artifact",
                    {
                        "id": _pending_id(item.key),
                        "state": "PENDING",
                        "artifactSequence": Obj(
                            "ArtifactSequence",
                            {
                                "latestArtifact": None
                                if latest is None
                                else Obj("Artifact", {"id": _artifact_id(latest.id)})
                            },
                        ),
                    },
                )
            },
        )

    def pending_of(value: Any) -> PendingArtifact:
        found = _decode_id(value)
        item: PendingArtifact | None = ctx.pending.get(found[1]) if found and found[0] == "pending" else None
        if item is None:
            raise GraphQLError("unknown or expired pending artifact (pending ids last a day): log it again")
        return item

    def set_base(item: PendingArtifact, base_id: str) -> PendingArtifact:
        def change(stored: PendingArtifact) -> None:
            stored.base_id = base_id

        return ctx.pending.update(item.key, change) or item

    def manifest_payload(item: PendingArtifact, args: dict[str, Any]) -> Obj:
        url = ctx.artifact_url("art-manifest-put", item.key, MANIFEST_NAME)
        return Obj(
            "CreateArtifactManifestPayload",
            {
                "artifactManifest": Obj(
                    "ArtifactManifest",
                    {
                        "id": _b64("ArtifactManifest", item.key),
                        "file": Obj(
                            "File", {"id": _b64("File", item.key + "/m"), "uploadUrl": url, "uploadHeaders": []}
                        ),
                    },
                )
            },
        )

    def create_manifest(args: dict[str, Any]) -> Obj:
        inp = args.get("input") or {}
        item = pending_of(inp.get("artifactID"))
        if inp.get("baseArtifactID"):
            item = set_base(item, str(inp["baseArtifactID"]))
        return manifest_payload(item, args)

    def update_manifest(args: dict[str, Any]) -> Obj:
        inp = args.get("input") or {}
        raw = base64.b64decode(str(inp.get("artifactManifestID") or "")).decode(errors="replace")
        key = raw.partition(":")[2]
        item = ctx.pending.get(key)
        if item is None:
            raise GraphQLError("unknown artifact manifest: log the artifact again")
        if inp.get("baseArtifactID"):
            item = set_base(item, str(inp["baseArtifactID"]))
        return Obj(
            "UpdateArtifactManifestPayload",
            {"artifactManifest": manifest_payload(item, args).fields["artifactManifest"]},
        )

    def create_files(args: dict[str, Any]) -> Obj:
        inp = args.get("input") or {}
        edges = []
        for f in inp.get("artifactFiles") or ():
            item = pending_of(f.get("artifactID"))
            name = str(f.get("name") or "")
            url = ctx.artifact_url("art-put", item.key, name)
            node = {
                "storagePath": None,
                "uploadUrl": url,
                "uploadHeaders": [],
                "uploadMultipartUrls": None,
                "artifact": Obj("Artifact", {"id": _pending_id(item.key)}),
            }
            edges.append(Obj("FileEdge", {"node": Obj("File", node)}))
        return Obj("CreateArtifactFilesPayload", {"files": Obj("FileConnection", {"edges": edges})})

    def commit(args: dict[str, Any]) -> Obj:
        inp = args.get("input") or {}
        item = pending_of(inp.get("artifactID"))
        if item.committed is None:
            committed = _commit(ctx, item)

            def change(stored: PendingArtifact) -> None:
                stored.committed = committed if stored.committed is None else stored.committed

            item = ctx.pending.update(item.key, change) or item
            item.committed = item.committed or committed
        version = _reload(ctx, item.committed)
        assert version is not None
        return Obj(
            "CommitArtifactPayload",
            {"artifact": Obj("Artifact", {"id": _pending_id(item.key), "digest": version.digest})},
        )

    def use(args: dict[str, Any]) -> Obj:
        inp = args.get("input") or {}
        vid = _version_id_of(ctx, inp.get("artifactID"))
        version = None if vid is None else _reload(ctx, vid)
        if version is None:
            raise GraphQLError("useArtifact: no such artifact")
        entity = str(inp.get("entityName") or ctx.caller.entity)
        project = str(inp.get("projectName") or "uncategorized")
        run_id = inp.get("runName")
        ctx.require_write(entity, "useArtifact")
        if run_id:
            try:
                ctx.store.artifacts.link_run(entity, project, str(run_id), version.id, "used")
            except NotFoundError as exc:
                raise GraphQLError(str(exc)) from exc
        return Obj("UseArtifactPayload", {"artifact": artifact_obj(ctx, version, as_id=str(inp.get("artifactID")))})

    def update(args: dict[str, Any]) -> Obj:
        inp = args.get("input") or {}
        vid = _version_id_of(ctx, inp.get("artifactID"))
        if vid is None:
            raise GraphQLError("updateArtifact: no such artifact")
        _require_version_write(ctx, vid, "updateArtifact")
        metadata = inp.get("metadata")
        try:
            version = ctx.store.artifacts.update(
                vid,
                description=inp.get("description"),
                metadata=json.loads(metadata) if isinstance(metadata, str) and metadata else None,
            )
            if inp.get("aliases") is not None:
                names = [str(a.get("alias")) for a in inp["aliases"] if isinstance(a, dict) and a.get("alias")]
                version = ctx.store.artifacts.set_aliases(vid, names)
        except (UsageError, NotFoundError, ValueError) as exc:
            raise GraphQLError(f"updateArtifact: {exc}") from exc
        return Obj("UpdateArtifactPayload", {"artifact": artifact_obj(ctx, version)})

    def delete(args: dict[str, Any]) -> Obj:
        inp = args.get("input") or {}
        vid = _version_id_of(ctx, inp.get("artifactID"))
        if vid is None:
            raise GraphQLError("deleteArtifact: no such artifact")
        _require_version_write(ctx, vid, "deleteArtifact")
        try:
            ctx.store.artifacts.delete(vid, delete_aliases=bool(inp.get("deleteAliases")))
        except (ConflictError, NotFoundError) as exc:
            raise GraphQLError(f"deleteArtifact: {exc}") from exc
        return Obj("DeleteArtifactPayload", {"artifact": Obj("Artifact", {"id": inp.get("artifactID")})})

    def edit_aliases(adding: bool) -> Any:
        def resolve(args: dict[str, Any]) -> Obj:
            inp = args.get("input") or {}
            vid = _version_id_of(ctx, inp.get("artifactID"))
            version = None if vid is None else _reload(ctx, vid)
            if version is None:
                raise GraphQLError("no such artifact: its aliases cannot change")
            ctx.require_write(version.entity, "aliases")
            named = {str(a.get("alias")) for a in inp.get("aliases") or () if isinstance(a, dict) and a.get("alias")}
            current = set(version.aliases)
            wanted = current | named if adding else current - named
            try:
                ctx.store.artifacts.set_aliases(version.id, sorted(wanted))
            except (UsageError, NotFoundError) as exc:
                raise GraphQLError(str(exc)) from exc
            return Obj("AliasesPayload", {"success": True})

        return resolve

    def create_type(args: dict[str, Any]) -> Obj:
        inp = args.get("input") or {}
        return Obj(
            "CreateArtifactTypePayload",
            {
                "artifactType": Obj(
                    "ArtifactType", {"id": _b64("ArtifactType", str(inp.get("name"))), "name": inp.get("name")}
                )
            },
        )

    return {
        "createArtifact": create_artifact,
        "createArtifactManifest": create_manifest,
        "updateArtifactManifest": update_manifest,
        "createArtifactFiles": create_files,
        "commitArtifact": commit,
        "useArtifact": use,
        "updateArtifact": update,
        "deleteArtifact": delete,
        "createArtifactType": create_type,
        "addAliases": edit_aliases(True),
        "deleteAliases": edit_aliases(False),
    }


def _require_version_write(ctx: Any, version_id: int, what: str) -> None:
    """Raise unless the caller may change the version: "no such artifact" when they may not even read it."""
    version = _reload(ctx, version_id)
    if version is None:
        raise GraphQLError(f"{what}: no such artifact")
    ctx.require_write(version.entity, what)


def _commit(ctx: Any, item: PendingArtifact) -> int:
    if item.manifest is None:
        raise GraphQLError(f"commitArtifact: the manifest of {item.name!r} was never uploaded")
    contents = item.manifest.get("contents")
    if not isinstance(contents, dict):
        raise GraphQLError("commitArtifact: the uploaded manifest has no contents")
    files: list[list[Any]] = []
    missing: list[str] = []
    for path, entry in sorted(contents.items()):
        if not isinstance(entry, dict):
            continue
        size = int(entry.get("size") or 0)
        md5 = str(entry.get("digest") or "")
        if entry.get("ref"):
            files.append([path, md5, size, str(entry["ref"])])
            continue
        upload = item.uploads.get(path)
        key = upload[0] if upload is not None and upload[2] == md5 else None
        if key is None:
            key = _earlier_blob(ctx, item, path, entry, md5, size)
        if key is None:
            missing.append(path)
            continue
        files.append([path, key, size, None])
    if missing:
        raise GraphQLError(
            f"commitArtifact: no uploaded content for {missing[:3]} ({len(missing)} file(s)); log the artifact again"
        )
    body = {
        "name": item.name,
        "type": item.type,
        "digest": manifest_digest(files),
        "description": item.description,
        "metadata": item.metadata,
        "aliases": [a for a in item.aliases if a != "latest"],
        "files": files,
    }
    try:
        run_id = item.run_id
        if run_id is not None and ctx.store.get_run(item.entity, item.project, run_id) is None:
            run_id = None
        version: ArtifactVersion = ctx.store.artifacts.commit(item.entity, item.project, body, run_id=run_id)
    except (ConflictError, NotFoundError, StoreError) as exc:
        raise GraphQLError(f"commitArtifact: {exc}") from exc
    return version.id


def _earlier_blob(ctx: Any, item: PendingArtifact, path: str, entry: dict[str, Any], md5: str, size: int) -> str | None:
    """The blob of a file the client did not upload again (an incremental artifact, or one already stored)."""
    for candidate in (entry.get("birthArtifactID"), item.base_id):
        vid = _version_id_of(ctx, candidate)
        if vid is None:
            continue
        for f in ctx.store.artifacts.files(vid):
            if f.path == path and f.blob_key and f.size == size and _blob_md5(ctx, f.blob_key, size) == md5:
                return str(f.blob_key)
    known: str | None = ctx.pending.blob_by_md5(md5, size)
    return known
