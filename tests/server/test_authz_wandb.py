"""The wandb protocol's authorization matrix: every GraphQL operation the server knows (KNOWN_OPERATIONS, so a new
operation cannot skip it), ``file_stream`` and the signed file URLs, for each caller on a private and a public
project of a team.

The wandb client always sends a key: without one every call is 401. With one, what the key's user may read is
answered, and what they may not is "not found" (``null``, or an error that names nothing private); a change they
may not make is an error the client shows (``errors[0].message``).
"""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from authz import (
    CALLERS,
    MARKER,
    PRIVATE_PROJECT,
    PUBLIC_PROJECT,
    RUN,
    TEAM,
    Server,
    grid_sweep,
    open_store,
    run_records,
    seed,
    serve,
)

from runyard.server.access import PRIVATE, PUBLIC, can_read, can_write
from runyard.server.wandb.convert import run_storage_id
from runyard.server.wandb.resolvers import KNOWN_OPERATIONS


@dataclass
class Op:
    """One operation: its rule (``open``, ``read``, ``write``), document, variables, and where its answer is."""

    rule: str
    query: str
    variables: Callable[[Server, str], dict[str, Any]]
    path: tuple[str, ...]


def _base(server: Server, project: str) -> dict[str, Any]:
    return {"entity": TEAM, "project": project, "name": RUN}


def _run_op(fields: str) -> str:
    return (
        "query OP($entity: String!, $project: String!, $name: String!) "
        f"{{ project(name: $project, entityName: $entity) {{ run(name: $name) {{ {fields} }} }} }}"
    )


def _project_op(fields: str) -> str:
    head = "query OP($entity: String!, $project: String!)"
    return f"{head} {{ project(name: $project, entityName: $entity) {{ {fields} }} }}"


def _version_id(server: Server, project: str) -> str:
    version = server.store.artifacts.get("data:v0", TEAM, project)
    return base64.b64encode(f"Artifact:{version.id}".encode()).decode()


def _with_artifact(server: Server, project: str) -> dict[str, Any]:
    return {"id": _version_id(server, project), "entity": TEAM, "project": project}


def _new_version(server: Server, project: str) -> dict[str, Any]:
    """A version made for the case (deleting or re-aliasing it changes nothing other cases read)."""
    content = uuid.uuid4().bytes
    files = [["a.txt", server.store.artifacts.blobs.put(content), len(content), None]]
    run_id = f"art-{uuid.uuid4().hex[:8]}"
    server.store.ingest(run_records(project, run_id, secret=project == PRIVATE_PROJECT, artifact=files))
    [version] = server.store.artifacts.run_artifacts(TEAM, project, run_id, "logged")
    return {"id": base64.b64encode(f"Artifact:{version.id}".encode()).decode()}


def _new_run(server: Server, project: str) -> dict[str, Any]:
    run_id = f"del-{uuid.uuid4().hex[:8]}"
    server.store.ingest(run_records(project, run_id, secret=project == PRIVATE_PROJECT))
    return {"id": run_storage_id(TEAM, project, run_id)}


def _sweep(server: Server, project: str) -> dict[str, Any]:
    return {"entity": TEAM, "project": project, "sweep": grid_sweep(server.store, project)}


def _agent(server: Server, project: str) -> dict[str, Any]:
    sweep = server.store.sweeps.get(TEAM, project, grid_sweep(server.store, project))
    assert sweep is not None
    return {"id": server.store.sweeps.register_agent(sweep, host="h", pid=1)}


_VIEWER = "query OP { viewer { id username entity } }"
_SERVER = "query OP { serverInfo { cliVersionInfo } }"
_ARTIFACT = "query OP($id: ID!) { artifact(id: $id) { id digest } }"
_SWEEP = _project_op("sweep(sweepName: $sweep) { id state config }").replace(
    "$project: String!)", "$project: String!, $sweep: String)"
)
_UPSERT = (
    "mutation OP($entity: String, $project: String, $name: String) { upsertBucket(input: "
    "{entityName: $entity, modelName: $project, name: $name}) { bucket { id } } }"
)

OPS: dict[str, Op] = {
    **{
        name: Op("open", _VIEWER, lambda s, p: {}, ("viewer",))
        for name in ("Viewer", "GetViewer", "GetDefaultEntity", "OrganizationCoreWeaveOrganizationID")
    },
    **{name: Op("open", _SERVER, lambda s, p: {}, ("serverInfo",)) for name in ("ServerFeaturesQuery", "ServerInfo")},
    "Run": Op("read", _run_op("id name displayName config summaryMetrics notes"), _base, ("project", "run")),
    "RunState": Op("read", _run_op("state"), _base, ("project", "run")),
    "RunFullHistory": Op("read", _run_op("history(samples: 10)"), _base, ("project", "run")),
    "RunSampledHistory": Op(
        "read", _run_op('sampledHistory(specs: ["{\\"keys\\": [\\"loss\\"]}"])'), _base, ("project", "run")
    ),
    "RunHistoryKeys": Op("read", _run_op("historyKeys"), _base, ("project", "run")),
    "RunParquetHistory": Op("read", _run_op("parquetHistory { parquetUrls }"), _base, ("project", "run")),
    "HistoryPage": Op("read", _run_op("history(minStep: 0, maxStep: 3, samples: 10)"), _base, ("project", "run")),
    "SampledHistoryPage": Op(
        "read",
        _run_op('sampledHistory(specs: ["{\\"keys\\": [\\"loss\\"], \\"minStep\\": 0, \\"maxStep\\": 2}"])'),
        _base,
        ("project", "run"),
    ),
    "RunFiles": Op("read", _run_op("files { edges { node { name url } } }"), _base, ("project", "run")),
    "RunOutputArtifacts": Op("read", _run_op("outputArtifacts { edges { node { id } } }"), _base, ("project", "run")),
    "RunInputArtifacts": Op("read", _run_op("inputArtifacts { edges { node { id } } }"), _base, ("project", "run")),
    "RunResumeStatus": Op("read", _run_op("historyLineCount config"), _base, ("project", "run")),
    "RunStoppedStatus": Op("read", _run_op("stopped"), _base, ("project", "run")),
    "Project": Op("read", _project_op("id name runCount"), _base, ("project",)),
    "Runs": Op("read", _project_op("runs(first: 10) { edges { node { name config } } }"), _base, ("project",)),
    "GetProjects": Op(
        "list", "query OP($entity: String) { models(entityName: $entity) { edges { node { name } } } }", _base, ()
    ),
    "ProjectArtifacts": Op(
        "read",
        _project_op("artifactCollections { edges { node { name } } }"),
        _base,
        ("project", "artifactCollections"),
    ),
    "ProjectArtifactTypes": Op(
        "read", _project_op("artifactTypes { edges { node { name } } }"), _base, ("project", "artifactTypes")
    ),
    "ProjectArtifactType": Op(
        "read", _project_op('artifactType(name: "dataset") { name }'), _base, ("project", "artifactType")
    ),
    "ProjectArtifactCollections": Op(
        "read",
        _project_op('artifactType(name: "dataset") { artifactCollections { edges { node { name } } } }'),
        _base,
        ("project", "artifactType"),
    ),
    "ProjectArtifactCollection": Op(
        "read", _project_op('artifactCollection(name: "data") { name }'), _base, ("project", "artifactCollection")
    ),
    "ArtifactType": Op("read", _project_op('artifact(name: "data:v0") { id }'), _base, ("project", "artifact")),
    "ArtifactMembershipByName": Op(
        "read",
        _project_op('artifactCollectionMembership(name: "data:v0") { id }'),
        _base,
        ("project", "artifactCollectionMembership"),
    ),
    **{
        name: Op("read", _ARTIFACT, _with_artifact, ("artifact",))
        for name in (
            "ArtifactByID",
            "FetchArtifactManifest",
            "ArtifactManifest",
            "GetArtifactMembershipFileUrls",
            "ArtifactFileURLsByManifestEntries",
            "ArtifactMembershipFiles",
            "ArtifactCreatedBy",
            "ArtifactUsedBy",
        )
    },
    **{
        name: Op("read", _SWEEP, _sweep, ("project", "sweep"))
        for name in ("SweepWithRuns", "GetSweep", "GetSweepLegacy", "GetSweepState")
    },
    "UpsertBucket": Op(
        "write", _UPSERT, lambda s, p: {"entity": TEAM, "project": p, "name": f"new-{uuid.uuid4().hex[:8]}"}, ()
    ),
    "CreateRunFiles": Op(
        "write",
        "mutation OP($entity: String!, $project: String!, $name: String!) { createRunFiles(input: {entityName: "
        '$entity, projectName: $project, runName: $name, files: ["x.txt"]}) { files { name uploadUrl } } }',
        _base,
        (),
    ),
    "StopRun": Op(
        "write",
        "mutation OP($id: String!) { stopRun(input: {id: $id}) { success } }",
        lambda s, p: {"id": run_storage_id(TEAM, p, RUN)},
        (),
    ),
    "DeleteRun": Op("write", "mutation OP($id: String!) { deleteRun(input: {id: $id}) { success } }", _new_run, ()),
    "CreateArtifact": Op(
        "write",
        "mutation OP($entity: String!, $project: String!) { createArtifact(input: {entityName: $entity, projectName: "
        '$project, artifactCollectionName: "made", artifactTypeName: "dataset", digest: "d1"}) { artifact { id } } }',
        _base,
        (),
    ),
    "UseArtifact": Op(
        "write",
        "mutation OP($id: ID!, $entity: String!, $project: String!) { useArtifact(input: {artifactID: $id, "
        "entityName: $entity, projectName: $project}) { artifact { id } } }",
        _with_artifact,
        (),
    ),
    "UpdateArtifact": Op(
        "write",
        'mutation OP($id: ID!) { updateArtifact(input: {artifactID: $id, description: "d"}) { artifact { id } } }',
        _new_version,
        (),
    ),
    "DeleteArtifact": Op(
        "write",
        "mutation OP($id: ID!) { deleteArtifact(input: {artifactID: $id, deleteAliases: true}) { artifact { id } } }",
        _new_version,
        (),
    ),
    "AddAliases": Op(
        "write",
        'mutation OP($id: ID!) { addAliases(input: {artifactID: $id, aliases: [{alias: "x"}]}) { success } }',
        _new_version,
        (),
    ),
    "DeleteAliases": Op(
        "write",
        'mutation OP($id: ID!) { deleteAliases(input: {artifactID: $id, aliases: [{alias: "x"}]}) { success } }',
        _new_version,
        (),
    ),
    "UpsertSweep": Op(
        "write",
        "mutation OP($entity: String, $project: String) { upsertSweep(input: {entityName: $entity, projectName: "
        '$project, config: "method: grid\\nparameters:\\n  x:\\n    values: [1]\\n"}) { sweep { id } } }',
        _base,
        (),
    ),
    "CreateAgent": Op(
        "write",
        "mutation OP($entity: String, $project: String, $sweep: String) { createAgent(input: {entityName: $entity, "
        'projectName: $project, sweep: $sweep, host: "h"}) { agent { id } } }',
        _sweep,
        (),
    ),
    "Heartbeat": Op(
        "write", 'mutation OP($id: ID!) { agentHeartbeat(input: {id: $id, runState: "{}"}) { commands } }', _agent, ()
    ),
}

# Operations on an artifact being logged: they name it by the id createArtifact handed out (a random key), so
# only the caller that createArtifact allowed (a member) ever holds one; an unknown id is refused for everyone.
PENDING = {"CreateArtifactManifest", "UpdateArtifactManifest", "CreateArtifactFiles", "CommitArtifact"}


def test_every_operation_is_in_the_table() -> None:
    assert set(OPS) | PENDING == set(KNOWN_OPERATIONS)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Any:
    tmp = tmp_path_factory.mktemp("authz-wandb")
    store = open_store(f"sqlite:///{tmp}/store/runyard.db", tmp)
    keys = seed(store)
    with serve(store, keys) as running:
        yield running
    store.close()


def _graphql(server: Server, caller: str, name: str, query: str, variables: dict[str, Any]) -> httpx.Response:
    auth = ("api", server.keys[caller]) if caller in server.keys else None
    body = {"query": query.replace("OP", name, 1), "operationName": name, "variables": variables}
    return httpx.post(f"{server.url}/graphql", json=body, auth=auth, timeout=60)


def _at(data: Any, path: tuple[str, ...]) -> Any:
    for key in path:
        data = data.get(key) if isinstance(data, dict) else None
    return data


@pytest.mark.parametrize("visibility", [PRIVATE, PUBLIC])
@pytest.mark.parametrize("caller", list(CALLERS))
@pytest.mark.parametrize("name", sorted(OPS))
def test_operation_answers_what_access_allows(server: Server, name: str, caller: str, visibility: str) -> None:
    op = OPS[name]
    user = CALLERS[caller]
    project = PUBLIC_PROJECT if visibility == PUBLIC else PRIVATE_PROJECT
    response = _graphql(server, caller, name, op.query, op.variables(server, project))
    if user.anonymous:
        assert response.status_code == 401
        return
    assert response.status_code == 200, response.text
    answer = response.json()
    readable = can_read(user, TEAM, visibility)
    if not readable:
        assert MARKER not in response.text
    if op.rule == "open":
        assert "errors" not in answer and _at(answer["data"], op.path) is not None
    elif op.rule == "list":
        names = [e["node"]["name"] for e in answer["data"]["models"]["edges"]]
        assert (project in names) == readable, names
    elif op.rule == "read":
        assert (_at(answer["data"], op.path) is not None) == readable, response.text[:500]
    else:
        allowed = readable and can_write(user, TEAM)
        assert ("errors" not in answer) == allowed, response.text[:500]
        if not allowed:
            message = answer["errors"][0]["message"]
            # Run-level changes: "not found" for who may not read the run. Entity-level ones (a new run, sweep or
            # artifact) are refused alike whether or not anything exists there.
            hidden = "not found" in message or "no such" in message
            assert "permission denied" in message or (not readable and hidden), message


def test_upsert_into_another_entity_is_refused_with_a_message_the_client_shows(server: Server) -> None:
    response = _graphql(
        server, "outsider", "UpsertBucket", _UPSERT, {"entity": TEAM, "project": "anything", "name": "x1"}
    )
    message = response.json()["errors"][0]["message"]
    assert "permission denied" in message and repr(TEAM) in message and "WANDB_ENTITY" in message
    assert server.store.get_run(TEAM, "anything", "x1") is None
    # Into the caller's own entity it is stored.
    own = _graphql(server, "outsider", "UpsertBucket", _UPSERT, {"entity": "otto", "project": "p", "name": "x2"})
    assert "errors" not in own.json() and server.store.get_run("otto", "p", "x2") is not None


@pytest.mark.parametrize("caller", list(CALLERS))
@pytest.mark.parametrize("visibility", [PRIVATE, PUBLIC])
def test_file_stream_needs_write_access(server: Server, caller: str, visibility: str) -> None:
    user = CALLERS[caller]
    project = PUBLIC_PROJECT if visibility == PUBLIC else PRIVATE_PROJECT
    auth = ("api", server.keys[caller]) if caller in server.keys else None
    history = {"wandb-history.jsonl": {"offset": 0, "content": [json.dumps({"_step": 0, "loss": 0.5})]}}
    response = httpx.post(
        f"{server.url}/files/{TEAM}/{project}/{RUN}/file_stream", json={"files": history}, auth=auth, timeout=60
    )
    readable = can_read(user, TEAM, visibility)
    want = 401 if user.anonymous else (404 if not readable else (200 if can_write(user, TEAM) else 403))
    assert response.status_code == want, response.text


def test_signed_file_urls_are_scoped_to_one_file_and_expire(server: Server) -> None:
    query = _run_op("files { edges { node { name url } } }")
    answer = _graphql(server, "member", "RunFiles", query, _base(server, PRIVATE_PROJECT)).json()
    urls = {e["node"]["name"]: e["node"]["url"] for e in answer["data"]["project"]["run"]["files"]["edges"]}
    url = urls["notes.txt"]
    assert httpx.get(url).content == f"file-{MARKER}".encode()  # no key needed: the URL is the grant
    body, mac = url.rsplit("/", 1)[1].split(".")
    fields = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    # The same signature over another file, another run, or a later expiry grants nothing.
    for changed in (
        [*fields[:4], "config.yaml", fields[5]],
        [fields[0], fields[1], PUBLIC_PROJECT, *fields[3:]],
        [*fields[:5], fields[5] + 3600],
    ):
        forged = base64.urlsafe_b64encode(json.dumps(changed).encode()).decode().rstrip("=")
        response = httpx.get(f"{url.rsplit('/', 1)[0]}/{forged}.{mac}")
        assert response.status_code == 403 and MARKER not in response.text
    # An expired token: minted with a past expiry by the server's own signer.
    from runyard.server.wandb.storage import FileRef

    hub = server.app.state.wandb_hub
    expired = hub.signer.token(FileRef("get", TEAM, PRIVATE_PROJECT, RUN, "notes.txt"), ttl=-1)
    assert httpx.get(f"{url.rsplit('/', 1)[0]}/{expired}").status_code == 403
    # An outsider never receives a URL of a private run's file.
    outsider = _graphql(server, "outsider", "RunFiles", query, _base(server, PRIVATE_PROJECT)).json()
    assert outsider["data"]["project"] is None


def test_an_unknown_pending_artifact_is_refused_for_everyone(server: Server) -> None:
    fake = base64.b64encode(b"Artifact:pending:" + uuid.uuid4().hex.encode()).decode()
    query = "mutation CommitArtifact($id: ID!) { commitArtifact(input: {artifactID: $id}) { artifact { id } } }"
    for caller in ("member", "outsider"):
        response = _graphql(server, caller, "CommitArtifact", query, {"id": fake})
        assert response.json().get("errors"), response.text
