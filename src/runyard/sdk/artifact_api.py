"""Module-level artifact and file functions (``runyard.log_artifact``, ``runyard.save``...): the active run's."""

from __future__ import annotations

import os
from typing import Any

from runyard.artifacts import Artifact
from runyard.errors import Error
from runyard.sdk import lifecycle, run_artifacts
from runyard.sdk.run import Run

__all__ = ["log_artifact", "log_code", "log_model", "restore", "save", "use_artifact", "use_model"]


def _require(what: str) -> Run:
    run = lifecycle.active_run()
    if run is None:
        raise Error(f"You must call runyard.init() before runyard.{what}()")
    return run


def log_artifact(
    artifact_or_path: Artifact | str | os.PathLike[str],
    name: str | None = None,
    type: str | None = None,
    aliases: list[str] | None = None,
) -> Artifact:
    """Log an artifact with the active run; see :meth:`runyard.Run.log_artifact`."""
    return _require("log_artifact").log_artifact(artifact_or_path, name=name, type=type, aliases=aliases)


def use_artifact(
    artifact_or_name: Artifact | str, type: str | None = None, aliases: list[str] | None = None
) -> Artifact:
    """Use an artifact in the active run; see :meth:`runyard.Run.use_artifact`."""
    return _require("use_artifact").use_artifact(artifact_or_name, type=type, aliases=aliases)


def log_model(path: str | os.PathLike[str], name: str | None = None, aliases: list[str] | None = None) -> None:
    """Log a model with the active run; see :meth:`runyard.Run.log_model`."""
    _require("log_model").log_model(path, name=name, aliases=aliases)


def use_model(name: str) -> str:
    """Use and download a model in the active run; see :meth:`runyard.Run.use_model`."""
    return _require("use_model").use_model(name)


def log_code(
    root: str | None = ".", name: str | None = None, include_fn: Any = None, exclude_fn: Any = None
) -> Artifact | None:
    """Log source code with the active run; see :meth:`runyard.Run.log_code`."""
    return _require("log_code").log_code(root, name, include_fn, exclude_fn)


def save(glob_str: str | os.PathLike[str] | None = None, base_path: str | None = None, policy: str = "live") -> Any:
    """Store files with the active run; see :meth:`runyard.Run.save`."""
    return _require("save").save(glob_str, base_path, policy)


def restore(name: str, run_path: str | None = None, replace: bool = False, root: str | None = None) -> Any:
    """Fetch a file saved with a run (the active one, or ``run_path``) and open it; see :meth:`runyard.Run.restore`."""
    run = lifecycle.active_run()
    if run is not None:
        return run.restore(name, run_path=run_path, replace=replace, root=root)
    from runyard.settings import Settings

    return run_artifacts.restore(None, name, run_path, replace, root, Settings().resolved())
