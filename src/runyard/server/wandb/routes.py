"""The HTTP endpoints of W&B's wire protocol: ``POST /graphql``, ``POST /files/{entity}/{project}/{run}/file_stream``
and the capability URLs of run files (``PUT``/``GET /wandb/storage/{token}``).
"""

from __future__ import annotations

import base64
import json
import re
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response, StreamingResponse
from graphql import GraphQLError
from starlette.concurrency import run_in_threadpool

from runyard.server.auth import KeyCache, key_cache
from runyard.server.bodies import MAX_PROTOCOL_BODY, inflate
from runyard.server.deps import get_store
from runyard.server.errors import ApiError
from runyard.server.guards import require_run
from runyard.server.wandb.artifacts import MANIFEST_NAME, Pending, manifest_of, md5_of_stream
from runyard.server.wandb.auth import AuthError, Caller, caller_of, unauthorized_body
from runyard.server.wandb.graphql import execute, parse_operation
from runyard.server.wandb.objects import Context
from runyard.server.wandb.resolvers import KNOWN_OPERATIONS, mutation_root, query_root, warn_once
from runyard.server.wandb.sessions import OUTPUT, Sessions
from runyard.server.wandb.storage import Signer
from runyard.store.file_writes import safe_file_name

__all__ = ["MAX_BLOB_FILE_BYTES", "MAX_FILE_BYTES", "router"]

router = APIRouter(include_in_schema=False)

MAX_FILE_BYTES = 64 * 1024 * 1024
"""The largest run file a client may upload to a store without blobs (its run files live in the database)."""

MAX_BLOB_FILE_BYTES = 8 * 1024 * 1024 * 1024
"""The largest run file a client may upload to a store with blobs (``runyard server --blobs``): the upload is
spooled to a temporary file, then written to the blob store, never held whole in memory or in the database
(downloads are streamed too). The bound is the temporary space an upload takes while its hash is computed."""

_SPOOL_BYTES = 8 * 1024 * 1024

# Derived on read from the run's stored data (see runyard.store.run_files): an uploaded copy would only go
# stale when the run is edited, and output.log would store every console line twice.
_DERIVED_FILES = frozenset({OUTPUT, "config.yaml"})

_hub_lock = threading.Lock()


@dataclass
class Hub:
    """The wandb protocol's state in one app: open client runs, the key cache, the URL signer."""

    sessions: Sessions
    keys: KeyCache
    signer: Signer
    pending: Pending


def hub_of(request: Request) -> Hub:
    state = request.app.state
    with _hub_lock:
        hub: Hub | None = getattr(state, "wandb_hub", None)
        if hub is None:
            store = get_store(request)
            # The URL secret is the store's: a URL one replica signs is good at every other.
            signer = Signer(store.server_state.secret("file-urls"))
            hub = Hub(Sessions(store), key_cache(request), signer, Pending(store))
            state.wandb_hub = hub
    return hub


def _json(data: Any, status: int = 200) -> Response:
    # NaN and infinities as JSON tokens: the client's parsers read them, and run data may hold them.
    return Response(json.dumps(data, default=str), status_code=status, media_type="application/json")


async def _body(request: Request) -> Any:
    """The request's JSON body, inflated if compressed; both bounded (see runyard.server.bodies)."""
    raw = await inflate(request.stream(), request.headers.get("content-encoding", ""), MAX_PROTOCOL_BODY)
    try:
        return json.loads(raw) if raw else {}
    except ValueError as exc:
        raise ApiError(400, f"the request body is not JSON: {exc}") from exc


@router.post("/graphql")
async def graphql(request: Request) -> Response:
    """Run one GraphQL operation of the wandb client."""
    hub = hub_of(request)
    # The key first: a caller without one costs no read of the body, let alone its inflation.
    caller = await _caller(request, hub)
    if isinstance(caller, Response):
        return caller
    body = await _body(request)
    if not isinstance(body, dict) or not isinstance(body.get("query"), str):
        return _json({"errors": [{"message": "expected {query, operationName, variables}"}]}, 400)
    try:
        op = parse_operation(body["query"], body.get("operationName"), body.get("variables"))
    except GraphQLError as exc:
        return _json({"errors": [{"message": exc.message}]}, 400)
    data, errors = await run_in_threadpool(_run_operation, request, hub, caller, op)
    return _json({"data": data, "errors": errors} if errors else {"data": data})


def _run_operation(request: Request, hub: Hub, caller: Caller, op: Any) -> tuple[dict[str, Any], list[Any]]:
    ctx = Context(
        hub.sessions.store,
        caller,
        str(request.base_url),
        hub.signer,
        hub.sessions.expect_resume,
        op.variables,
        hub.pending,
    )
    root = mutation_root(ctx, hub.sessions, op) if op.kind == "mutation" else query_root(ctx)
    unknown = [name for name in op.root_fields if name not in root.fields and name != "__typename"]
    if op.name not in KNOWN_OPERATIONS or unknown:
        warn_once(
            f"op:{op.name}:{','.join(unknown)}",
            f"wandb client: unsupported operation {op.name or '(unnamed)'}"
            + (f" (fields {', '.join(unknown)} answer null)" if unknown else " (answered from known fields)"),
        )
    return execute(op, root)


@router.post("/files/{entity}/{project}/{run_id}/file_stream")
async def file_stream(entity: str, project: str, run_id: str, request: Request) -> Response:
    """History, summary, console and system rows of a live run; also its heartbeat and completion."""
    hub = hub_of(request)
    caller = await _caller(request, hub)
    if isinstance(caller, Response):
        return caller
    # Before the body is read: a caller who may not write the run costs no inflation of it.
    await run_in_threadpool(require_run, hub.sessions.store, caller.user, entity, project, run_id, "write")
    body = await _body(request)
    if not isinstance(body, dict):
        raise ApiError(400, "a file_stream request is a JSON object")

    def apply() -> bool:
        return hub.sessions.file_stream(entity, project, run_id, caller.username, body)

    stopped = await run_in_threadpool(apply)
    answer: dict[str, Any] = {"exitcode": None, "limits": {}}
    if stopped:
        answer["stopped"] = True
    return _json(answer)


@router.put("/wandb/storage/{token}")
async def upload(token: str, request: Request) -> Response:
    """Receive a run file the client was handed an upload URL for (no credentials: the token is the grant)."""
    hub = hub_of(request)
    ref = hub.signer.check(token, "put")
    if ref is None:
        raise ApiError(403, "this upload URL is invalid or has expired")
    try:
        safe_file_name(ref.name)  # the store makes it safe; one that names nothing is refused before the upload
    except ValueError as exc:
        raise ApiError(400, str(exc)) from None
    sessions = hub.sessions
    blobs = sessions.store.blobs
    limit = MAX_FILE_BYTES if blobs is None else MAX_BLOB_FILE_BYTES
    too_large = ApiError(
        413,
        f"run files are limited to {limit} bytes"
        + (" (files of a server without --blobs are kept in its database)" if blobs is None else ""),
    )
    size = int(request.headers.get("content-length") or 0)
    if size > limit:
        raise too_large
    # Spooled (memory, then a temporary file) and counted as it arrives: a body without a length, or longer
    # than it said, is cut off at the limit.
    with tempfile.SpooledTemporaryFile(max_size=_SPOOL_BYTES) as spool:
        received = 0
        async for chunk in request.stream():
            received += len(chunk)
            if received > limit:
                raise too_large
            if ref.name not in _DERIVED_FILES:
                spool.write(chunk)
        if ref.name in _DERIVED_FILES:
            return Response(status_code=200)
        spool.seek(0)

        def store_file() -> None:
            if blobs is None:
                sessions.add_upload(ref.entity, ref.project, ref.run_id, ref.name, spool.read())
                return
            # The record that reaches the database only names the blob.
            key, stored = blobs.put_stream(iter(lambda: spool.read(1024 * 1024), b""))
            sessions.add_upload(ref.entity, ref.project, ref.run_id, ref.name, blob=(key, stored))

        await run_in_threadpool(store_file)
    return Response(status_code=200)


@router.get("/wandb/storage/{token}")
async def download(token: str, request: Request) -> Response:
    """Send a run file the client was handed a download URL for."""
    hub = hub_of(request)
    ref = hub.signer.check(token, "get")
    if ref is None:
        raise ApiError(403, "this download URL is invalid or has expired")
    found = await run_in_threadpool(hub.sessions.store.file_stream, ref.entity, ref.project, ref.run_id, ref.name)
    if found is None:
        raise ApiError(404, f"no file {ref.name!r} in run {ref.entity}/{ref.project}/{ref.run_id}")
    size, chunks = found
    # Streamed (chunks are read in a worker thread as they are sent): a blob may be gigabytes.
    return StreamingResponse(chunks, media_type="application/octet-stream", headers={"Content-Length": str(size)})


_MAX_MANIFEST_BYTES = 512 * 1024 * 1024


@router.put("/wandb/artifacts/{token}")
async def artifact_upload(token: str, request: Request) -> Response:
    """Receive a file or the manifest of an artifact being logged (the token names the pending artifact)."""
    hub = hub_of(request)
    ref = hub.signer.check(token, "art-put") or hub.signer.check(token, "art-manifest-put")
    if ref is None:
        raise ApiError(403, "this upload URL is invalid or has expired")
    item = await run_in_threadpool(hub.pending.get, ref.run_id)
    if item is None:
        raise ApiError(404, "this artifact is no longer pending (pending ids last a day): log it again")
    if ref.name == MANIFEST_NAME and hub.signer.check(token, "art-manifest-put") is not None:
        raw = bytearray()
        async for chunk in request.stream():
            raw += chunk
            if len(raw) > _MAX_MANIFEST_BYTES:
                raise ApiError(413, f"an artifact manifest is limited to {_MAX_MANIFEST_BYTES} bytes")
        try:
            manifest = json.loads(bytes(raw))
        except ValueError as exc:
            raise ApiError(400, f"the artifact manifest is not JSON: {exc}") from exc
        if not isinstance(manifest, dict):
            raise ApiError(400, "the artifact manifest is a JSON object")

        def keep_manifest() -> None:
            def change(stored: Any) -> None:
                stored.manifest = manifest

            hub.pending.update(item.key, change)

        await run_in_threadpool(keep_manifest)
        return Response(status_code=200)
    store = hub.sessions.store
    if store.blobs is None:
        raise ApiError(
            507, "this server keeps no blob store, and artifact files live in one: start it with --blobs (a folder)"
        )
    blobs = store.blobs
    with tempfile.SpooledTemporaryFile(max_size=_SPOOL_BYTES) as spool:
        async for chunk in request.stream():
            spool.write(chunk)
        spool.seek(0)

        def store_file() -> None:
            chunks, hasher = md5_of_stream(iter(lambda: spool.read(1024 * 1024), b""))
            key, size = blobs.put_stream(chunks)
            md5 = base64.b64encode(hasher.digest()).decode()

            def change(stored: Any) -> None:
                stored.uploads[ref.name] = (key, size, md5)

            hub.pending.update(item.key, change)
            hub.pending.note_md5(key, md5, size)

        await run_in_threadpool(store_file)
    return Response(status_code=200)


@router.get("/wandb/artifacts/{token}")
async def artifact_download(token: str, request: Request) -> Response:
    """Send an artifact version's manifest (wandb's, with MD5 digests) or one of its files."""
    hub = hub_of(request)
    manifest_ref = hub.signer.check(token, "art-manifest")
    ref = manifest_ref or hub.signer.check(token, "art-get")
    if ref is None or not ref.run_id.isdigit():
        raise ApiError(403, "this download URL is invalid or has expired")
    store = hub.sessions.store
    version_id = int(ref.run_id)

    def find() -> Any:
        from runyard.store.artifacts import reads as artifact_reads

        with store.engine.connect() as conn:
            found = artifact_reads.versions_by_id(conn, [version_id])
        if not found:
            return None
        if manifest_ref is not None:
            ctx = Context(store, Caller("", ""), str(request.base_url), hub.signer, pending=hub.pending)
            return json.dumps(manifest_of(ctx, found[0])).encode()
        for f in store.artifacts.files(version_id):
            if f.path == ref.name and f.blob_key:
                return _ranged(store.artifacts.blobs, f.blob_key, request.headers.get("range"))
        return None

    found = await run_in_threadpool(find)
    if found is None:
        raise ApiError(404, f"artifact version {version_id} has no file {ref.name!r} (deleted?)")
    if isinstance(found, bytes):
        return Response(found, media_type="application/json")
    size, chunks, span = found
    headers = {"Content-Length": str(size), "Accept-Ranges": "bytes"}
    if span is None:
        return StreamingResponse(chunks, media_type="application/octet-stream", headers=headers)
    start, end, total = span
    headers["Content-Range"] = f"bytes {start}-{end}/{total}"
    return StreamingResponse(chunks, status_code=206, media_type="application/octet-stream", headers=headers)


def _ranged(blobs: Any, key: str, header: str | None) -> tuple[int, Any, tuple[int, int, int] | None]:
    """The blob's bytes, or the one range ``Range: bytes=a-b`` asks for (wandb downloads files of 2 GiB and more
    in ranged parts). A header naming anything else is ignored: the whole blob is sent, as HTTP allows."""
    total, chunks = blobs.stream(key)
    match = _RANGE.fullmatch((header or "").strip())
    if match is None or total == 0:
        return total, chunks, None
    start = int(match.group(1))
    end = min(int(match.group(2)) if match.group(2) else total - 1, total - 1)
    if start > end:
        return total, chunks, None
    local = getattr(blobs, "path", None)
    if callable(local):
        path = local(key)
        close = getattr(chunks, "close", None)
        if callable(close):
            close()

        def from_file() -> Iterator[bytes]:
            with open(path, "rb") as fh:
                fh.seek(start)
                left = end - start + 1
                while left > 0:
                    data = fh.read(min(left, 1024 * 1024))
                    if not data:
                        return
                    left -= len(data)
                    yield data

        return end - start + 1, from_file(), (start, end, total)

    def skipping() -> Iterator[bytes]:
        offset = 0
        for chunk in chunks:
            lo, hi = max(start - offset, 0), min(end + 1 - offset, len(chunk))
            if lo < hi:
                yield chunk[lo:hi]
            offset += len(chunk)
            if offset > end:
                return

    return end - start + 1, skipping(), (start, end, total)


_RANGE = re.compile(r"bytes=(\d+)-(\d*)")


async def _caller(request: Request, hub: Hub) -> Caller | Response:
    """The authenticated caller, or the 401 response to send instead."""
    try:
        return await run_in_threadpool(caller_of, request, hub.keys)
    except AuthError as exc:
        return _json(unauthorized_body(exc.message), 401)
