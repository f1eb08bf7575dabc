"""``File``: one of a run's files, as ``run.files()`` and ``run.file(name)`` return it."""

from __future__ import annotations

import mimetypes
import os
from typing import IO, TYPE_CHECKING, Any

from runyard.errors import NotFoundError

if TYPE_CHECKING:
    from runyard.api.runs import Run
    from runyard.store import FileInfo

__all__ = ["File"]


class File:
    """A file of a run: one the run saved, or one derived from its data (``output.log``, ``config.yaml``...).

    Attributes:
        name: the file's name (a relative path).
        size: its size in bytes.
        updated_at: when it was last written: ISO 8601, UTC.
        mimetype: its type guessed from the name (``application/octet-stream`` when unknown).
    """

    def __init__(self, run: Run, info: FileInfo) -> None:
        from runyard.api.runs import iso_time

        self._run = run
        self.name = info.name
        self.size = info.size
        self.updated_at = iso_time(info.updated_at)
        self.mimetype = mimetypes.guess_type(info.name)[0] or "application/octet-stream"

    def content(self) -> bytes:
        """The file's bytes.

        Raises:
            NotFoundError: the file is gone (the run was deleted meanwhile).
        """
        run = self._run
        data = run._store.file_content(run.entity, run.project, run.id, self.name)
        if data is None:
            raise NotFoundError(f"run {'/'.join(run.path)} has no file {self.name!r}")
        return data

    def download(self, root: str = ".", replace: bool = False, exist_ok: bool = False, api: Any = None) -> IO[str]:
        """Write the file to ``root/name`` and return it opened for reading (text), as W&B does.

        Args:
            root: the folder to write into (created if needed).
            replace: overwrite a file already there.
            exist_ok: when the file is already there (and ``replace`` is False), return it as it is.
            api: accepted for wandb compatibility.

        Raises:
            ValueError: the file exists, and neither ``replace`` nor ``exist_ok`` was given; or the name would
                put it outside ``root`` (the store makes every name safe, so only a damaged store has one).
        """
        path = os.path.join(root, self.name)
        inside = os.path.realpath(root)
        if os.path.commonpath([inside, os.path.realpath(path)]) != inside or os.path.isabs(self.name):
            raise ValueError(f"file name {self.name!r} would be written outside {root!r}; not downloading it")
        if os.path.exists(path) and not replace:
            if exist_ok:
                return open(path)
            raise ValueError(
                f"File already exists at {path}, pass replace=True to overwrite or exist_ok=True to leave it as "
                "is and don't error."
            )
        data = self.content()
        folder = os.path.dirname(path)
        if folder:
            os.makedirs(folder, exist_ok=True)
        partial = f"{path}.{os.getpid()}.part"
        with open(partial, "wb") as out:
            out.write(data)
        os.replace(partial, path)
        return open(path)

    def __repr__(self) -> str:
        return f"<File {self.name} ({self.mimetype}) {self.size}B>"
