"""Artifacts of an offline run: their files kept, content-addressed, in a folder beside the run log, until
``runyard sync`` puts them into the target's blob store (a store's, or a runyard server's over the ingest API)
before it replays the run log whose ``artifact`` records name them."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from runyard.errors import UsageError

if TYPE_CHECKING:
    from runyard.store.blobs import FolderBlobs

__all__ = ["OfflineArtifactAccess", "blob_folder", "send_kept_files"]

_OFFLINE = "the run is offline: its artifacts are stored (and get a version) when `runyard sync` sends its run log"


def blob_folder(run_log: Path) -> Path:
    """Where an offline run log's artifact files wait for ``runyard sync``: ``<run log>.blobs/`` beside it."""
    return run_log.with_name(run_log.name + ".blobs")


class OfflineArtifactAccess:
    """The folder beside an offline run's log, as far as logging artifacts goes."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._blobs: FolderBlobs | None = None

    def blobs(self) -> FolderBlobs:
        if self._blobs is None:
            from runyard.store.blobs import FolderBlobs

            self._blobs = FolderBlobs(self.folder, create=True)
        return self._blobs

    def check_type(self, entity: str, project: str, name: str, type_name: str) -> None:
        """Nothing to check against yet: ingestion at ``runyard sync`` skips a version whose type clashes."""

    def progress(self, session: str) -> int:
        raise UsageError(f"cannot wait for the artifact's version: {_OFFLINE}")

    def room(self) -> Any:
        raise UsageError(f"cannot read artifacts: {_OFFLINE}")

    def close(self) -> None:
        """Nothing to close."""


def send_kept_files(run_log: Path, put_file: Callable[[Path], tuple[str, int, int]]) -> int:
    """Put the files an offline run kept beside ``run_log`` into a blob store with ``put_file`` (a store's, or a
    server's upload, which skips content the server holds); returns the bytes newly stored. Kept files whose
    content does not match their name (a damaged copy) are refused, naming the file."""
    folder = blob_folder(run_log)
    if not folder.is_dir():
        return 0
    from runyard.store.blobs import FolderBlobs

    kept = FolderBlobs(folder)
    sent = 0
    for key, _, _ in kept.list_blobs():
        path = kept.path(key)
        stored, _, new = put_file(path)
        if stored != key:
            raise UsageError(f"the kept artifact file {path} is damaged (its content is not {key}); log it again")
        sent += new
    return sent
