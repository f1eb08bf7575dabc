"""The remote sink: a session's records go to a runyard server over HTTP (``runyard login``, ``RUNYARD_BASE_URL``).

Records travel as the run log holds them, a msgpack array of ``[seq, kind, body]`` (NaN, infinities and bytes
kept exactly), gzip-compressed, to ``POST /api/v1/ingest/sessions/{session}/records`` (docs/rest-api.md). The
server applies them with :meth:`Store.ingest <runyard.store.Store.ingest>`, idempotent on ``(session, seq)``
and refusing gaps, so a batch sent again after a lost answer or a server restart is applied once. The sink
itself does not wait or retry beyond reopening a stale connection: the ingester's loop retries with back-off,
and the run log keeps every record meanwhile.

Each answer to a batch or a heartbeat says whether the run was asked to stop, so the ingester's once-a-second
stop check costs a request only while nothing is being sent.
"""

from __future__ import annotations

import dataclasses
import gzip
import json
import time
import urllib.parse
from collections.abc import Iterator, Sequence
from typing import IO, TYPE_CHECKING, Any

import msgpack

from runyard.errors import AuthenticationError, RemoteError
from runyard.sinks.connection import Answer, Connection

if TYPE_CHECKING:
    from runyard.store.models import ResumeState as ResumeState  # what resume_state() returns, for the SDK

__all__ = ["MAX_REQUEST_BYTES", "HttpSink"]

MAX_REQUEST_BYTES = 4 * 1024 * 1024
"""Encoded records per request, before compression: larger batches are split (the server takes up to 64 MiB)."""

_STOP_FRESH_S = 0.5  # a stop answer younger than this answers stop_requested_at() without a request
_API = "/api/v1/ingest"


class HttpSink:
    """Sends records, heartbeats and crash marks to the runyard server at ``base_url``, with ``api_key``.

    Not thread-safe: one thread uses it (the ingester's, or ``runyard sync``).
    """

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        connect_timeout: float = 5.0,
        read_timeout: float = 30.0,
        max_request_bytes: int = MAX_REQUEST_BYTES,
    ) -> None:
        """Prepare the sink; nothing is sent until the first call.

        Args:
            base_url: the server, ``http(s)://host[:port][/prefix]``.
            api_key: the key the server checks (sent as ``Authorization: Bearer <key>``).
            connect_timeout: seconds to wait for a connection.
            read_timeout: seconds to wait for each read of an answer.
            max_request_bytes: encoded records per request before compression; larger batches are split.
        """
        self.base_url = base_url
        self.max_request_bytes = max_request_bytes
        self._conn = Connection(
            base_url,
            headers={"Authorization": f"Bearer {api_key}", "User-Agent": _user_agent()},
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
        )
        self._stop: tuple[float | None, float] | None = None  # (stop_requested_at, when it was answered)
        self._identity: str | None = None

    # -- the Sink interface
    def ingest(self, records: Sequence[list[Any]], *, session: str) -> int:
        """Send records of ``session``; returns the server's last applied seq of the session."""
        if not records:
            return self.progress(session)
        last = 0
        for body in self._bodies(records):
            answer = self._send(
                "POST",
                f"/sessions/{_quote(session)}/records",
                gzip.compress(body, compresslevel=1, mtime=0),
                {"Content-Type": "application/msgpack", "Content-Encoding": "gzip"},
            )
            data = self._json(answer)
            last = int(data["last_seq"])
            self._note_stop(data)
        return last

    def progress(self, session: str) -> int:
        """The server's last applied seq of ``session`` (0 when it has none of it)."""
        data = self._json(self._send("GET", f"/sessions/{_quote(session)}"))
        self._note_stop(data)
        return int(data["last_seq"])

    session_progress = progress  # the name runyard.replay uses (it replays into a Store or a sink)

    def stored_steps(self, session: str) -> int:
        """How many steps the server's store holds for the session's run (read back, for what finish() reports)."""
        return int(self._json(self._send("GET", f"/sessions/{_quote(session)}/steps"))["steps"])

    def identity(self) -> str:
        """The id of the store the server serves: ``runyard sync`` marks a run log as synced into it."""
        if self._identity is None:
            self._identity = str(self._json(self._send("GET", "/store"))["store_id"])
        return self._identity

    def heartbeat(self, session: str, t: float) -> None:
        """Tell the server the session's process is alive at unix time ``t``."""
        # The server's clock decides when a heartbeat is stale: ``t`` is not sent (a machine's clock may be off).
        answer = self._send("POST", f"/sessions/{_quote(session)}/heartbeat", b"")
        self._note_stop(self._json(answer))

    def stop_requested_at(self, session: str) -> float | None:
        """When the run was last asked to stop, as the latest answer said (asked anew when that is stale)."""
        if self._stop is not None and time.monotonic() - self._stop[1] < _STOP_FRESH_S:
            return self._stop[0]
        self.progress(session)
        return self._stop[0] if self._stop is not None else None

    def mark_crashed(self, session: str) -> None:
        """Tell the server the session's process died without finishing."""
        self._json(self._send("POST", f"/sessions/{_quote(session)}/crashed", b""))

    def resume_state(self, entity: str, project: str, run_id: str) -> ResumeState | None:
        """What a new session needs to continue the run, or None when the server has no such run."""
        from runyard.store.models import ResumeState  # SQLAlchemy-free dataclasses

        path = "/runs/" + "/".join(_quote(part) for part in (entity, project, run_id)) + "/resume"
        answer = self._send("GET", path, headers={"Accept": "application/msgpack"})
        kind = answer.headers.get("content-type", "")
        if not kind.startswith("application/msgpack"):
            raise RemoteError(
                f"{self.base_url} did not answer as a runyard server (a {kind or 'typeless'} answer); check the "
                "address given to `runyard login` or RUNYARD_BASE_URL"
            )
        found = msgpack.unpackb(answer.body, raw=False, strict_map_key=False).get("run")
        if found is None:
            return None
        known = {f.name for f in dataclasses.fields(ResumeState)}  # a newer server may say more
        return ResumeState(**{k: v for k, v in found.items() if k in known})

    def whoami(self) -> dict[str, Any]:
        """Who the server says the key belongs to: ``{"username", "entity"}`` (checks the key)."""
        return self._json(self._send("GET", "/me"))

    def request(
        self,
        method: str,
        path: str,
        body: bytes | IO[bytes] | None = None,
        headers: dict[str, str] | None = None,
        *,
        allow: tuple[int, ...] = (),
    ) -> Answer:
        """One call to the ingest API at ``path`` (under ``/api/v1/ingest``): the answer when it is a success or
        its status is in ``allow``, else the :class:`~runyard.errors.RemoteError` it means (artifact uploads)."""
        answer = self._conn.request(method, _API + path, body, headers)
        if 200 <= answer.status < 300 or answer.status in allow:
            return answer
        raise self._refused(answer)

    def stream(self, path: str) -> tuple[int, Iterator[bytes]]:
        """``GET`` ``path`` of the ingest API as ``(size, chunks)``, read as the chunks are consumed (downloads)."""
        answer, chunks = self._conn.stream(_API + path)
        if not 200 <= answer.status < 300:
            raise self._refused(answer)
        return int(answer.headers.get("content-length", "-1")), chunks

    def json(self, answer: Answer) -> dict[str, Any]:
        """The JSON object of a runyard answer (a :class:`~runyard.errors.RemoteError` for any other answer)."""
        return self._json(answer)

    def close(self) -> None:
        """Close the connection."""
        self._conn.close()

    # -- the wire
    def _bodies(self, records: Sequence[list[Any]]) -> Iterator[bytes]:
        """The batch as one encoded body, or several when it is over ``max_request_bytes``."""
        body = msgpack.packb(list(records), use_bin_type=True)
        if len(body) <= self.max_request_bytes or len(records) == 1:
            yield body
            return
        half = len(records) // 2
        yield from self._bodies(records[:half])
        yield from self._bodies(records[half:])

    def _send(
        self, method: str, path: str, body: bytes | IO[bytes] | None = None, headers: dict[str, str] | None = None
    ) -> Answer:
        answer = self._conn.request(method, _API + path, body, headers)
        if 200 <= answer.status < 300:
            return answer
        raise self._refused(answer)

    def _refused(self, answer: Answer) -> RemoteError:
        status = answer.status
        code, message = _error_of(answer)
        url = self.base_url
        if status in (401, 403):
            return AuthenticationError(
                f"the runyard server at {url} refused the API key ({message}). Log in again with "
                f"`runyard login {url}`, or set RUNYARD_API_KEY to a valid key",
                status=status,
            )
        elif status == 404 and code == "not_found" and "no such endpoint" in message:
            text = f"{url} has no runyard ingest API ({message}); is it a runyard server, and up to date?"
        elif status in (408, 429) or status >= 500:
            return RemoteError(f"the runyard server at {url} could not take the request: {message}", status=status,
                               retryable=True)  # fmt: skip
        else:
            text = f"the runyard server at {url} refused the request: {message}"
        return RemoteError(text, status=status, retryable=False)

    def _json(self, answer: Answer) -> dict[str, Any]:
        kind = answer.headers.get("content-type", "")
        try:
            if not kind.startswith("application/json"):
                raise ValueError(f"a {kind or 'typeless'} answer")
            data = json.loads(answer.body)
        except ValueError as exc:
            raise RemoteError(
                f"{self.base_url} did not answer as a runyard server ({exc}); check the address given to "
                "`runyard login` or RUNYARD_BASE_URL"
            ) from exc
        if not isinstance(data, dict):
            raise RemoteError(f"{self.base_url} answered with JSON of an unexpected shape")
        return data

    def _note_stop(self, data: dict[str, Any]) -> None:
        if "stop_requested_at" in data:
            asked = data["stop_requested_at"]
            self._stop = (None if asked is None else float(asked), time.monotonic())


def _error_of(answer: Answer) -> tuple[str, str]:
    """The ``(code, message)`` of runyard's error shape, or a description of an answer of another shape."""
    try:
        error = json.loads(answer.body)["error"]
        return str(error["code"]), str(error["message"])
    except (ValueError, KeyError, TypeError):
        text = answer.body[:200].decode("utf-8", "replace").strip()
        return "", f"HTTP {answer.status}" + (f": {text}" if text else "")


def _quote(part: str) -> str:
    return urllib.parse.quote(part, safe="")


def _user_agent() -> str:
    from runyard import __version__

    return f"runyard/{__version__}"
