"""What every logged media object has in common: a W&B type name, a reference for history, and its files.

A media object is *bound* when ``log()`` records it: :meth:`Media.bind` gets the history key and step, and
returns the small reference dict history keeps (``{"_type": "image-file", "path": "media/images/...", ...}``)
together with the files the run must store at the reference's paths. A file is either ready (its bytes) or
an encoding job that the SDK runs off the training thread (PNG encoding of an array).

This package is pure: it imports neither the SDK nor the store, and imports NumPy, Pillow and the other
optional libraries only when a value needs them.
"""

from __future__ import annotations

import hashlib
import importlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

__all__ = ["Media", "MediaFile", "media_path", "need", "sha256_hex"]

MEDIA_EXTRA = "pip install 'runyard[media]' (in a clone of runyard: pip install -e '.[media]')"


class MediaDependencyError(ImportError):
    """An optional library a media type needs is not installed; the message names the extra to install."""


def need(module: str, what: str, package: str | None = None) -> Any:
    """Import ``module`` or raise :class:`MediaDependencyError` saying ``what`` needs it and how to get it."""
    try:
        return importlib.import_module(module)
    except ImportError:
        raise MediaDependencyError(
            f"runyard: {what} needs the {package or module} package, which is not installed. "
            f"Install it with: {MEDIA_EXTRA}"
        ) from None


@dataclass
class MediaFile:
    """A file a bound media object stores in its run, at ``path``: ``content`` now, or ``encode()`` later."""

    path: str
    content: bytes | None = None
    encode: Callable[[], bytes] | None = None


_UNSAFE = re.compile(r"[\x00-\x1f\x7f\\:*?\"<>|]")


def media_path(subdir: str, key: str, step: int | str, ident: str, ext: str) -> str:
    """W&B's media file name: ``media/<subdir>/<key>_<step>_<id><ext>`` (a key with slashes makes folders)."""
    safe = _UNSAFE.sub("_", key).strip("/") or "_"
    safe = "/".join("_" * len(p) if p in (".", "..") else p for p in safe.split("/") if p)
    return f"media/{subdir}/{safe}_{step}_{ident}{ext}"


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class Media:
    """Base of the types that ``log()`` stores as a typed reference (``_type``) rather than as a number."""

    _log_type = "media"

    def bind(self, key: str, step: int | str) -> tuple[dict[str, Any], list[MediaFile]]:
        """The reference history keeps for this object at ``key`` and ``step``, and the files it needs."""
        raise NotImplementedError

    def to_json(self, key: str = "media", step: int | str = 0) -> dict[str, Any]:
        """The reference this object is logged as (without storing its files)."""
        return self.bind(key, step)[0]


def file_ref(log_type: str, path: str, data: bytes | None, **extra: Any) -> dict[str, Any]:
    """A file reference as W&B writes it: ``_type``, ``path``, then ``sha256`` and ``size`` when the bytes are known."""
    ref: dict[str, Any] = {"_type": log_type, "path": path}
    if data is not None:
        ref["sha256"] = sha256_hex(data)
        ref["size"] = len(data)
    ref.update({k: v for k, v in extra.items() if v is not None})
    return ref
