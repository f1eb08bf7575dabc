"""What the artifact room's reads return: frozen dataclasses."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["ArtifactCollectionInfo", "ArtifactFile", "ArtifactTypeInfo", "ArtifactVersion", "GcReport"]


@dataclass(frozen=True)
class ArtifactVersion:
    """One version of a collection: ``name:v3``, with its aliases and the run that logged it."""

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
    """The run that logged it (None once that run is deleted: the version outlives it)."""

    @property
    def version(self) -> str:
        """``v0``, ``v1``, ..."""
        return f"v{self.version_index}"

    @property
    def qualified_name(self) -> str:
        """``name:vN``."""
        return f"{self.name}:{self.version}"


@dataclass(frozen=True)
class ArtifactFile:
    """One file of a version's manifest: its content's digest and size, and where the bytes are."""

    path: str
    digest: str
    size: int
    blob_key: str | None
    """The blob holding the bytes; None for a reference."""
    ref: str | None
    """A reference's URI (``file://``, ``s3://``, ``https://``): its bytes were never copied."""


@dataclass(frozen=True)
class ArtifactCollectionInfo:
    """A collection (an artifact's name in a project) and its versions' count."""

    id: int
    entity: str
    project: str
    type: str
    name: str
    description: str | None
    created_at: float
    keep_last: int | None
    version_count: int


@dataclass(frozen=True)
class ArtifactTypeInfo:
    """An artifact type of a project (``dataset``, ``model``...) and how many collections have it."""

    name: str
    collection_count: int


@dataclass(frozen=True)
class GcReport:
    """What a garbage collection of the blob store did (or, dry, would do)."""

    deleted: int = 0
    bytes_freed: int = 0
    referenced: int = 0
    too_young: int = 0
    """Unreferenced blobs kept because they are younger than the grace period (a writer may be about to
    commit a manifest naming them)."""
    dry_run: bool = False
    keys: list[str] = field(default_factory=list)
