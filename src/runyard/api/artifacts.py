"""``runyard.Api()``'s artifact reads: versions as :class:`runyard.Artifact`, types and collections."""

from __future__ import annotations

from typing import TYPE_CHECKING

from runyard.artifacts import Artifact
from runyard.errors import NotFoundError, UsageError

if TYPE_CHECKING:
    from runyard.api.api import Api
    from runyard.store.artifacts.models import ArtifactCollectionInfo

__all__ = ["ArtifactCollection", "ArtifactType", "artifact", "artifact_versions", "collection_path"]


def artifact(api: Api, name: str, type: str | None = None) -> Artifact:
    """The version ``[entity/][project/]name[:version]`` names (version default ``latest``)."""
    room = api._store.artifacts
    version = room.get(name, api.default_entity, api.default_project)
    if type is not None and version.type != type:
        raise UsageError(f"artifact {name!r} is of type {version.type!r}, not {type!r}")
    return Artifact._from_store(version, room)


def collection_path(api: Api, name: str) -> tuple[str, str, str]:
    """``[entity/][project/]collection`` as ``(entity, project, collection)``."""
    parts = [p for p in name.split(":", 1)[0].split("/") if p]
    if not parts or len(parts) > 3:
        raise UsageError(f"an artifact collection is 'entity/project/name', 'project/name' or 'name', not {name!r}")
    entity = parts[0] if len(parts) == 3 else api.default_entity
    project = parts[-2] if len(parts) >= 2 else api.default_project
    return entity, project, parts[-1]


def artifact_versions(api: Api, type_name: str | None, name: str) -> list[Artifact]:
    """Every version of a collection, newest first."""
    entity, project, collection = collection_path(api, name)
    room = api._store.artifacts
    found = room.collection(entity, project, collection)
    if found is None:
        raise NotFoundError(f"no artifact {collection!r} in {entity}/{project}")
    if type_name is not None and found.type != type_name:
        raise UsageError(f"artifact {collection!r} is of type {found.type!r}, not {type_name!r}")
    return [Artifact._from_store(v, room) for v in room.versions(entity, project, collection)]


class ArtifactCollection:
    """A collection: every version of one artifact name, as ``wandb.Api().artifact_collection`` returns."""

    def __init__(self, api: Api, info: ArtifactCollectionInfo) -> None:
        self._api = api
        self.entity = info.entity
        self.project = info.project
        self.name = info.name
        self.type = info.type
        self.description = info.description
        self.keep_last = info.keep_last

    def artifacts(self) -> list[Artifact]:
        """The versions, newest first."""
        return artifact_versions(self._api, self.type, f"{self.entity}/{self.project}/{self.name}")

    versions = artifacts

    def set_retention(self, keep_last: int | None) -> int:
        """Keep the last ``keep_last`` versions plus every aliased one (None: keep all); returns how many versions
        were deleted now. Applied again after every new version."""
        return len(self._api._store.artifacts.set_retention(self.entity, self.project, self.name, keep_last))

    def __repr__(self) -> str:
        return f"<ArtifactCollection {self.entity}/{self.project}/{self.name} type={self.type!r}>"


class ArtifactType:
    """An artifact type of a project (``dataset``, ``model``...)."""

    def __init__(self, api: Api, entity: str, project: str, name: str) -> None:
        self._api = api
        self.entity = entity
        self.project = project
        self.name = name

    @property
    def type(self) -> str:
        """As :attr:`name`."""
        return self.name

    def collections(self) -> list[ArtifactCollection]:
        """The type's collections, by name."""
        infos = self._api._store.artifacts.collections(self.entity, self.project, self.name)
        return [ArtifactCollection(self._api, info) for info in infos]

    def collection(self, name: str) -> ArtifactCollection:
        """One collection of the type."""
        for found in self.collections():
            if found.name == name:
                return found
        raise NotFoundError(f"no {self.name} artifact {name!r} in {self.entity}/{self.project}")

    def __repr__(self) -> str:
        return f"<ArtifactType {self.name}>"
