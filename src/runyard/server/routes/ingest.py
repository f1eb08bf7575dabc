"""The ingest API: runyard's SDK sends run-log records to the server (``runyard login``, ``RUNYARD_BASE_URL``).

Every route needs an API key (:data:`~runyard.server.auth.KeyUser`), checked before the body is read. A batch
of records is the run log's own encoding, a msgpack array of ``[seq, kind, body]``, usually gzip-compressed;
it is applied with :meth:`Store.ingest <runyard.store.Store.ingest>`, so a batch sent twice is applied once and
a batch that skips a seq is refused (409 ``ingest_gap``) without applying anything. The run's entity and project
come from the session's start record. Sizes are bounded twice: the body as sent (:data:`MAX_BODY_BYTES`,
checked against ``Content-Length`` before reading and again while reading) and decompressed
(:data:`MAX_RECORDS_BYTES`, so a small compressed body cannot expand without bound).

A session id is a random 128-bit value that only its writer knows; a session exists once a start batch, whose
entity and project :func:`~runyard.server.auth.authorize_write` allowed, created it. The session's later
calls (batches, heartbeats, crash marks) are answered for whoever holds a valid key and the id.
"""

from __future__ import annotations

import time
import zlib
from dataclasses import asdict
from typing import Annotated, Any

import msgpack
from fastapi import APIRouter, Path, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from runyard.errors import IngestGapError
from runyard.records import KIND_START, Record
from runyard.server.auth import KeyUser, authorize_write
from runyard.server.deps import StoreDep
from runyard.server.encoding import ApiResponse
from runyard.server.errors import ApiError

__all__ = ["MAX_BODY_BYTES", "MAX_RECORDS_BYTES", "PATH_PREFIX", "router"]

router = APIRouter(prefix="/ingest", tags=["ingest"])

PATH_PREFIX = "/api/v1/ingest/"
"""Where the app serves these routes. Every call there needs an API key, so the server's Host and JSON-body
rules (:mod:`runyard.server.origins`) do not apply, and the routes bound their bodies themselves."""

MAX_BODY_BYTES = 32 * 1024 * 1024
"""The largest request body the ingest API reads, as sent (compressed): the SDK's largest record (25 MiB,
:data:`runyard.sdk.limits.RECORD_LIMIT`) fits even when it does not compress."""

MAX_RECORDS_BYTES = 64 * 1024 * 1024
"""The largest batch of records, decompressed. runyard's SDK sends at most 4 MiB per request."""

_MAX_SMALL_BODY = 1024
_MSGPACK = "application/msgpack"

SessionId = Annotated[str, Path(pattern=r"^[A-Za-z0-9_.-]{1,128}$", description="the session id from the start record")]

_RECORDS_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": "a msgpack array of [seq, kind, body] records (runyard.records); Content-Encoding gzip, "
        "deflate or none",
        "content": {_MSGPACK: {"schema": {"type": "string", "format": "binary"}}},
    }
}


@router.get("/me")
def me(user: KeyUser) -> ApiResponse:
    """The key's owner and the entity runs go to by default (``runyard login`` checks its key with this)."""
    return ApiResponse({"username": user.username, "entity": user.entity})


@router.get("/store")
def store_identity(user: KeyUser, store: StoreDep) -> ApiResponse:
    """The id of the store this server serves (:meth:`Store.identity <runyard.store.Store.identity>`).

    ``runyard sync`` records it in a run log's ``.synced`` marker: a log synced through this server is synced
    into that store, whichever address reached it, and is still synced into any other store.
    """
    return ApiResponse({"store_id": store.identity()})


@router.post("/sessions/{session}/records", openapi_extra=_RECORDS_BODY)
async def ingest_records(session: SessionId, request: Request, user: KeyUser, store: StoreDep) -> ApiResponse:
    """Apply a batch of the session's records; answers the session's last applied seq and any stop request."""
    raw = await _read_body(request, MAX_BODY_BYTES)
    encoding = request.headers.get("content-encoding", "")

    def apply() -> dict[str, Any]:
        records = _records(_decompress(raw, encoding))
        if records and records[0][1] == KIND_START:
            start = records[0][2]
            authorize_write(user, str(start.get("entity") or ""), str(start.get("project") or ""))
            if not user.local:
                start["username"] = user.username  # the run's author is the key's owner, not the machine's user
        try:
            last = store.ingest(records, session=session)
        except IngestGapError as exc:
            raise ApiError(409, f"{exc}; send the records from the one after the last applied", "ingest_gap") from exc
        return {"last_seq": last, "stop_requested_at": store.stop_requested_at(session)}

    return ApiResponse(await run_in_threadpool(apply))


@router.get("/sessions/{session}")
def session_state(session: SessionId, user: KeyUser, store: StoreDep) -> ApiResponse:
    """The session's last applied seq (0: the server has none of it) and when its run was asked to stop."""
    return ApiResponse(
        {
            "session": session,
            "last_seq": store.session_progress(session),
            "stop_requested_at": store.stop_requested_at(session),
        }
    )


@router.get("/sessions/{session}/steps")
def session_steps(session: SessionId, user: KeyUser, store: StoreDep) -> ApiResponse:
    """How many steps (history rows) the store holds for the session's run, all its sessions together: what
    ``finish()`` and ``runyard sync`` report, read back rather than counted by the sender."""
    return ApiResponse({"session": session, "steps": store.stored_steps(session)})


@router.post("/sessions/{session}/heartbeat")
async def heartbeat(session: SessionId, request: Request, user: KeyUser, store: StoreDep) -> ApiResponse:
    """The session's process is alive (the server's clock decides when a heartbeat is stale)."""
    await _read_body(request, _MAX_SMALL_BODY)

    def beat() -> dict[str, Any]:
        store.heartbeat(session, time.time())
        return {"stop_requested_at": store.stop_requested_at(session)}

    return ApiResponse(await run_in_threadpool(beat))


@router.post("/sessions/{session}/crashed")
async def crashed(session: SessionId, request: Request, user: KeyUser, store: StoreDep) -> ApiResponse:
    """The session's process died without finishing: its run reads crashed now, not after the timeout."""
    await _read_body(request, _MAX_SMALL_BODY)
    return ApiResponse({"marked": await run_in_threadpool(store.mark_crashed, session)})


@router.get("/runs/{entity}/{project}/{run_id}/resume", response_class=Response)
def resume(entity: str, project: str, run_id: str, user: KeyUser, store: StoreDep) -> Response:
    """What a new session needs to continue the run (msgpack ``{"run": {...}}``, ``{"run": null}`` when none)."""
    authorize_write(user, entity, project)
    found = store.resume_state(entity, project, run_id)
    body = {"run": None if found is None else asdict(found)}
    return Response(msgpack.packb(body, use_bin_type=True), media_type=_MSGPACK)


async def _read_body(request: Request, limit: int) -> bytes:
    """The body, refused with 413 as soon as it is known to be over ``limit`` bytes."""
    declared = request.headers.get("content-length")
    if declared is not None:
        try:
            size = int(declared)
        except ValueError:
            raise ApiError(400, f"Content-Length is not a number: {declared!r}") from None
        if size > limit:
            raise ApiError(413, f"the body is {size} bytes; this endpoint takes at most {limit}")
    chunks: list[bytes] = []
    received = 0
    async for chunk in request.stream():
        received += len(chunk)
        if received > limit:
            raise ApiError(413, f"the body is over {limit} bytes, the most this endpoint takes")
        chunks.append(chunk)
    return b"".join(chunks)


def _decompress(raw: bytes, encoding: str) -> bytes:
    """The body decoded per ``Content-Encoding``, refused with 413 past :data:`MAX_RECORDS_BYTES`."""
    name = encoding.strip().lower()
    if name in ("", "identity"):
        if len(raw) > MAX_RECORDS_BYTES:
            raise ApiError(413, f"a batch of records is limited to {MAX_RECORDS_BYTES} bytes")
        return raw
    if name in ("gzip", "x-gzip"):
        wbits = 16 + zlib.MAX_WBITS
    elif name == "deflate":
        wbits = zlib.MAX_WBITS
    else:
        raise ApiError(415, f"unsupported Content-Encoding {encoding!r}: send gzip, deflate or none", "unsupported")
    inflater = zlib.decompressobj(wbits)
    try:
        data = inflater.decompress(raw, MAX_RECORDS_BYTES + 1)
    except zlib.error as exc:
        raise ApiError(400, f"the body is not valid {name} data ({exc})") from None
    if len(data) > MAX_RECORDS_BYTES or inflater.unconsumed_tail:
        raise ApiError(413, f"the batch decompresses to more than {MAX_RECORDS_BYTES} bytes; send smaller batches")
    if not inflater.eof or inflater.unused_data:
        raise ApiError(400, f"the {name} body is truncated or has data after its end")
    return data


def _records(data: bytes) -> list[Record]:
    """The batch's records, checked for shape (the store checks their order and content)."""
    try:
        records = msgpack.unpackb(data, raw=False, strict_map_key=False)
    except Exception as exc:  # msgpack's errors have no common base beyond ValueError/TypeError subclasses
        raise ApiError(400, f"the body is not msgpack ({type(exc).__name__}: {exc})") from None
    if not isinstance(records, list):
        raise ApiError(400, "the body must be a msgpack array of [seq, kind, body] records")
    for i, record in enumerate(records):
        if not (
            isinstance(record, list)
            and len(record) == 3
            and type(record[0]) is int
            and isinstance(record[1], str)
            and isinstance(record[2], dict)
        ):
            raise ApiError(400, f"record {i} of the batch is not [seq, kind, body] (int, str, map)")
    return records
