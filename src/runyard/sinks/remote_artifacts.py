"""How a run logging to a runyard server reaches the server's artifacts: the same calls as
:class:`~runyard.sinks.artifact_access.ArtifactAccess`, over the ingest API's artifact routes
(:mod:`runyard.server.routes.ingest_artifacts`).

A file is hashed here, then the server is asked whether it holds that content (``HEAD``); only content it lacks is
sent (``PUT``, streamed from the file, its SHA-256 checked by the server). Reads (a version, its files, a blob's
bytes) serve ``use_artifact`` and ``download``. Each thread gets its own connection: the upload pool hashes and
sends several files at once. No SQLAlchemy is loaded.
"""

from __future__ import annotations

import os
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from runyard.errors import ConflictError, NotFoundError, RemoteError, StoreError, UnsupportedError
from runyard.sinks.http import HttpSink

__all__ = ["RemoteArtifactAccess", "RemoteArtifacts", "RemoteBlobs", "RemoteFile", "RemoteVersion"]

_UPLOAD_READ_TIMEOUT_S = 600.0  # the server stores a large file before it answers
_RETRIES_S = (1.0, 2.0, 4.0)  # waits before another try while the server cannot be reached (it may be restarting)
_T = TypeVar("_T")


@dataclass(frozen=True)
class RemoteVersion:
    """A version as the server describes it (the fields of ``runyard.store.artifacts.models.ArtifactVersion``)."""

    id: int
    entity: str
    project: str
    type: str
    name: str
    version_index: int
    digest: str
    description: str | None
    metadata: dict[str, Any]
    size: int
    file_count: int
    created_at: float
    aliases: tuple[str, ...]
    run_id: str | None

    @property
    def version(self) -> str:
        return f"v{self.version_index}"


@dataclass(frozen=True)
class RemoteFile:
    """A manifest entry as the server describes it."""

    path: str
    digest: str
    size: int
    blob_key: str | None
    ref: str | None


class _Clients:
    """One :class:`HttpSink` per thread."""

    def __init__(self, base_url: str, api_key: str) -> None:
        self.base_url, self.api_key = base_url, api_key
        self._local = threading.local()
        self._all: list[HttpSink] = []
        self._lock = threading.Lock()

    def get(self) -> HttpSink:
        sink: HttpSink | None = getattr(self._local, "sink", None)
        if sink is None:
            sink = HttpSink(self.base_url, self.api_key, read_timeout=_UPLOAD_READ_TIMEOUT_S)
            self._local.sink = sink
            with self._lock:
                self._all.append(sink)
        return sink

    def retried(self, call: Callable[[HttpSink], _T]) -> _T:
        """``call`` with this thread's sink, tried again (1, 2, 4 s apart) while the server cannot be reached; every
        call here is idempotent, so a try whose answer was lost is harmless to repeat."""
        for wait in (*_RETRIES_S, None):
            try:
                return call(self.get())
            except RemoteError as exc:
                if not exc.retryable or wait is None:
                    raise
                time.sleep(wait)
        raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises

    def close(self) -> None:
        with self._lock:
            sinks, self._all = self._all, []
        for sink in sinks:
            sink.close()


class RemoteBlobs:
    """The server's blob store, as far as artifacts use it (:class:`runyard.artifacts.backend.BlobAccess`)."""

    def __init__(self, clients: _Clients) -> None:
        self._clients = clients

    def exists(self, key: str) -> bool:
        answer = self._clients.retried(lambda sink: sink.request("HEAD", f"/blobs/{key}", allow=(404,)))
        return answer.status == 200

    def put_file(self, path: Path, *, durable: bool = True) -> tuple[str, int, int]:
        """Send the file unless the server holds its content: ``(key, size, bytes sent)``."""
        from runyard.store.blobs import file_key  # the blob module itself loads no database

        key, size = file_key(path)
        if self.exists(key):
            return key, size, 0
        try:
            fh = open(path, "rb")  # noqa: SIM115 - closed by the with below; the open's error is reported alone
        except OSError as exc:
            raise StoreError(f"cannot read {path}: {exc}") from exc
        with fh:
            if os.fstat(fh.fileno()).st_size != size:
                raise StoreError(f"{path} changed while it was being stored; log it again once it is written")
            headers = {"Content-Type": "application/octet-stream", "Content-Length": str(size)}

            def put(sink: HttpSink) -> object:
                fh.seek(0)  # a try after a lost connection sends the file from its start
                return sink.request("PUT", f"/blobs/{key}", fh, headers)

            self._clients.retried(put)
        return key, size, size

    def flush(self) -> None:
        """Nothing to do: the server stores each file before it answers."""

    def stream(self, key: str) -> tuple[int, Iterator[bytes]]:
        return self._clients.retried(lambda sink: sink.stream(f"/blobs/{key}"))


class RemoteArtifacts:
    """The server's artifact room, as far as the SDK reads it (:class:`runyard.artifacts.backend.ArtifactBackend`)."""

    def __init__(self, clients: _Clients) -> None:
        self._clients = clients
        self.blobs = RemoteBlobs(clients)

    def version(self, entity: str, project: str, name: str, spec: str = "latest") -> RemoteVersion | None:
        found = self._read(entity, project, name, spec)
        return None if found is None else found[0]

    def get(self, path: str, entity: str, project: str) -> RemoteVersion:
        head, _, spec = path.strip().partition(":")
        parts = head.split("/")
        if len(parts) > 3 or not all(parts):
            raise NotFoundError(f"cannot read the artifact name {path!r}: use 'name:version'")
        name = parts[-1]
        project = parts[-2] if len(parts) >= 2 else project
        entity = parts[0] if len(parts) == 3 else entity
        found = self._read(entity, project, name, spec or "latest")
        if found is None:
            where = f"{entity}/{project}/{name}:{spec or 'latest'}"
            raise NotFoundError(f"the runyard server {self._clients.base_url} has no artifact {where}")
        return found[0]

    def files(self, version: Any) -> Sequence[RemoteFile]:
        found = self._read(version.entity, version.project, version.name, version.digest)
        if found is None:
            raise NotFoundError(f"{self._clients.base_url} no longer has artifact {version.name}:{version.version}")
        return found[1]

    def check_type(self, entity: str, project: str, name: str, type_name: str) -> None:
        path = f"{_collection(entity, project, name)}/type"
        found = self._clients.retried(lambda sink: sink.json(sink.request("GET", path)))["type"]
        if found is not None and found != type_name:
            raise ConflictError(
                f"artifact {entity}/{project}/{name} is of type {found!r}, not {type_name!r}: a name keeps one "
                "type; log it under another name, or with that type"
            )

    def set_aliases(self, version: Any, aliases: Sequence[str]) -> RemoteVersion:
        raise _not_here("changing aliases")

    def update(
        self, version: Any, *, description: str | None = None, metadata: dict[str, Any] | None = None
    ) -> RemoteVersion:
        raise _not_here("editing a version")

    def delete(self, version: Any, *, delete_aliases: bool = False) -> None:
        raise _not_here("deleting a version")

    def runs_of(self, version: Any, kind: str = "used") -> list[tuple[str, str, str]]:
        raise _not_here("listing the runs of a version")

    def _read(self, entity: str, project: str, name: str, spec: str) -> tuple[RemoteVersion, list[RemoteFile]] | None:
        path = f"{_collection(entity, project, name)}/versions/{_quote(spec)}"
        answer = self._clients.retried(lambda sink: sink.request("GET", path, allow=(404,)))
        if answer.status == 404:
            return None
        data = self._clients.get().json(answer)
        v = dict(data["version"])
        v["aliases"] = tuple(v.get("aliases") or ())
        known = RemoteVersion.__dataclass_fields__
        version = RemoteVersion(**{k: val for k, val in v.items() if k in known})
        files = [RemoteFile(**{k: f.get(k) for k in RemoteFile.__dataclass_fields__}) for f in data["files"]]
        return version, files


class RemoteArtifactAccess:
    """The runyard server at ``base_url``, as far as logging and reading artifacts goes."""

    def __init__(self, base_url: str, api_key: str) -> None:
        self._clients = _Clients(base_url, api_key)
        self._room = RemoteArtifacts(self._clients)

    def room(self) -> RemoteArtifacts:
        return self._room

    def blobs(self) -> RemoteBlobs:
        return self._room.blobs

    def progress(self, session: str) -> int:
        """The last record of ``session`` the server has applied."""
        return self._clients.get().progress(session)

    def check_type(self, entity: str, project: str, name: str, type_name: str) -> None:
        self._room.check_type(entity, project, name, type_name)

    def close(self) -> None:
        self._clients.close()


def _collection(entity: str, project: str, name: str) -> str:
    return "/artifacts/" + "/".join(_quote(p) for p in (entity, project, name))


def _quote(part: str) -> str:
    return urllib.parse.quote(part, safe="")


def _not_here(what: str) -> UnsupportedError:
    return UnsupportedError(
        f"{what} of an artifact on a runyard server is not possible from a training run yet: do it in the web app"
    )
