"""Request bodies: how large they may be, checked before any work is done on them.

Every route that parses a body has a bound. A request that declares a larger ``Content-Length`` is answered
413 before a byte of its body is read; one that sends more than it declared, or streams without a length, is
cut off when the bound is crossed. A gzip body (the wandb client compresses ``file_stream`` posts) is inflated
chunk by chunk, and the inflation stops at the bound too: 400 KB of zeros that would inflate to 400 MiB cost
the server at most the bound. Where a route needs credentials, they are checked before the body is read
(:mod:`runyard.server.wandb.routes`), so an unauthenticated caller costs nothing at all.

=====================================  ==================================================================
``/api/v1/...`` (REST)                 :data:`MAX_API_BODY`, JSON only (:mod:`runyard.server.origins`)
``/api/v1/ingest/...`` (runyard SDK)   the ingest API's own limits (32 MiB sent, 64 MiB inflated), streamed
``/graphql``, ``.../file_stream``      :data:`MAX_PROTOCOL_BODY`, sent and once inflated
``/wandb/storage/...`` (uploads)       the run file limits of :mod:`runyard.server.wandb.routes`, streamed
=====================================  ==================================================================
"""

from __future__ import annotations

import zlib
from collections.abc import AsyncIterator, Callable

from fastapi import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from runyard.server.encoding import ApiResponse
from runyard.server.errors import error_body
from runyard.server.routes.ingest import PATH_PREFIX as INGEST_PREFIX

__all__ = ["MAX_API_BODY", "MAX_PROTOCOL_BODY", "BodyLimit", "body_limit_of", "inflate", "too_large"]

MAX_API_BODY = 8 * 1024 * 1024
"""The largest body of a REST request (a runs query, a workspace, a run edit): 8 MiB."""

MAX_PROTOCOL_BODY = 64 * 1024 * 1024
"""The largest body of a wandb client's ``/graphql`` or ``file_stream`` request, as sent and once inflated:
64 MiB, well above what the client sends (it keeps a history line under 10 MiB)."""

_INFLATE_CHUNK = 1024 * 1024


def body_limit_of(path: str) -> int | None:
    """The bound on the body of a request to ``path``; None where the route bounds it itself (uploads, the
    ingest API: :mod:`runyard.server.routes.ingest`)."""
    if path.startswith(INGEST_PREFIX):
        return None
    if path.startswith("/api/"):
        return MAX_API_BODY
    if path == "/graphql" or (path.startswith("/files/") and path.endswith("/file_stream")):
        return MAX_PROTOCOL_BODY
    return None


def too_large(limit: int, what: str = "the request body") -> HTTPException:
    """The 413 of a body over ``limit`` bytes (raised where FastAPI reads bodies, so it passes through)."""
    return HTTPException(413, f"{what} is larger than {_size(limit)}, the most this server accepts here")


class BodyLimit:
    """ASGI middleware bounding request bodies per path (see :func:`body_limit_of`)."""

    def __init__(self, app: ASGIApp, limit_of: Callable[[str], int | None] = body_limit_of) -> None:
        self.app = app
        self.limit_of = limit_of

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        limit = self.limit_of(scope["path"]) if scope["type"] == "http" else None
        if limit is None:
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            error = too_large(limit)
            await ApiResponse(error_body(413, str(error.detail)), status_code=413)(scope, receive, send)
            return
        received = 0

        async def bounded() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise too_large(limit)
            return message

        await self.app(scope, bounded, send)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None  # uvicorn refuses such a request before it reaches the app
    return None


async def inflate(chunks: AsyncIterator[bytes], encoding: str, limit: int) -> bytes:
    """A request body from its ``chunks``, inflated when ``encoding`` is ``gzip`` or ``deflate``.

    Raises the 413 of :func:`too_large` as soon as the body, sent or inflated, passes ``limit`` bytes, and a
    400 for a compressed body that does not inflate or an encoding the server does not know.
    """
    encoding = encoding.strip().lower()
    if encoding in ("", "identity"):
        raw = bytearray()
        async for chunk in chunks:
            raw += chunk
            if len(raw) > limit:
                raise too_large(limit)
        return bytes(raw)
    if encoding not in ("gzip", "x-gzip", "deflate"):
        raise HTTPException(400, f"Content-Encoding {encoding!r} is not supported; send gzip or no encoding")
    # wbits 47: a gzip or a zlib stream, recognised by its header.
    inflater = zlib.decompressobj(47)
    out = bytearray()
    sent = 0
    try:
        async for chunk in chunks:
            sent += len(chunk)
            if sent > limit:
                raise too_large(limit)
            data = chunk
            while data:
                # Bounded steps: never more than the limit plus one step in memory, however well it compresses.
                out += inflater.decompress(data, _INFLATE_CHUNK)
                if len(out) > limit:
                    raise too_large(limit, "the request body, once inflated,")
                data = inflater.unconsumed_tail
        out += inflater.flush()
    except zlib.error as exc:
        raise HTTPException(400, f"the request body is not valid {encoding} data: {exc}") from None
    if len(out) > limit:
        raise too_large(limit, "the request body, once inflated,")
    if not inflater.eof:
        raise HTTPException(400, f"the request body is not valid {encoding} data: it ends too early")
    return bytes(out)


def _size(n: int) -> str:
    return f"{n // (1024 * 1024)} MiB" if n >= 1024 * 1024 and n % (1024 * 1024) == 0 else f"{n} bytes"
