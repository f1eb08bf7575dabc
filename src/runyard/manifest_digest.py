"""An artifact version's manifest digest: what makes two logs of the same content one version (SDK and store)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from typing import Any

__all__ = ["manifest_digest"]


def manifest_digest(files: Iterable[Sequence[Any]]) -> str:
    """The SHA-256 (hex) of a manifest: each ``[path, digest, ...]`` entry's path and content digest, by path.

    Independent of the order files were added, of where they came from on disk and of when: the same paths with
    the same contents are the same version.
    """
    digest = hashlib.sha256()
    for path, content in sorted((str(f[0]), str(f[1])) for f in files):
        digest.update(f"{path}\0{content}\n".encode())
    return digest.hexdigest()
