"""The API key ``runyard ui`` prints: created on first start, kept in a file only its owner can read.

The store holds only the key's hash, so the key itself lives in ``<runyard folder>/api-key`` (mode 0600)
to be printed again on every start. A key file whose key the store no longer knows (another store, a deleted
key) is replaced.
"""

from __future__ import annotations

import os
from pathlib import Path

from runyard.store import Store

__all__ = ["KEY_FILE", "local_api_key"]

KEY_FILE = "api-key"


def local_api_key(store: Store, folder: Path, username: str) -> str:
    """The key in ``folder/api-key`` if the store accepts it; otherwise a new key stored and written there."""
    path = folder / KEY_FILE
    try:
        key = path.read_text(encoding="utf-8").strip()
    except (FileNotFoundError, NotADirectoryError):
        key = ""
    if key and store.api_key_owner(key) is not None:
        return key
    key = store.create_api_key(username, "runyard ui")
    folder.mkdir(parents=True, exist_ok=True)
    # Created 0600 from the start (never world-readable for a moment), then written whole.
    fd = os.open(path.with_suffix(".tmp"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(key + "\n")
    os.chmod(path.with_suffix(".tmp"), 0o600)
    os.replace(path.with_suffix(".tmp"), path)
    return key
