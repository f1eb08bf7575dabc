"""A list of media objects logged in one key: W&B's ``images/separated`` (and the list forms of other types)."""

from __future__ import annotations

from typing import Any

from runyard.media.base import Media, MediaFile

__all__ = ["MediaList"]


class MediaList(Media):
    """Media objects of one type logged together under one key (``log({"examples": [Image(a), Image(b)]})``)."""

    def __init__(self, items: list[Any], key: str = "") -> None:
        self.items = items

    def bind(self, key: str, step: int | str) -> tuple[dict[str, Any], list[MediaFile]]:
        first = self.items[0]
        seq_to_json = getattr(type(first), "seq_to_json", None)
        refs: list[dict[str, Any]] = []
        files: list[MediaFile] = []
        for item in self.items:
            ref, item_files = item.bind(key, step)
            refs.append(ref)
            files.extend(item_files)
        if seq_to_json is not None:
            return seq_to_json(self.items, refs), files
        return {"_type": "list", "count": len(refs), "items": refs}, files
