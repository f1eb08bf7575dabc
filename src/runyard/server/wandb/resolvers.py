"""The root of wandb's GraphQL: the queries and mutations the client sends, resolved from the store.

Queries: ``viewer``, ``serverInfo``, ``entity``, ``project``/``model``, ``models``. Mutations: ``upsertBucket``
(a client run's init and updates, and ``wandb.Api`` edits), ``createRunFiles``, ``stopRun``, ``deleteRun``
(``wandb.Api().run(path).delete()``); the sweep operations (:mod:`runyard.server.wandb.sweeps`) and the artifact
operations (:mod:`runyard.server.wandb.artifacts`). ``completeMultipartUploadArtifact`` and ``linkArtifact`` answer an
error that names them; any other unknown root field is ``null``. Either is logged once at warning level.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from graphql import GraphQLError

from runyard.errors import ConflictError, NotFoundError
from runyard.server.access import can_write
from runyard.server.wandb.artifacts import artifact_mutations, query_artifact
from runyard.server.wandb.convert import decode_run_id, loads_object, run_storage_id, unwrap_config
from runyard.server.wandb.graphql import Obj, Operation
from runyard.server.wandb.objects import Context, entity_obj, page_info, project_obj, run_obj, user_obj
from runyard.server.wandb.sessions import RunFields, Sessions
from runyard.server.wandb.sweeps import SWEEP_OPERATIONS, sweep_mutations

__all__ = ["KNOWN_OPERATIONS", "mutation_root", "query_root", "warn_once"]

log = logging.getLogger("runyard.server.wandb")

KNOWN_OPERATIONS = frozenset(
    {
        "Viewer",
        "GetViewer",
        "GetDefaultEntity",
        "ServerFeaturesQuery",
        "ServerInfo",
        "OrganizationCoreWeaveOrganizationID",
        "UpsertBucket",
        "CreateRunFiles",
        "RunResumeStatus",
        "RunStoppedStatus",
        "StopRun",
        "DeleteRun",
        "Run",
        "Runs",
        "RunState",
        "RunFullHistory",
        "RunSampledHistory",
        "RunHistoryKeys",
        "RunParquetHistory",
        "HistoryPage",
        "SampledHistoryPage",
        "RunFiles",
        "RunOutputArtifacts",
        "RunInputArtifacts",
        "GetProjects",
        "Project",
        "ArtifactType",
        "ArtifactByID",
        "ArtifactMembershipByName",
        "FetchArtifactManifest",
        "ArtifactManifest",
        "GetArtifactMembershipFileUrls",
        "ArtifactFileURLsByManifestEntries",
        "ArtifactMembershipFiles",
        "ArtifactCreatedBy",
        "ArtifactUsedBy",
        "ProjectArtifacts",
        "ProjectArtifactTypes",
        "ProjectArtifactType",
        "ProjectArtifactCollections",
        "ProjectArtifactCollection",
        "CreateArtifact",
        "CreateArtifactManifest",
        "UpdateArtifactManifest",
        "CreateArtifactFiles",
        "CommitArtifact",
        "UseArtifact",
        "UpdateArtifact",
        "DeleteArtifact",
        "AddAliases",
        "DeleteAliases",
    }
    | SWEEP_OPERATIONS
)

_UNSUPPORTED_MUTATIONS = frozenset({"completeMultipartUploadArtifact", "linkArtifact"})

_warned: set[str] = set()
_warned_lock = threading.Lock()


def warn_once(what: str, message: str) -> None:
    """Log ``message`` at warning level the first time ``what`` happens in this process."""
    with _warned_lock:
        if what in _warned:
            return
        _warned.add(what)
    log.warning(message)


def query_root(ctx: Context) -> Obj:
    """The ``Query`` object."""

    def project(args: dict[str, Any]) -> Obj:
        entity = args.get("entityName") or args.get("entity") or ctx.caller.entity
        name = args.get("name") or args.get("project") or "uncategorized"
        return project_obj(ctx, str(entity), str(name), ctx.store.get_project(str(entity), str(name)))

    def models(args: dict[str, Any]) -> Obj:
        entity = args.get("entityName") or ctx.caller.entity
        found = ctx.store.list_projects(str(entity))
        offset = int(args["after"]) if str(args.get("after") or "").isdigit() else 0
        first = max(0, min(int(args.get("first") or 50), 1000))
        page = found[offset : offset + first]
        edges = [
            Obj("ProjectEdge", {"node": project_obj(ctx, p.entity, p.name, p), "cursor": str(offset + i + 1)})
            for i, p in enumerate(page)
        ]
        return Obj(
            "ProjectConnection",
            {"edges": edges, "pageInfo": page_info(offset + len(page), offset + first < len(found))},
        )

    return Obj(
        "Query",
        {
            "viewer": user_obj(ctx.caller),
            # cliVersionInfo: an object (never null: wandb 0.29 calls .get on it when a Table holds images).
            "serverInfo": Obj("ServerInfo", {"features": [], "cliVersionInfo": {}, "latestLocalVersionInfo": None}),
            "entity": lambda a: entity_obj(str(a.get("name") or ctx.caller.entity)),
            "project": project,
            "artifact": query_artifact(ctx),
            "model": project,
            "models": models,
            "projects": models,
        },
    )


def mutation_root(ctx: Context, sessions: Sessions, op: Operation) -> Obj:
    """The ``Mutation`` object."""

    def upsert_bucket(args: dict[str, Any]) -> Obj:
        inp = args.get("input") or {}
        ids = decode_run_id(inp.get("id"))
        if inp.get("name") is None and ids is not None and not inp.get("modelName"):
            return _edit_run(ctx, ids, inp)
        run_id = inp.get("name") or (ids[2] if ids else None)
        if not isinstance(run_id, str) or not run_id:
            raise GraphQLError("upsertBucket needs the run's name (its id)")
        project = str(inp.get("modelName") or (ids[1] if ids else "") or "uncategorized")
        entity = str(inp.get("entityName") or (ids[0] if ids else "") or ctx.caller.entity)
        if not can_write(ctx.caller.user, entity):
            raise GraphQLError(
                f"permission denied: {ctx.caller.username} may not log runs to {entity}/{project} (log to your own "
                f"entity {ctx.caller.entity!r}, or ask an admin of {entity!r} for the member role)"
            )
        existed = ctx.store.get_run(entity, project, run_id) is not None
        tags = inp.get("tags")
        fields = RunFields(
            display_name=inp.get("displayName"),
            notes=inp.get("notes") if inp.get("notes") is not None else inp.get("description"),
            tags=[str(t) for t in tags] if isinstance(tags, list) else None,
            group=inp.get("groupName"),
            job_type=inp.get("jobType"),
            host=inp.get("host"),
            program=inp.get("jobProgram"),
            config=loads_object(inp["config"]) if inp.get("config") is not None else None,
            commit=inp.get("commit"),
            repo=inp.get("jobRepo"),
        )
        sessions.upsert(entity, project, run_id, fields, ctx.caller.username)
        stored = ctx.store.get_run(entity, project, run_id)
        if stored is None:
            raise GraphQLError(f"run {entity}/{project}/{run_id} could not be stored")
        return Obj("UpsertBucketPayload", {"bucket": run_obj(ctx, stored), "inserted": not existed})

    def create_run_files(args: dict[str, Any]) -> Obj:
        inp = args.get("input") or {}
        entity = str(inp.get("entityName") or ctx.caller.entity)
        project = str(inp.get("projectName") or "uncategorized")
        run_id = str(inp.get("runName") or "")
        names = [n for n in inp.get("files") or () if isinstance(n, str)]
        files = [
            Obj("File", {"name": n, "uploadUrl": ctx.file_url("put", entity, project, run_id, n), "uploadHeaders": []})
            for n in names
        ]
        # The run's id when it exists, as W&B answers: wandb.Api().run(path).upload_file() needs it.
        exists = run_id and ctx.store.get_run(entity, project, run_id) is not None
        run_key = run_storage_id(entity, project, run_id) if exists else None
        return Obj("CreateRunFilesPayload", {"runID": run_key, "uploadHeaders": [], "files": files})

    def stop_run(args: dict[str, Any]) -> Obj:
        ids = decode_run_id((args.get("input") or {}).get("id"))
        if ids is None:
            raise GraphQLError("stopRun: unknown run id")
        try:
            ctx.store.request_stop(*ids)
        except NotFoundError as exc:
            raise GraphQLError(str(exc)) from exc
        except ConflictError:
            return Obj("StopRunPayload", {"success": False})
        return Obj("StopRunPayload", {"success": True})

    def delete_run(args: dict[str, Any]) -> Obj:
        inp = args.get("input") or {}
        ids = decode_run_id(inp.get("id"))
        if ids is None:
            raise GraphQLError("deleteRun: unknown run id")
        if not ctx.store.delete_run(*ids):
            raise GraphQLError(f"deleteRun: run {'/'.join(ids)} does not exist")
        sessions.forget(*ids)
        return Obj("DeleteRunPayload", {"clientMutationId": inp.get("clientMutationId"), "success": True})

    fields: dict[str, Any] = {
        "upsertBucket": upsert_bucket,
        "createRunFiles": create_run_files,
        "stopRun": stop_run,
        "deleteRun": delete_run,
        # Files are stored when PUT; the client's own notice of it needs no answer beyond success.
        "markRunFilesUploaded": Obj("MarkRunFilesUploadedPayload", {"success": True}),
        **sweep_mutations(ctx),
    }
    fields.update(artifact_mutations(ctx))
    for name in _UNSUPPORTED_MUTATIONS:
        fields[name] = _artifacts_unsupported(name)
    return Obj("Mutation", fields)


def _artifacts_unsupported(name: str) -> Any:
    def fail(_args: dict[str, Any]) -> None:
        warn_once(
            f"artifact:{name}",
            f"wandb client: {name} is not supported yet; the run's other data is stored",
        )
        raise GraphQLError(f"{name}: this runyard server does not support it yet")

    return fail


def _edit_run(ctx: Context, ids: tuple[str, str, str], inp: dict[str, Any]) -> Obj:
    """``wandb.Api``'s ``run.update()`` / ``run.summary.update()``: an edit of a stored run."""
    entity, project, run_id = ids
    config = unwrap_config(loads_object(inp["config"]))[0] if inp.get("config") is not None else None
    summary = loads_object(inp["summaryMetrics"]) if inp.get("summaryMetrics") is not None else None
    if summary is not None:
        summary.pop("_wandb", None)
    tags = inp.get("tags")
    try:
        found = ctx.store.update_run(
            entity,
            project,
            run_id,
            name=inp.get("displayName"),
            notes=inp.get("notes") if inp.get("notes") is not None else inp.get("description"),
            tags=[str(t) for t in tags] if isinstance(tags, list) else None,
            config=config,
            summary=summary,
        )
    except NotFoundError as exc:
        raise GraphQLError(str(exc)) from exc
    return Obj("UpsertBucketPayload", {"bucket": run_obj(ctx, found), "inserted": False})
