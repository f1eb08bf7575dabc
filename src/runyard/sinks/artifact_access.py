"""How a training process reaches its store's artifacts: the blob store and type checks without SQLAlchemy for a
SQLite store (:mod:`runyard.store.artifacts.sqlite_light`), and the store's artifact room for everything else."""

from __future__ import annotations

from typing import TYPE_CHECKING

from runyard.errors import ConflictError

if TYPE_CHECKING:
    from runyard.sinks.local import LocalSink
    from runyard.store.artifacts.room import Artifacts
    from runyard.store.blobs import BlobStore

__all__ = ["ArtifactAccess"]


class ArtifactAccess:
    """The store at ``url``, as far as logging and reading artifacts goes. Not thread-safe: one user thread."""

    def __init__(self, url: str, crash_timeout: float = 300.0) -> None:
        self.url = url
        self.crash_timeout = crash_timeout
        self._sink: LocalSink | None = None
        self._blobs: BlobStore | None = None

    def _local(self) -> LocalSink:
        if self._sink is None:
            from runyard.sinks.local import LocalSink

            self._sink = LocalSink(self.url, self.crash_timeout)
        return self._sink

    def room(self) -> Artifacts:
        """The store's artifact room (opens the store: loads SQLAlchemy)."""
        return self._local().store.artifacts

    def progress(self, session: str) -> int:
        """The last record of ``session`` the store has applied (a SQLite store: read without SQLAlchemy)."""
        return self._local().progress(session)

    def blobs(self) -> BlobStore:
        """The store's blob store."""
        if self._blobs is None:
            from runyard.store.artifacts.sqlite_light import blob_location
            from runyard.store.blobs import open_blobs
            from runyard.store.writer import sqlite_file

            path = sqlite_file(self.url)
            location = None if path is None else blob_location(path)
            self._blobs = open_blobs(location, create=True) if location is not None else self.room().blobs
        return self._blobs

    def check_type(self, entity: str, project: str, name: str, type_name: str) -> None:
        """Raise :class:`~runyard.errors.ConflictError` when the collection ``name`` exists with another type."""
        from runyard.store.artifacts.sqlite_light import collection_type
        from runyard.store.writer import sqlite_file

        path = sqlite_file(self.url)
        answered, found = collection_type(path, entity, project, name) if path is not None else (False, None)
        if not answered:
            self.room().check_type(entity, project, name, type_name)
        elif found is not None and found != type_name:
            raise ConflictError(
                f"artifact {entity}/{project}/{name} is of type {found!r}, not {type_name!r}: a name keeps one "
                "type; log it under another name, or with that type"
            )

    def close(self) -> None:
        if self._sink is not None:
            self._sink.close()
            self._sink = None
