"""The ingest API's artifact routes: runyard's SDK uploads an artifact's files to the server and reads versions back.

A file's bytes go to ``PUT /api/v1/ingest/blobs/{sha256}`` before the run log's ``artifact`` record names them
(the record travels with the run's other records and commits the version, as in a local store). ``HEAD`` on the
same path answers whether the server already holds the content, so an unchanged file is never sent again. The
body is streamed to a temporary file while its SHA-256 is computed; a body whose hash is not the key is refused
(400) and nothing is stored. One file is at most :data:`MAX_BLOB_BYTES`.

Reads for ``use_artifact`` and ``download``: a version and its manifest
(``GET /artifacts/{entity}/{project}/{name}/{spec}``), a collection's type, and a blob's bytes.
Every route needs an API key, checked before a byte of the body is read.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import asdict
from pathlib import Path as FsPath
from typing import Annotated

from fastapi import APIRouter, Path, Request
from fastapi.responses import Response, StreamingResponse
from starlette.concurrency import run_in_threadpool

from runyard.errors import NotFoundError, StoreError
from runyard.server.auth import KeyUser, authorize_read, authorize_write
from runyard.server.deps import StoreDep
from runyard.server.encoding import ApiResponse
from runyard.server.errors import ApiError
from runyard.store import Store
from runyard.store.blobs import BlobNotFoundError, BlobStore

__all__ = ["MAX_BLOB_BYTES", "router"]

router = APIRouter(prefix="/ingest", tags=["ingest"])

MAX_BLOB_BYTES = 1024**4
"""The largest file one upload takes: 1 TiB (the limit that remains is the blob store's disk)."""

BlobKey = Annotated[str, Path(pattern=r"^[0-9a-f]{64}$", description="the SHA-256 of the content, lowercase hex")]


def _blobs(store: Store) -> BlobStore:
    try:
        return store.artifacts.blobs
    except StoreError as exc:
        raise ApiError(503, str(exc), "unavailable") from None


@router.head("/blobs/{key}")
def blob_exists(key: BlobKey, user: KeyUser, store: StoreDep) -> Response:
    """200 when the server holds the content ``key`` (the SDK then does not send it), 404 when not."""
    return Response(status_code=200 if _blobs(store).exists(key) else 404)


@router.put("/blobs/{key}")
async def put_blob(key: BlobKey, request: Request, user: KeyUser, store: StoreDep) -> ApiResponse:
    """Store the body as the blob ``key``; refused (400) when its SHA-256 is not ``key``. Idempotent."""
    blobs = _blobs(store)
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > MAX_BLOB_BYTES:
        raise ApiError(413, f"the file is {declared} bytes; one upload takes at most {MAX_BLOB_BYTES}")
    if await run_in_threadpool(blobs.exists, key):
        return ApiResponse({"key": key, "stored": 0})  # the body is not read: the content is already there
    digest = hashlib.sha256()
    size = 0
    # Spooled beside a blob folder's blobs (same disk: not a tmpfs in memory, and the copy into place stays on
    # one filesystem); a temp name starting with "." is none of the blob store's keys.
    root = getattr(blobs, "root", None)
    folder = root if isinstance(root, FsPath) and root.is_dir() else None
    fd, name = tempfile.mkstemp(prefix=".upload-", dir=folder)
    tmp = FsPath(name)
    try:
        with os.fdopen(fd, "wb") as fh:
            async for chunk in request.stream():
                size += len(chunk)
                if size > MAX_BLOB_BYTES:
                    raise ApiError(413, f"the file is over {MAX_BLOB_BYTES} bytes, the most one upload takes")
                digest.update(chunk)
                fh.write(chunk)
        if digest.hexdigest() != key:
            raise ApiError(
                400,
                f"the body's SHA-256 is {digest.hexdigest()}, not {key}: the upload was corrupted or cut short; "
                "send the file again",
            )
        stored_key, _, new = await run_in_threadpool(blobs.put_file, tmp)
        if stored_key != key:  # the temporary file changed under us: never store content under a wrong key
            raise ApiError(500, "the uploaded file changed while it was being stored; send it again")
    finally:
        tmp.unlink(missing_ok=True)
    return ApiResponse({"key": key, "stored": new})


@router.get("/blobs/{key}")
def get_blob(key: BlobKey, user: KeyUser, store: StoreDep) -> StreamingResponse:
    """The blob's bytes (what ``artifact.download()`` fetches)."""
    try:
        size, chunks = _blobs(store).stream(key)
    except BlobNotFoundError:
        raise ApiError(404, f"this server holds no file with SHA-256 {key}") from None
    return StreamingResponse(chunks, media_type="application/octet-stream", headers={"Content-Length": str(size)})


@router.get("/artifacts/{entity}/{project}/{name}/type")
def collection_type(entity: str, project: str, name: str, user: KeyUser, store: StoreDep) -> ApiResponse:
    """The type of the collection ``name`` (null when there is none yet): the SDK checks a clash before uploading."""
    authorize_write(user, entity, project)
    found = store.artifacts.collection(entity, project, name)
    return ApiResponse({"type": None if found is None else found.type})


@router.get("/artifacts/{entity}/{project}/{name}/versions/{spec}")
def artifact_version(entity: str, project: str, name: str, spec: str, user: KeyUser, store: StoreDep) -> ApiResponse:
    """The version ``spec`` (``vN``, an alias or a manifest digest) of the collection, with its files."""
    authorize_read(user, store, entity, project)
    try:
        version = store.artifacts.get(f"{entity}/{project}/{name}:{spec}", entity, project)
    except NotFoundError as exc:
        raise ApiError(404, str(exc)) from None
    files = [asdict(f) for f in store.artifacts.files(version)]
    return ApiResponse({"version": asdict(version), "files": files})
