"""What ``Run.log_artifact``, ``use_artifact``, ``log_model``, ``use_model``, ``save``, ``restore`` and
``log_code`` do (kept beside :mod:`runyard.sdk.run`; the background work is :mod:`runyard.sdk.artifact_uploads`).

Artifacts need the store's blob store: they work for runs logged to the embedded store (the default) and for runs
sent to a runyard server (files are uploaded to the server's ingest API: :mod:`runyard.sinks.remote_artifacts`).
An offline run keeps the files, content-addressed, beside its run log (:mod:`runyard.sinks.offline_artifacts`);
``runyard sync`` stores them before the records naming them. Offline runs cannot use artifacts (they read no store).
"""

from __future__ import annotations

import glob
import os
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from runyard import records as R
from runyard.artifacts import Artifact
from runyard.errors import NotFoundError, UnsupportedError, UsageError
from runyard.sdk.artifact_uploads import ArtifactUploads

if TYPE_CHECKING:
    from runyard.sdk.run import Run

__all__ = [
    "finish_uploads",
    "log_artifact",
    "log_code",
    "log_model",
    "restore",
    "save",
    "use_artifact",
    "use_model",
]

_POLICIES = ("live", "now", "end")
_CODE_EXCLUDED = re.compile(r"(^|/)(\.git|\.venv|venv|env|wandb|runyard|artifacts|node_modules|__pycache__)(/|$)")
_NAME_UNSAFE = re.compile(r"[^A-Za-z0-9_.\-]+")


def _uploads(run: Run, what: str, offline: bool = False) -> ArtifactUploads:
    settings = run.settings
    if settings.mode == "offline" and not offline:
        raise UnsupportedError(
            f"run.{what}: an offline run reads no store: use artifacts from an online run (to the local store or a "
            "runyard server). Artifacts an offline run logs are stored when `runyard sync` sends it"
        )
    if run._uploads is None:
        run._uploads = ArtifactUploads(run)
    return run._uploads


def _as_artifact(artifact_or_path: Artifact | str | os.PathLike[str], name: str | None, type: str | None) -> Artifact:
    if isinstance(artifact_or_path, Artifact):
        if name is not None and name != artifact_or_path._name:
            raise UsageError(
                f"log_artifact: name={name!r} differs from the artifact's own ({artifact_or_path._name!r})"
            )
        return artifact_or_path
    if not isinstance(artifact_or_path, (str, os.PathLike)):
        raise UsageError(f"log_artifact takes an Artifact or a path, not {artifact_or_path.__class__.__name__}")
    path = Path(artifact_or_path)
    if not path.exists():
        raise UsageError(f"log_artifact: no file or folder {path}")
    default = _NAME_UNSAFE.sub("-", path.absolute().name) or "artifact"
    artifact = Artifact(name or default, type or "unspecified")
    if path.is_dir():
        artifact.add_dir(path)
    else:
        artifact.add_file(path)
    return artifact


def log_artifact(
    run: Run,
    artifact_or_path: Artifact | str | os.PathLike[str],
    name: str | None = None,
    type: str | None = None,
    aliases: Sequence[str] | None = None,
) -> Artifact:
    """Queue the artifact for storing and return it at once (see :meth:`runyard.Run.log_artifact`)."""
    run._check_usable("log_artifact")
    artifact = _as_artifact(artifact_or_path, name, type)
    if isinstance(aliases, str):
        aliases = [aliases]
    for alias in aliases or ():
        if not isinstance(alias, str) or not alias or ":" in alias or "/" in alias:
            raise UsageError(f"log_artifact: {alias!r} cannot be an alias (a non-empty name without ':' or '/')")
    if not artifact.is_draft():
        raise UsageError(
            f"artifact {artifact.name} is already logged; to log new content, make a new Artifact (or new_draft())"
        )
    if not artifact.manifest:
        raise UsageError(f"artifact {artifact._name} has no files: add some (add_file, add_dir...) before logging it")
    if run.settings.mode == "disabled":
        return artifact
    uploads = _uploads(run, "log_artifact", offline=True)
    artifact._final = True
    artifact.aliases = list(dict.fromkeys([*artifact.aliases, *(aliases or ())]))
    artifact._pending = uploads.submit("log", artifact, aliases=list(artifact.aliases))
    return artifact


def use_artifact(
    run: Run,
    artifact_or_name: Artifact | str,
    type: str | None = None,
    aliases: Sequence[str] | None = None,
    use_as: str | None = None,
) -> Artifact:
    """Record that the run uses a version and return it, ready to download (see :meth:`runyard.Run.use_artifact`)."""
    run._check_usable("use_artifact")
    if run.settings.mode == "disabled":
        raise UnsupportedError("use_artifact: a run with mode='disabled' reads no store: start it online to use it")
    uploads = _uploads(run, "use_artifact")
    if isinstance(artifact_or_name, Artifact):
        artifact = artifact_or_name
        if artifact.is_draft():
            log_artifact(run, artifact, aliases=aliases)
        artifact.wait()
    elif isinstance(artifact_or_name, str):
        backend = uploads.backend()
        try:
            version = backend.get(artifact_or_name, run.entity, run.project)
        except NotFoundError as exc:
            raise NotFoundError(f"use_artifact({artifact_or_name!r}): {exc}") from None
        if type is not None and version.type != type:
            raise UsageError(f"use_artifact: {artifact_or_name!r} is of type {version.type!r}, not {type!r}")
        artifact = Artifact._from_store(version, backend)
    else:
        raise UsageError(f"use_artifact takes a name ('name:latest') or an Artifact, not {artifact_or_name!r}")
    assert artifact._version is not None
    body = {
        "action": "use",
        "entity": artifact.entity,
        "project": artifact.project,
        "name": artifact._name,
        "digest": artifact._version.digest,
    }
    with run._lock:
        run._write(R.KIND_ARTIFACT, body)
    return artifact


def log_model(
    run: Run, path: str | os.PathLike[str], name: str | None = None, aliases: Sequence[str] | None = None
) -> None:
    """Log a model file or folder as an artifact of type ``model`` (see :meth:`runyard.Run.log_model`)."""
    if name is None:
        name = f"run-{run.id}-{_NAME_UNSAFE.sub('-', Path(path).absolute().name)}"
    log_artifact(run, path, name=name, type="model", aliases=aliases)


def use_model(run: Run, name: str) -> str:
    """Use a model artifact and download it; returns the downloaded path (a file for a one-file model)."""
    artifact = use_artifact(run, name)
    if artifact.type != "model":
        raise UsageError(f"use_model({name!r}): it is of type {artifact.type!r}; use_model reads 'model' artifacts")
    folder = artifact.download()
    files = artifact.files()
    return str(Path(folder) / files[0].path) if len(files) == 1 else folder


def save(run: Run, glob_str: str | os.PathLike[str] | None, base_path: str | None, policy: str) -> list[str]:
    """Store files matching ``glob_str`` with the run (see :meth:`runyard.Run.save`); returns their names."""
    run._check_usable("save")
    if policy not in _POLICIES:
        raise UsageError(f"save: policy is one of {', '.join(_POLICIES)}, not {policy!r}")
    if glob_str is None:
        return []
    pattern = os.fspath(glob_str)
    if base_path is None:
        base_path = os.path.dirname(pattern) if os.path.isabs(pattern) else "."
    found = [p for p in sorted(glob.glob(pattern, recursive=True)) if os.path.isfile(p)]
    names = []
    for path in found:
        name = os.path.relpath(os.path.abspath(path), os.path.abspath(base_path))
        if name.startswith(".."):
            raise UsageError(f"save: {path} is not under base_path {base_path}")
        names.append(name.replace(os.sep, "/"))
        if policy in ("now", "live"):
            _save_file(run, name, Path(path))
        if policy in ("live", "end"):
            run._save_at_end[name] = Path(path).absolute()
    return names


def _save_file(run: Run, name: str, path: Path) -> None:
    if run.settings.mode == "disabled":
        return
    if run.settings.mode == "online" and run.settings.base_url is None:
        _uploads(run, "save").submit("file", None, name=name, path=str(path.absolute()))
        return
    # Offline, or to a server: the file travels in the run log (bounded by the run log's record limit).
    content = path.read_bytes()
    with run._lock:
        run._write(R.KIND_FILE, {"name": name, "content": content})


def finish_uploads(run: Run, quiet: bool) -> list[str]:
    """At ``finish()``: store the files saved with policy ``live``/``end``, then wait for every upload."""
    problems = []
    for name, path in list(run._save_at_end.items()):
        try:
            if path.is_file():
                _save_file(run, name, path)
        except (OSError, UsageError) as exc:
            problems.append(f"the saved file {name} could not be stored: {exc}")
    run._save_at_end.clear()
    uploads = run._uploads
    if uploads is not None:
        problems += uploads.finish(quiet)
        uploads.close()
    return problems


def restore(
    run: Run | None,
    name: str,
    run_path: str | None,
    replace: bool,
    root: str | None,
    settings: Any,
) -> IO[str]:
    """Fetch a run's saved file into ``root`` and open it (see :func:`runyard.restore`)."""
    from runyard.sinks import LocalSink

    if run_path is None:
        if run is None:
            raise UsageError("restore: pass run_path='entity/project/run_id' (or call it inside a run)")
        entity, project, run_id = run.entity, run.project, run.id
    else:
        parts = run_path.strip("/").split("/")
        if len(parts) != 3 or not all(parts):
            raise UsageError(f"restore: run_path is 'entity/project/run_id', not {run_path!r}")
        entity, project, run_id = parts
    target = Path(root or (run.dir if run is not None else ".")) / name
    if target.exists() and not replace:
        return open(target, encoding="utf-8")
    sink = LocalSink(settings.store_url, settings.crash_timeout)
    try:
        content = sink.store.file_content(entity, project, run_id, name)
    finally:
        sink.close()
    if content is None:
        raise NotFoundError(f"restore: run {entity}/{project}/{run_id} has no file {name!r}")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(content)
    return open(target, encoding="utf-8")


def log_code(
    run: Run,
    root: str | os.PathLike[str] | None,
    name: str | None,
    include_fn: Callable[..., bool] | None,
    exclude_fn: Callable[..., bool] | None,
) -> Artifact | None:
    """Log the source files under ``root`` as a ``code`` artifact (see :meth:`runyard.Run.log_code`)."""
    base = Path(root if root is not None else ".").absolute()
    if not base.is_dir():
        raise UsageError(f"log_code: {base} is not a folder")
    artifact = Artifact(name or _NAME_UNSAFE.sub("-", f"source-{run.project}-{run.id}"), "code")
    for folder, dirs, files in os.walk(base):
        dirs[:] = sorted(d for d in dirs if not _CODE_EXCLUDED.search(d))
        for file in sorted(files):
            full = Path(folder) / file
            rel = full.relative_to(base).as_posix()
            if _call(exclude_fn, str(full), str(base)) if exclude_fn else _CODE_EXCLUDED.search(rel):
                continue
            if not (_call(include_fn, str(full), str(base)) if include_fn else file.endswith(".py")):
                continue
            artifact.add_file(full, rel)
    if not artifact.manifest:
        return None
    return log_artifact(run, artifact)


def _call(fn: Callable[..., bool], path: str, root: str) -> bool:
    try:
        return bool(fn(path, root))
    except TypeError:
        return bool(fn(path))  # wandb's older include_fn(path)
