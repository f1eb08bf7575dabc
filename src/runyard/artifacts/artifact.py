"""``Artifact``: build one (draft), log it with ``run.log_artifact``, read one back (logged)."""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Protocol

from runyard.artifacts.backend import ArtifactBackend, FileRecord, VersionRecord
from runyard.artifacts.errors import ArtifactCorruptError, ArtifactFinalizedError, ArtifactNotLoggedError
from runyard.artifacts.references import sha256_file
from runyard.errors import UsageError
from runyard.manifest_digest import manifest_digest

__all__ = ["Artifact", "ArtifactManifestEntry"]

_NAME = re.compile(r"[A-Za-z0-9_.\-]+")
_CHUNK = 4 * 1024 * 1024


class _Pending(Protocol):
    """A log in progress (the SDK's upload job): waiting gives the committed version and its backend."""

    def wait(self, timeout: float | None) -> tuple[VersionRecord, ArtifactBackend]: ...


@dataclass
class ArtifactManifestEntry:
    """One file of an artifact: its path in the artifact, content digest and size, and where its bytes are.

    ``local_path`` is the file on this machine (a draft's added file, or a downloaded one); ``ref`` is a
    reference's URI; ``blob_key`` is the stored content of a logged file.
    """

    path: str
    digest: str | None = None
    size: int | None = None
    local_path: str | None = None
    ref: str | None = None
    blob_key: str | None = None
    _artifact: Artifact | None = None

    @property
    def name(self) -> str:
        """The entry's path in the artifact."""
        return self.path

    def download(self, root: str | None = None) -> str:
        """Download this file of a logged artifact under ``root`` (default: the artifact's folder); its path."""
        if self._artifact is None:
            raise ArtifactNotLoggedError(f"{self.path} belongs to no logged artifact")
        return self._artifact._download_entry(self, Path(root or self._artifact._default_root()))


class Artifact:
    """A versioned set of files: datasets, models, evaluation tables, as ``wandb.Artifact``.

    Build a draft, then log it; every log of different content is a new version (``v0``, ``v1``...) of the
    artifact's name, and ``latest`` moves to it. Logging the same content again is the same version::

        artifact = runyard.Artifact("mnist", type="dataset", metadata={"rows": 70000})
        artifact.add_dir("data/mnist")
        run.log_artifact(artifact, aliases=["train"])

        dataset = run.use_artifact("mnist:latest")
        folder = dataset.download()

    Args:
        name: the artifact's name in its project (letters, digits, ``-``, ``_``, ``.``).
        type: what it is (``dataset``, ``model``...); a name keeps one type.
        description: free text shown with it.
        metadata: a JSON-serialisable dict (hyperparameters, metrics, provenance).
        incremental: accepted for wandb compatibility: every version is stored incrementally (unchanged files
            cost nothing).
    """

    def __init__(
        self,
        name: str,
        type: str,
        description: str | None = None,
        metadata: dict[str, Any] | None = None,
        incremental: bool = False,
        use_as: str | None = None,
    ) -> None:
        if not isinstance(name, str) or not _NAME.fullmatch(name):
            raise UsageError(
                f"artifact name {name!r}: use letters, digits, '-', '_' and '.' only (':' names a version, '/' a "
                "project)"
            )
        if not isinstance(type, str) or not type.strip() or "/" in type or ":" in type:
            raise UsageError(f"artifact type {type!r}: give a non-empty name without '/' or ':' (e.g. 'dataset')")
        if metadata is not None and not isinstance(metadata, dict):
            raise UsageError(f"artifact metadata is a dict, not {metadata!r}")
        self._name = name
        self._type = type
        self.description = description
        self.metadata: dict[str, Any] = dict(metadata or {})
        self.aliases: list[str] = []
        self._entries: dict[str, ArtifactManifestEntry] = {}
        self._staging: Path | None = None
        self._final = False
        self._pending: _Pending | None = None
        self._version: VersionRecord | None = None
        self._backend: ArtifactBackend | None = None
        self._download_root: Path | None = None

    # -- identity

    @classmethod
    def _from_store(cls, version: VersionRecord, backend: ArtifactBackend) -> Artifact:
        artifact = cls(version.name, version.type, version.description, dict(version.metadata))
        artifact._bind(version, backend)
        return artifact

    def _bind(self, version: VersionRecord, backend: ArtifactBackend) -> None:
        self._version, self._backend, self._final = version, backend, True
        self.description = version.description
        self.metadata = dict(version.metadata)
        self.aliases = sorted(version.aliases, key=lambda a: a == "latest")  # latest last, as W&B lists it
        self._entries = {}
        for f in backend.files(version):
            self._entries[f.path] = self._entry_of(f)

    def _entry_of(self, f: FileRecord) -> ArtifactManifestEntry:
        return ArtifactManifestEntry(f.path, f.digest, f.size, None, f.ref, f.blob_key, self)

    @property
    def name(self) -> str:
        """``name:vN`` once logged (as W&B's), the bare name for a draft."""
        return self._name if self._version is None else f"{self._name}:v{self._version.version_index}"

    @property
    def source_name(self) -> str:
        """As :attr:`name`."""
        return self.name

    @property
    def qualified_name(self) -> str:
        """``entity/project/name:vN`` of a logged artifact."""
        version = self._logged()
        return f"{version.entity}/{version.project}/{self.name}"

    @property
    def type(self) -> str:
        """The artifact's type."""
        return self._type

    @property
    def version(self) -> str:
        """``vN`` of a logged artifact."""
        return f"v{self._logged().version_index}"

    @property
    def id(self) -> str | None:
        """The stored version's id (None for a draft)."""
        return None if self._version is None else str(self._version.id)

    @property
    def entity(self) -> str:
        """The entity of a logged artifact."""
        return self._logged().entity

    @property
    def project(self) -> str:
        """The project of a logged artifact."""
        return self._logged().project

    @property
    def digest(self) -> str:
        """The manifest's digest: equal for equal content."""
        if self._version is not None:
            return self._version.digest
        if any(e.digest is None for e in self._entries.values()):
            raise ArtifactNotLoggedError(f"artifact {self._name}'s files are hashed when it is logged: wait() for it")
        return manifest_digest([[e.path, e.digest] for e in self._entries.values()])

    @property
    def size(self) -> int:
        """The total size of the files, in bytes."""
        if self._version is not None:
            return self._version.size
        return sum(e.size or 0 for e in self._entries.values())

    @property
    def file_count(self) -> int:
        """How many files the artifact has."""
        return len(self._entries)

    @property
    def created_at(self) -> float | None:
        """When the version was first logged (unix seconds)."""
        return None if self._version is None else self._version.created_at

    @property
    def state(self) -> str:
        """``PENDING`` for a draft, ``COMMITTED`` once logged."""
        return "PENDING" if self._version is None else "COMMITTED"

    @property
    def manifest(self) -> dict[str, ArtifactManifestEntry]:
        """The artifact's entries by path."""
        return dict(self._entries)

    def is_draft(self) -> bool:
        """Whether the artifact is not (yet) logged."""
        return self._version is None and self._pending is None

    def __repr__(self) -> str:
        return f"<Artifact {self.name} type={self._type!r} files={len(self._entries)}>"

    # -- building a draft

    def _check_draft(self) -> None:
        if self._final:
            raise ArtifactFinalizedError(
                f"artifact {self.name} is logged: its files cannot change. Make a new runyard.Artifact (or call "
                "new_draft()) and log that: it becomes the next version"
            )

    def add_file(
        self,
        local_path: str | os.PathLike[str],
        name: str | None = None,
        is_tmp: bool | None = False,
        skip_cache: bool | None = False,
        policy: str | None = "mutable",
        overwrite: bool = False,
    ) -> ArtifactManifestEntry:
        """Add the file at ``local_path`` as ``name`` (default: its file name).

        Its content is read when the artifact is logged (off the training thread), not now.
        """
        self._check_draft()
        path = Path(local_path)
        if not path.is_file():
            raise UsageError(
                f"cannot add {path}: {'it is a folder (use add_dir)' if path.is_dir() else 'no such file'}"
            )
        entry_name = _clean_name(name if name is not None else path.name)
        if entry_name in self._entries and not overwrite and self._entries[entry_name].local_path != str(path):
            raise UsageError(
                f"artifact {self._name} already has a file {entry_name!r}: pass overwrite=True to replace it"
            )
        entry = ArtifactManifestEntry(entry_name, None, path.stat().st_size, str(path.absolute()))
        self._entries[entry_name] = entry
        return entry

    def add_dir(
        self,
        local_path: str | os.PathLike[str],
        name: str | None = None,
        skip_cache: bool | None = False,
        policy: str | None = "mutable",
        merge: bool = False,
    ) -> None:
        """Add every file under the folder ``local_path``, under ``name/`` (default: at the artifact's root)."""
        self._check_draft()
        root = Path(local_path)
        if not root.is_dir():
            raise UsageError(
                f"cannot add the folder {root}: {'it is a file (use add_file)' if root.is_file() else 'no such folder'}"
            )
        prefix = _clean_name(name) + "/" if name else ""
        for folder, dirs, files in os.walk(root):
            dirs.sort()
            base = Path(folder)
            for file in sorted(files):
                full = base / file
                rel = full.relative_to(root).as_posix()
                self._entries[prefix + rel] = ArtifactManifestEntry(
                    prefix + rel, None, full.stat().st_size, str(full.absolute())
                )

    def add_reference(
        self,
        uri: str | os.PathLike[str],
        name: str | None = None,
        checksum: bool = True,
        max_objects: int | None = None,
    ) -> Sequence[ArtifactManifestEntry]:
        """Add a reference to files that stay where they are: ``file://``, ``s3://`` or ``http(s)://``.

        Checksummed now (a local file by content, an object by its ETag, else size), never copied.
        """
        self._check_draft()
        uri = str(uri)
        if "://" not in uri:
            uri = Path(uri).absolute().as_uri()
        from runyard.artifacts.references import reference_entries

        added = []
        for entry_name, digest, size, ref in reference_entries(uri, name, checksum, max_objects):
            entry = ArtifactManifestEntry(_clean_name(entry_name), digest, size, None, ref)
            self._entries[entry.path] = entry
            added.append(entry)
        return added

    @contextlib.contextmanager
    def new_file(self, name: str, mode: str = "x", encoding: str | None = None) -> Iterator[IO[Any]]:
        """Open a new file ``name`` of the artifact for writing (``with artifact.new_file("a.txt") as f: ...``)."""
        self._check_draft()
        entry_name = _clean_name(name)
        if entry_name in self._entries:
            raise UsageError(f"artifact {self._name} already has a file {entry_name!r}")
        if self._staging is None:
            self._staging = Path(tempfile.mkdtemp(prefix="runyard-artifact-"))
        path = self._staging / entry_name
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, mode.replace("x", "w"), encoding=encoding) as fh:
            yield fh
        self.add_file(path, entry_name)

    def add(self, obj: Any, name: str, overwrite: bool = False) -> ArtifactManifestEntry:
        """Add an object as the file ``name``: a dict or list as JSON; an object with ``to_json()`` (a media
        value or table) as its JSON; bytes and text as they are."""
        self._check_draft()
        if hasattr(obj, "to_json") and callable(obj.to_json):
            try:
                data: Any = obj.to_json(self)
            except TypeError:
                data = obj.to_json()
            content = (data if isinstance(data, str) else json.dumps(data)).encode()
            suffix = "" if name.endswith(".json") else f".{type(obj).__name__.lower()}.json"
        elif isinstance(obj, (dict, list)):
            content, suffix = json.dumps(obj).encode(), "" if name.endswith(".json") else ".json"
        elif isinstance(obj, (bytes, bytearray)):
            content, suffix = bytes(obj), ""
        elif isinstance(obj, str):
            content, suffix = obj.encode(), ""
        else:
            raise UsageError(
                f"cannot add a {type(obj).__name__} to an artifact: add a file (add_file), or a dict, list, str or "
                "bytes, or an object with to_json()"
            )
        entry_name = _clean_name(name + suffix)
        if entry_name in self._entries and not overwrite:
            raise UsageError(f"artifact {self._name} already has a file {entry_name!r}: pass overwrite=True")
        if self._staging is None:
            self._staging = Path(tempfile.mkdtemp(prefix="runyard-artifact-"))
        path = self._staging / entry_name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
        return self.add_file(path, entry_name, overwrite=True)

    def __setitem__(self, name: str, obj: Any) -> None:
        """``artifact["predictions"] = table``: as :meth:`add`."""
        self.add(obj, name, overwrite=True)

    def remove(self, item: str | ArtifactManifestEntry) -> None:
        """Remove a file (or every file under a folder path) from a draft."""
        self._check_draft()
        name = item.path if isinstance(item, ArtifactManifestEntry) else _clean_name(str(item))
        doomed = [p for p in self._entries if p == name or p.startswith(name.rstrip("/") + "/")]
        if not doomed:
            raise UsageError(f"artifact {self._name} has no file or folder {name!r}")
        for path in doomed:
            del self._entries[path]

    def get_entry(self, name: str) -> ArtifactManifestEntry:
        """The entry of the file ``name``; :class:`~runyard.errors.UsageError` (a KeyError too) when missing."""
        found = self._entries.get(_clean_name(name))
        if found is None:
            raise _MissingEntry(f"artifact {self.name} has no file {name!r} (it has {len(self._entries)} files)")
        return found

    get_path = get_entry

    def files(self, names: Sequence[str] | None = None, per_page: int = 50) -> list[ArtifactManifestEntry]:
        """The artifact's files (only ``names`` when given), by path."""
        entries = sorted(self._entries.values(), key=lambda e: e.path)
        return entries if names is None else [e for e in entries if e.path in set(names)]

    def new_draft(self) -> Artifact:
        """A draft with this artifact's name, type, description, metadata and files: change it, log it again."""
        draft = Artifact(self._name, self._type, self.description, dict(self.metadata))
        for path, entry in self._entries.items():
            draft._entries[path] = ArtifactManifestEntry(
                path, entry.digest, entry.size, entry.local_path, entry.ref, entry.blob_key
            )
        return draft

    # -- a logged artifact

    def wait(self, timeout: float | None = None) -> Artifact:
        """Wait until a logged artifact is stored (its files uploaded, its version committed); returns it.

        Raises the error that stopped it (a type clash, an unreadable file).
        """
        if self._version is None:
            if self._pending is None:
                raise ArtifactNotLoggedError(f"artifact {self._name} is a draft: log it with run.log_artifact() first")
            version, backend = self._pending.wait(timeout)
            aliases = self.aliases
            self._bind(version, backend)
            self.aliases = list(dict.fromkeys([*aliases, *self.aliases]))
        return self

    def _logged(self) -> VersionRecord:
        if self._version is None and self._pending is not None:
            self.wait()
        if self._version is None:
            raise ArtifactNotLoggedError(f"artifact {self._name} is a draft: log it with run.log_artifact() first")
        return self._version

    def _store(self) -> ArtifactBackend:
        self._logged()
        assert self._backend is not None
        return self._backend

    def _default_root(self) -> Path:
        if self._download_root is not None:
            return self._download_root
        return Path("artifacts") / f"{self._name}:{self.version}"

    def download(
        self,
        root: str | os.PathLike[str] | None = None,
        allow_missing_references: bool = False,
        skip_cache: bool | None = None,
        path_prefix: str | None = None,
    ) -> str:
        """Download the files under ``root`` (default ``./artifacts/NAME:vN``), each checked against its digest
        as it is written; returns the folder. A file already there with the right content is not fetched again.

        Raises :class:`~runyard.artifacts.ArtifactCorruptError` naming a file whose stored bytes do not match.
        """
        target = Path(root) if root is not None else self._default_root()
        target.mkdir(parents=True, exist_ok=True)
        for entry in self.files():
            if path_prefix and not entry.path.startswith(path_prefix):
                continue
            try:
                self._download_entry(entry, target)
            except ArtifactCorruptError:
                raise
            except UsageError:
                if entry.ref is None or not allow_missing_references:
                    raise
        self._download_root = target
        return str(target)

    def _download_entry(self, entry: ArtifactManifestEntry, root: Path) -> str:
        backend = self._store()
        dest = root / entry.path
        if dest.is_file() and dest.stat().st_size == entry.size and _content_ok(dest, entry):
            entry.local_path = str(dest)
            return str(dest)
        dest.parent.mkdir(parents=True, exist_ok=True)
        if entry.blob_key is not None:
            _, chunks = backend.blobs.stream(entry.blob_key)
            _write_checked(dest, chunks, entry)
        elif entry.ref is not None:
            _fetch_reference(entry, dest)
        entry.local_path = str(dest)
        return str(dest)

    def checkout(self, root: str | None = None) -> str:
        """Make ``root`` hold exactly the artifact's files (others are removed); returns it."""
        target = Path(root) if root is not None else self._default_root()
        wanted = {e.path for e in self._entries.values()}
        if target.is_dir():
            for path in sorted(target.rglob("*"), reverse=True):
                rel = path.relative_to(target).as_posix()
                if path.is_file() and rel not in wanted:
                    path.unlink()
        return self.download(target)

    def verify(self, root: str | None = None) -> None:
        """Check that ``root`` (default: where it was downloaded) holds exactly the artifact's files, each with its
        content; raises :class:`~runyard.artifacts.ArtifactCorruptError` saying which file is wrong."""
        target = Path(root) if root is not None else self._default_root()
        self._logged()
        seen = set()
        for entry in self._entries.values():
            path = target / entry.path
            seen.add(entry.path)
            if not path.is_file():
                raise ArtifactCorruptError(f"{path} is missing: download the artifact {self.name} again")
            if entry.ref is None and not _content_ok(path, entry):
                raise ArtifactCorruptError(
                    f"{path} does not match artifact {self.name} (its content's SHA-256 differs): download it again"
                )
        if target.is_dir():
            extra = [p.relative_to(target).as_posix() for p in target.rglob("*") if p.is_file()]
            extra = sorted(p for p in extra if p not in seen)
            if extra:
                raise ArtifactCorruptError(f"{target} holds files that are not in artifact {self.name}: {extra[:5]}")

    def file(self, root: str | None = None) -> str:
        """Download a one-file artifact; returns the file's path."""
        if len(self._entries) != 1:
            raise UsageError(f"artifact {self.name} has {len(self._entries)} files: use download() for more than one")
        return self._download_entry(next(iter(self._entries.values())), Path(root or self._default_root()))

    def get(self, name: str) -> Any:
        """The JSON content of the file ``name`` (or ``name`` + ``.json``/a media suffix), parsed; None if absent."""
        for candidate in (name, f"{name}.json", *[p for p in self._entries if p.startswith(name + ".")]):
            entry = self._entries.get(candidate)
            if entry is not None:
                path = (
                    entry.local_path
                    if entry.local_path and self._version is None
                    else self._download_entry(entry, self._default_root())
                )
                with open(path, encoding="utf-8") as fh:
                    return json.load(fh)
        return None

    def save(self) -> None:
        """Store the changes to a logged artifact's ``aliases``, ``description`` and ``metadata``."""
        backend = self._store()
        version = self._logged()
        version = backend.update(version, description=self.description, metadata=self.metadata)
        version = backend.set_aliases(version, [a for a in self.aliases if a != "latest"])
        self._bind(version, backend)

    def delete(self, delete_aliases: bool = False) -> None:
        """Delete this version (refused while it has aliases other than ``latest``, unless ``delete_aliases``)."""
        self._store().delete(self._logged(), delete_aliases=delete_aliases)

    def logged_by(self) -> str | None:
        """The id of the run that logged this version (None once that run is deleted)."""
        return self._logged().run_id

    def used_by(self) -> list[str]:
        """``entity/project/run_id`` of the runs that used this version."""
        return ["/".join(r) for r in self._store().runs_of(self._logged(), "used")]

    def link(self, target_path: str, aliases: Sequence[str] | None = None) -> None:
        """Not available: runyard has no model registry yet; use aliases (``production``) on the artifact."""
        from runyard.errors import UnsupportedError

        raise UnsupportedError("runyard has no model registry yet: mark versions with aliases instead (aliases=[...])")


class _MissingEntry(UsageError, KeyError):
    def __str__(self) -> str:
        return str(self.args[0])


def _clean_name(name: str) -> str:
    if not isinstance(name, str):
        raise UsageError(f"a file name in an artifact is a str, not {name!r}")
    cleaned = name.replace("\\", "/").strip("/")
    parts = [p for p in cleaned.split("/") if p not in ("", ".")]
    if not parts or ".." in parts:
        raise UsageError(f"{name!r} cannot name a file in an artifact: give a relative path without '..'")
    return "/".join(parts)


def _content_ok(path: Path, entry: ArtifactManifestEntry) -> bool:
    if entry.ref is not None:
        return entry.size in (None, 0) or path.stat().st_size == entry.size
    return sha256_file(path)[0] == entry.digest


def _write_checked(dest: Path, chunks: Iterator[bytes], entry: ArtifactManifestEntry) -> None:
    import hashlib

    digest = hashlib.sha256()
    fd, name = tempfile.mkstemp(prefix=".runyard-", dir=dest.parent)
    tmp = Path(name)
    try:
        with os.fdopen(fd, "wb") as fh:
            for chunk in chunks:
                digest.update(chunk)
                fh.write(chunk)
        if digest.hexdigest() != entry.digest:
            raise ArtifactCorruptError(
                f"the stored content of {entry.path!r} is corrupt (its SHA-256 is {digest.hexdigest()}, the manifest "
                f"says {entry.digest}); nothing was written to {dest}. The blob store was damaged: restore it from a "
                "backup, or log the file again"
            )
        os.replace(tmp, dest)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def _fetch_reference(entry: ArtifactManifestEntry, dest: Path) -> None:
    from urllib.parse import unquote, urlsplit

    assert entry.ref is not None
    parts = urlsplit(entry.ref)
    if parts.scheme == "file":
        source = Path(unquote(parts.path))
        if not source.is_file():
            raise UsageError(f"the referenced file {source} of {entry.path!r} is gone")
        shutil.copyfile(source, dest)
    elif parts.scheme in ("http", "https"):
        import urllib.request

        with urllib.request.urlopen(entry.ref, timeout=60) as answer, open(dest, "wb") as out:
            shutil.copyfileobj(answer, out, _CHUNK)
    elif parts.scheme == "s3":
        try:
            import boto3
        except ImportError:
            raise UsageError(f"downloading {entry.ref} needs boto3: pip install 'runyard[s3]'") from None
        boto3.client("s3").download_file(parts.netloc, parts.path.lstrip("/"), str(dest))
    else:
        raise UsageError(f"cannot download the reference {entry.ref}")
