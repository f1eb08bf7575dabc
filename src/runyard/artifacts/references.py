"""References: files an artifact names by URI without copying them, checksummed where they live.

``file://`` (a file: its SHA-256; a folder: one entry per file), ``s3://bucket/key`` (the object's ETag, through
boto3) and ``http(s)://`` (the ``ETag`` of a HEAD request, else its size). With ``checksum=False`` the URI itself
is the digest: the artifact changes only when the URI does.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from urllib.parse import unquote, urlsplit

from runyard.errors import UsageError

__all__ = ["Reference", "reference_entries", "sha256_file"]

_CHUNK = 4 * 1024 * 1024

Reference = tuple[str, str, int, str]
"""``(name, digest, size, uri)`` of one referenced file."""


def sha256_file(path: Path) -> tuple[str, int]:
    """The SHA-256 (hex) and size of a file."""
    digest, size = hashlib.sha256(), 0
    with open(path, "rb") as fh:
        while chunk := fh.read(_CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def reference_entries(uri: str, name: str | None, checksum: bool, max_objects: int | None) -> list[Reference]:
    """The entries a reference to ``uri`` adds, named ``name`` (default: the URI's last part)."""
    parts = urlsplit(uri)
    scheme = parts.scheme.lower()
    if scheme == "file":
        return _file_entries(Path(unquote(parts.path)), uri, name, checksum, max_objects)
    if scheme == "s3":
        return [_s3_entry(parts.netloc, parts.path.lstrip("/"), uri, name, checksum)]
    if scheme in ("http", "https"):
        return [_http_entry(uri, name, checksum)]
    raise UsageError(f"cannot reference {uri!r}: use a file://, s3:// or http(s):// URI (or add_file for a local file)")


def _default_name(uri: str) -> str:
    tail = urlsplit(uri).path.rstrip("/").rsplit("/", 1)[-1]
    return unquote(tail) or urlsplit(uri).netloc


def _file_entries(path: Path, uri: str, name: str | None, checksum: bool, limit: int | None) -> list[Reference]:
    if path.is_file():
        digest, size = sha256_file(path) if checksum else (uri, path.stat().st_size)
        return [(name or path.name, digest, size, path.as_uri())]
    if not path.is_dir():
        raise UsageError(f"cannot reference {uri}: no file or folder at {path}")
    found: list[Reference] = []
    for root, _dirs, files in os.walk(path):
        for file in sorted(files):
            full = Path(root) / file
            rel = full.relative_to(path).as_posix()
            digest, size = sha256_file(full) if checksum else (full.as_uri(), full.stat().st_size)
            found.append((f"{name}/{rel}" if name else rel, digest, size, full.as_uri()))
            if limit is not None and len(found) > limit:
                raise UsageError(f"{uri} holds more than max_objects={limit} files; raise max_objects to add them")
    return found


def _s3_entry(bucket: str, key: str, uri: str, name: str | None, checksum: bool) -> Reference:
    if not checksum:
        return (name or _default_name(uri), uri, 0, uri)
    try:
        import boto3
    except ImportError:
        raise UsageError(f"referencing {uri} needs boto3: pip install 'runyard[s3]'") from None
    try:
        head = boto3.client("s3").head_object(Bucket=bucket, Key=key)
    except Exception as exc:
        raise UsageError(f"cannot reference {uri}: {exc}") from exc
    etag = str(head.get("ETag", "")).strip('"')
    return (name or _default_name(uri), etag or uri, int(head.get("ContentLength", 0)), uri)


def _http_entry(uri: str, name: str | None, checksum: bool) -> Reference:
    if not checksum:
        return (name or _default_name(uri), uri, 0, uri)
    import urllib.request  # here: it loads http, email and ssl, which logging a file never needs

    request = urllib.request.Request(uri, method="HEAD")
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            etag = answer.headers.get("ETag", "").strip('"')
            size = int(answer.headers.get("Content-Length") or 0)
    except Exception as exc:
        raise UsageError(f"cannot reference {uri}: {exc}") from exc
    return (name or _default_name(uri), etag or f"{uri}#size={size}", size, uri)
