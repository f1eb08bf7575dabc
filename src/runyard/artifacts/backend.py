"""What a logged artifact needs of its store: :class:`ArtifactBackend` (the store's artifact room fits it)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, Protocol

__all__ = ["ArtifactBackend", "BlobAccess", "FileRecord", "VersionRecord"]


class VersionRecord(Protocol):
    """A stored version (``runyard.store.artifacts.models.ArtifactVersion``)."""

    @property
    def id(self) -> int: ...

    @property
    def entity(self) -> str: ...

    @property
    def project(self) -> str: ...

    @property
    def type(self) -> str: ...

    @property
    def name(self) -> str: ...

    @property
    def version_index(self) -> int: ...

    @property
    def digest(self) -> str: ...

    @property
    def description(self) -> str | None: ...

    @property
    def metadata(self) -> dict[str, Any]: ...

    @property
    def size(self) -> int: ...

    @property
    def file_count(self) -> int: ...

    @property
    def created_at(self) -> float: ...

    @property
    def aliases(self) -> tuple[str, ...]: ...

    @property
    def run_id(self) -> str | None: ...


class FileRecord(Protocol):
    """A stored manifest entry (``runyard.store.artifacts.models.ArtifactFile``)."""

    @property
    def path(self) -> str: ...

    @property
    def digest(self) -> str: ...

    @property
    def size(self) -> int: ...

    @property
    def blob_key(self) -> str | None: ...

    @property
    def ref(self) -> str | None: ...


class BlobAccess(Protocol):
    """The blob store, as far as artifacts use it."""

    def put_file(self, path: Path, *, durable: bool = True) -> tuple[str, int, int]: ...

    def flush(self) -> None: ...

    def stream(self, key: str) -> tuple[int, Iterator[bytes]]: ...

    def exists(self, key: str) -> bool: ...


class ArtifactBackend(Protocol):
    """Reads and edits of stored artifacts (``store.artifacts``)."""

    @property
    def blobs(self) -> BlobAccess: ...

    def get(self, path: str, entity: str, project: str) -> VersionRecord: ...

    def version(self, entity: str, project: str, name: str, spec: str = ...) -> VersionRecord | None: ...

    def files(self, version: Any) -> Sequence[FileRecord]: ...

    def check_type(self, entity: str, project: str, name: str, type_name: str) -> None: ...

    def set_aliases(self, version: Any, aliases: Sequence[str]) -> VersionRecord: ...

    def update(
        self, version: Any, *, description: str | None = None, metadata: dict[str, Any] | None = None
    ) -> VersionRecord: ...

    def delete(self, version: Any, *, delete_aliases: bool = False) -> None: ...

    def runs_of(self, version: Any, kind: str = ...) -> list[tuple[str, str, str]]: ...
