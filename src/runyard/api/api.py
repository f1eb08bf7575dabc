"""``Api``: the entry point of the public API, and ``Project``."""

from __future__ import annotations

import getpass
import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlparse

from runyard.api.runs import Run, Runs, iso_time
from runyard.errors import NotFoundError, UsageError
from runyard.settings import Settings, init_params_from_env

if TYPE_CHECKING:
    from runyard.api.artifacts import ArtifactCollection, ArtifactType
    from runyard.api.sweeps import Sweep
    from runyard.artifacts import Artifact
    from runyard.store import ProjectRecord, Store

__all__ = ["Api", "Project"]

DEFAULT_PROJECT = "Uncategorized"


class Api:
    """Query and edit the runs in a runyard store, as ``wandb.Api()`` does for W&B.

    ```python
    import runyard as wandb

    api = wandb.Api()
    run = api.run("entity/project/run_id")
    run.config["lr"] = 0.01
    run.update()
    ```

    Args:
        overrides: defaults for paths that leave them out: ``{"entity": ..., "project": ...}``. Without them
            the entity is ``RUNYARD_ENTITY`` / ``WANDB_ENTITY`` or the OS user (as ``runyard.init`` uses), the
            project ``RUNYARD_PROJECT`` / ``WANDB_PROJECT`` or ``"Uncategorized"``. Other keys are ignored.
        timeout: accepted for wandb compatibility; the embedded store does not time out.
        api_key: accepted for wandb compatibility; the embedded store needs no key.
        store_url: the store to read (default: ``runyard.Settings``: ``RUNYARD_STORE_URL``, else the SQLite
            file in the data folder).
        dir: the folder that holds runyard's data folder ``runyard/``, as ``init(dir=...)`` takes it (default
            ``RUNYARD_DIR`` / ``WANDB_DIR``, else the current folder). ``root_dir`` is the same (W&B's name).

    Opening the API opens the store and ingests whatever run logs under the data folder it still lacks (runs
    whose process died, as ``runyard sync`` does), so a run read back holds everything it logged. Call
    :meth:`close` (or use ``with runyard.Api() as api:``) to release the store's connections.

    Raises:
        NotFoundError: the store is the default SQLite file and there is no runyard data in ``dir`` at all
            (no store, no run log): the API never creates an empty store in the wrong folder.
    """

    def __init__(
        self,
        overrides: Mapping[str, Any] | None = None,
        timeout: float | None = None,
        api_key: str | None = None,
        *,
        store_url: str | None = None,
        dir: str | os.PathLike[str] | None = None,
        root_dir: str | os.PathLike[str] | None = None,
    ) -> None:
        from runyard.replay import open_store

        overrides = dict(overrides or {})
        folder = dir if dir is not None else root_dir
        settings = Settings(root_dir=None if folder is None else os.fspath(folder), store_url=store_url).resolved()
        if settings.no_local_data():
            raise NotFoundError(settings.no_local_data_message("Api(dir=...)"))
        env = init_params_from_env()
        self._entity = str(overrides.get("entity") or env.get("entity") or _os_user())
        self._project = str(overrides.get("project") or env.get("project") or DEFAULT_PROJECT)
        self.store_url = settings.store_url
        self._store: Store = open_store(settings.store_url, settings.data_dir, settings.crash_timeout)

    @property
    def default_entity(self) -> str:
        """The entity of paths that name none."""
        return self._entity

    @property
    def default_project(self) -> str:
        """The project of paths that name none."""
        return self._project

    @property
    def server_url(self) -> str | None:
        """The address of the server that serves this store (``runyard ui`` / ``runyard server`` record it when
        they start), or None: run and project URLs are built on it."""
        return self._store.server_url()

    @property
    def settings(self) -> dict[str, str]:
        """The defaults in use: ``entity``, ``project`` and ``store_url``."""
        return {"entity": self._entity, "project": self._project, "store_url": self.store_url}

    def close(self) -> None:
        """Release the store's connections; the API and what it returned must not be used afterwards."""
        self._store.close()

    def __enter__(self) -> Api:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- runs -----------------------------------------------------------------------------------------------

    def runs(
        self,
        path: str | None = None,
        filters: Mapping[str, Any] | None = None,
        order: str = "-created_at",
        per_page: int = 50,
        include_sweeps: bool = True,
        lazy: bool = True,
    ) -> Runs:
        """The runs of a project that match ``filters``, as a lazy, paged, sized iterable of :class:`Run`.

        Args:
            path: ``"entity/project"`` or ``"project"`` (the default entity); default: the default project.
            filters: a MongoDB-style query, as W&B takes it: ``{"state": "finished"}``,
                ``{"config.lr": {"$lt": 0.01}}``, ``{"$or": [{"tags": "best"}, {"summary_metrics.acc":
                {"$gte": 0.9}}]}``. Operators: ``$and $or $nor $eq $ne $gt $gte $lt $lte $in $nin $exists
                $regex``. Fields: ``state, tags, display_name, name`` (the run id)``, group, job_type,
                created_at, heartbeat_at, host, username, notes, runtime, config.KEY, summary_metrics.KEY``.
            order: a field with ``-`` (descending) or ``+`` (ascending): ``created_at``, ``heartbeat_at``,
                ``display_name``, ``name``, ``state``, ``runtime``, ``config.KEY``, ``summary_metrics.KEY``...
                Runs missing the field come last either way. Default: newest first.
            per_page: how many runs are loaded at a time.
            include_sweeps: accepted for wandb compatibility.
            lazy: accepted for wandb compatibility.

        Raises:
            FilterError: the filter or the order is malformed (raised here, not when iterating).
        """
        entity, project = self._project_path(path)
        return Runs(self, entity, project, filters, order, per_page)

    def run(self, path: str = "") -> Run:
        """One run, by ``"entity/project/run_id"``, ``"entity/project/runs/run_id"``, ``"project/run_id"``,
        ``"run_id"`` or the run's URL.

        Raises:
            NotFoundError: no such run.
        """
        entity, project, run_id = self._run_path(path)
        record = self._store.get_run(entity, project, run_id)
        if record is None:
            raise NotFoundError(f"Could not find run {entity}/{project}/{run_id}")
        return Run(self, record)

    def sweep(self, path: str = "") -> Sweep:
        """A sweep, by ``"entity/project/sweep_id"``, ``"project/sweep_id"`` or ``"sweep_id"``.

        Raises:
            NotFoundError: no such sweep.
        """
        from runyard.api.sweeps import Sweep

        return Sweep(self, self._store.sweeps.find(path, entity=None, project=None))

    def projects(self, entity: str | None = None, per_page: int = 200) -> list[Project]:
        """The projects of ``entity`` (default: the default entity), most recently active first."""
        return [Project(self, record) for record in self._store.list_projects(entity or self._entity)]

    def project(self, name: str, entity: str | None = None) -> Project:
        """One project.

        Raises:
            NotFoundError: the entity has no project of that name.
        """
        entity = entity or self._entity
        if "/" in name and entity == self._entity:
            entity, _, name = name.partition("/")
        for record in self._store.list_projects(entity):
            if record.name == name:
                return Project(self, record)
        raise NotFoundError(f"Could not find project {entity}/{name}")

    # -- paths ----------------------------------------------------------------------------------------------

    # -- artifacts (runyard.api.artifacts)

    def artifact(self, name: str, type: str | None = None) -> Artifact:
        """The artifact version ``name`` names: ``[entity/][project/]name[:version]`` where version is ``vN``, an
        alias (default ``latest``) or a manifest digest.

        Raises :class:`~runyard.errors.NotFoundError` saying which part is missing.
        """
        from runyard.api import artifacts

        return artifacts.artifact(self, name, type)

    def artifact_exists(self, name: str, type: str | None = None) -> bool:
        """Whether :meth:`artifact` finds ``name``."""
        try:
            self.artifact(name, type)
        except NotFoundError:
            return False
        return True

    def artifacts(self, type_name: str | None, name: str, per_page: int = 50, tags: Any = None) -> list[Artifact]:
        """Every version of the collection ``[entity/][project/]name``, newest first."""
        from runyard.api import artifacts

        return artifacts.artifact_versions(self, type_name, name)

    def artifact_versions(self, type_name: str | None, name: str, per_page: int = 50) -> list[Artifact]:
        """As :meth:`artifacts` (wandb's older name)."""
        return self.artifacts(type_name, name)

    def artifact_types(self, project: str | None = None) -> list[ArtifactType]:
        """The artifact types of a project (``entity/project`` or ``project``; default: the default project)."""
        from runyard.api.artifacts import ArtifactType

        entity, name = self._project_path(project)
        return [ArtifactType(self, entity, name, t.name) for t in self._store.artifacts.types(entity, name)]

    def artifact_type(self, type_name: str, project: str | None = None) -> ArtifactType:
        """One artifact type of a project."""
        for found in self.artifact_types(project):
            if found.name == type_name:
                return found
        raise NotFoundError(f"no artifact type {type_name!r} in {project or self._project}")

    def artifact_collections(self, project_name: str, type_name: str) -> list[ArtifactCollection]:
        """The collections of one type in a project."""
        return self.artifact_type(type_name, project_name).collections()

    def artifact_collection(self, type_name: str, name: str) -> ArtifactCollection:
        """The collection ``[entity/][project/]name`` of type ``type_name``."""
        from runyard.api import artifacts

        entity, project, collection = artifacts.collection_path(self, name)
        info = self._store.artifacts.collection(entity, project, collection)
        if info is None or info.type != type_name:
            raise NotFoundError(f"no {type_name} artifact {collection!r} in {entity}/{project}")
        return artifacts.ArtifactCollection(self, info)

    def _project_path(self, path: str | None) -> tuple[str, str]:
        parts = _split(path or "")
        if len(parts) == 0:
            return self._entity, self._project
        if len(parts) == 1:
            return self._entity, parts[0]
        if len(parts) == 2:
            return parts[0], parts[1]
        raise UsageError(f"a project path is 'entity/project' or 'project', not {path!r}")

    def _run_path(self, path: str) -> tuple[str, str, str]:
        parts = _split(path)
        if len(parts) == 4 and parts[2] == "runs":
            parts = [parts[0], parts[1], parts[3]]
        if len(parts) == 3:
            return parts[0], parts[1], parts[2]
        if len(parts) == 2:
            return self._entity, parts[0], parts[1]
        if len(parts) == 1:
            return self._entity, self._project, parts[0]
        raise UsageError(
            f"a run path is 'entity/project/run_id' (or 'entity/project/runs/run_id', 'project/run_id', "
            f"'run_id'), not {path!r}"
        )

    def __repr__(self) -> str:
        return f"<Api {self.store_url}>"


class Project:
    """A project of the store, as ``api.project(name)`` returns it.

    Attributes:
        name: the project's name.
        entity: the entity that owns it.
        run_count: how many runs it held when read.
        created_at: when the project was created (ISO 8601, UTC).
        last_activity: when any of its runs last received data (ISO 8601, UTC).
    """

    def __init__(self, api: Api, record: ProjectRecord) -> None:
        self._api = api
        self.name = record.name
        self.entity = record.entity
        self.run_count = record.run_count
        self.created_at = iso_time(record.created_at)
        self.last_activity = iso_time(record.last_activity)

    @property
    def path(self) -> list[str]:
        """``[entity, name]``."""
        return [self.entity, self.name]

    @property
    def url(self) -> str | None:
        """The project's page on the server that serves the store, or None when no server has served it."""
        base = self._api.server_url
        return None if base is None else f"{base}/{quote(self.entity)}/{quote(self.name)}"

    def runs(self, filters: Mapping[str, Any] | None = None, order: str = "-created_at", per_page: int = 50) -> Runs:
        """The project's runs; see :meth:`Api.runs`."""
        return self._api.runs(f"{self.entity}/{self.name}", filters=filters, order=order, per_page=per_page)

    def __repr__(self) -> str:
        return f"<Project {self.entity}/{self.name}>"


def _split(path: str) -> list[str]:
    if not isinstance(path, str):
        raise UsageError(f"a path is a string such as 'entity/project/run_id', not {type(path).__name__}")
    if "://" in path:
        path = urlparse(path).path
    parts = [part for part in path.strip().strip("/").split("/")]
    if parts == [""]:
        return []
    if any(not part for part in parts):
        raise UsageError(f"path {path!r} has an empty part")
    return parts


def _os_user() -> str:
    try:
        return getpass.getuser()
    except Exception:
        return "local"
