"""Blobs: content-addressed bytes (run files now; artifacts and media later) outside the database.

A blob's key is the SHA-256 of its content in lowercase hex, so identical content is stored once and writing
the same content again is a no-op. Two backends sit behind :class:`BlobStore`:

``file:///abs/path`` (or a plain path)
    a local (or mounted) folder. Keys are fanned out as ``ab/cd/abcdef…``; a blob is written to a temporary
    file in the folder, fsynced, then renamed into place, so a crash never leaves a torn blob under its key.
``s3://bucket/prefix``
    any S3-compatible bucket (AWS, MinIO, Ceph...), through boto3 (``pip install 'runyard[s3]'``), configured
    the standard way: ``AWS_ENDPOINT_URL``, ``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY``, ``AWS_REGION``,
    profiles. Objects are ``prefix/ab/cd/abcdef…``; an S3 PUT is atomic by itself.

:func:`open_blobs` turns a location URL into a store; :func:`blob_url` normalises a location (a relative path
becomes an absolute ``file://`` URL) so that two spellings of one place compare equal.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Any, Protocol
from urllib.parse import unquote, urlsplit

from runyard.errors import StoreError
from runyard.store.blob_refs import check_key

__all__ = [
    "SCHEMES",
    "BlobError",
    "BlobNotFoundError",
    "BlobStore",
    "FolderBlobs",
    "S3Blobs",
    "blob_key",
    "blob_url",
    "check_key",
    "file_key",
    "open_blobs",
]

SCHEMES = ("file://", "s3://")
"""The blob locations runyard understands (a plain path means ``file://``)."""

_CHUNK = 1024 * 1024


class BlobError(StoreError):
    """The blob store cannot be reached or written (a folder missing on this machine, a bucket refusing)."""


class BlobNotFoundError(BlobError):
    """No blob has this key in the store."""


class BlobStore(Protocol):
    """Content-addressed bytes. Every method may raise :class:`BlobError`."""

    url: str
    """The store's location, normalised (see :func:`blob_url`)."""

    def put(self, data: bytes) -> str:
        """Store ``data`` (once: the same content is not written twice); returns its key."""
        ...

    def put_stream(self, chunks: Iterable[bytes]) -> tuple[str, int]:
        """Store the concatenation of ``chunks`` without holding it in memory; returns ``(key, size)``."""
        ...

    def get(self, key: str) -> bytes:
        """The content stored under ``key``; :class:`BlobNotFoundError` when there is none."""
        ...

    def stream(self, key: str) -> tuple[int, Iterator[bytes]]:
        """The size of the blob under ``key`` and its content in chunks, read as they are iterated.

        The blob is opened before this returns, so a missing blob raises here, not halfway through a response.
        """
        ...

    def exists(self, key: str) -> bool:
        """Whether a blob is stored under ``key``."""
        ...

    def delete(self, key: str) -> bool:
        """Remove the blob stored under ``key``; returns whether there was one."""
        ...

    def put_file(self, path: Path, *, durable: bool = True) -> tuple[str, int, int]:
        """Store the content of the file at ``path``, reading it first to find its key, so that content already
        stored is neither copied nor written again; returns ``(key, size, bytes newly stored)``.

        Content already stored is touched (its age restarts): a garbage collection running meanwhile keeps it
        for its grace period, long enough for the caller to commit whatever references it. With ``durable=False``
        the content is not flushed to disk one file at a time: call :meth:`flush` once before committing
        anything that references it (many small files: one flush instead of one per file).
        """
        ...

    def flush(self) -> None:
        """Make every blob written with ``durable=False`` durable."""
        ...

    def touch(self, key: str) -> None:
        """Restart the age of the blob under ``key`` (see :meth:`put_file`)."""
        ...

    def list_blobs(self) -> Iterator[tuple[str, int, float]]:
        """Every blob: ``(key, size, unix time last written or touched)``."""
        ...


def blob_key(data: bytes) -> str:
    """The key of ``data``: its SHA-256 in lowercase hex."""
    return hashlib.sha256(data).hexdigest()


def file_key(path: Path) -> tuple[str, int]:
    """The blob key (SHA-256, hex) and size of the file at ``path``, read in chunks."""
    digest, size = hashlib.sha256(), 0
    try:
        with open(path, "rb") as fh:
            while chunk := fh.read(_CHUNK):
                digest.update(chunk)
                size += len(chunk)
    except OSError as exc:
        raise BlobError(f"cannot read {path}: {exc}") from exc
    return digest.hexdigest(), size


def blob_url(location: str) -> str:
    """``location`` normalised: ``file:///abs/path`` for a folder (given as a path or URL), ``s3://bucket/prefix``.

    Raises :class:`~runyard.errors.StoreError` for an unsupported scheme.
    """
    if not isinstance(location, str) or not location.strip():
        raise StoreError(f"a blob location is a folder path or a URL ({', '.join(SCHEMES)}), not {location!r}")
    location = location.strip()
    if "://" not in location:
        return Path(location).expanduser().resolve().as_uri()
    parts = urlsplit(location)
    scheme = parts.scheme.lower()
    if scheme == "file":
        if parts.netloc not in ("", "localhost"):
            raise StoreError(f"blob location {location!r}: a file:// URL names a local folder (file:///abs/path)")
        return Path(unquote(parts.path)).resolve().as_uri()
    if scheme == "s3":
        if not parts.netloc:
            raise StoreError(f"blob location {location!r} names no bucket: use s3://bucket or s3://bucket/prefix")
        prefix = parts.path.strip("/")
        return f"s3://{parts.netloc}" + (f"/{prefix}" if prefix else "")
    raise StoreError(
        f"unsupported blob location {location!r}: use a folder (a path or file:///abs/path) or an S3-compatible "
        "bucket (s3://bucket/prefix)"
    )


def open_blobs(location: str, *, create: bool = False) -> BlobStore:
    """The blob store at ``location`` (see :func:`blob_url`).

    With ``create``, a missing folder is created; without, a folder that is not there is only reported when
    the store is used (it may be another machine's, recorded by the process that set the location up).
    """
    url = blob_url(location)
    if url.startswith("s3://"):
        bucket, _, prefix = url[len("s3://") :].partition("/")
        return S3Blobs(bucket, prefix)
    return FolderBlobs(Path(unquote(urlsplit(url).path)), create=create)


def _fan_out(key: str) -> str:
    return f"{key[:2]}/{key[2:4]}/{key}"


class FolderBlobs:
    """Blobs in a folder: ``root/ab/cd/abcdef…``, each written atomically (temp file, fsync, rename)."""

    def __init__(self, root: Path, *, create: bool = False) -> None:
        self.root = root
        self.url = root.as_uri()
        if create:
            try:
                root.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise BlobError(f"cannot create the blob folder {root}: {exc}") from exc

    def path(self, key: str) -> Path:
        """Where the blob of ``key`` lives (whether or not it exists)."""
        return self.root / _fan_out(check_key(key))

    def put(self, data: bytes) -> str:
        key = blob_key(data)
        if self.exists(key):
            return key
        with self._temp() as (fh, tmp):
            fh.write(data)
            self._commit(fh, tmp, key)
        return key

    def put_stream(self, chunks: Iterable[bytes]) -> tuple[str, int]:
        digest, size = hashlib.sha256(), 0
        with self._temp() as (fh, tmp):
            for chunk in chunks:
                digest.update(chunk)
                fh.write(chunk)
                size += len(chunk)
            key = digest.hexdigest()
            if not self.exists(key):
                self._commit(fh, tmp, key)
        return key, size

    def get(self, key: str) -> bytes:
        with self._open(key) as fh:
            try:
                return fh.read()
            except OSError as exc:
                raise BlobError(f"cannot read blob {key} from {self.root}: {exc}") from exc

    def stream(self, key: str) -> tuple[int, Iterator[bytes]]:
        fh = self._open(key)
        return os.fstat(fh.fileno()).st_size, _read_chunks(fh)

    def _open(self, key: str) -> IO[bytes]:
        try:
            return open(self.path(key), "rb")
        except FileNotFoundError:
            if not self.root.is_dir():
                raise BlobError(f"the blob folder {self.root} does not exist on this machine") from None
            raise BlobNotFoundError(f"no blob {key} in {self.url}") from None
        except OSError as exc:
            raise BlobError(f"cannot read blob {key} from {self.root}: {exc}") from exc

    def exists(self, key: str) -> bool:
        return self.path(key).is_file()

    def delete(self, key: str) -> bool:
        try:
            self.path(key).unlink()
        except FileNotFoundError:
            return False
        except OSError as exc:
            raise BlobError(f"cannot delete blob {key} from {self.root}: {exc}") from exc
        return True

    def put_file(self, path: Path, *, durable: bool = True) -> tuple[str, int, int]:
        before = _stamp(path)
        key, size = file_key(path)
        final = self.path(key)
        try:
            # A blob of the wrong size is one a crash cut short before it was flushed: write it again.
            if final.stat().st_size == size:
                self.touch(key)
                return key, size, 0
        except FileNotFoundError:
            pass
        with self._temp() as (fh, tmp):
            fh.close()
            shutil.copyfile(path, tmp)  # in the kernel (copy_file_range/sendfile), from the page cache just read
            if _stamp(path) != before:
                raise BlobError(f"{path} changed while it was being stored; store it again once it is written")
            if durable:
                with open(tmp, "rb+") as again:
                    os.fsync(again.fileno())
            final.parent.mkdir(parents=True, exist_ok=True)
            os.replace(tmp, final)
            if durable:
                _fsync_dir(final.parent)
        return key, size, size

    def flush(self) -> None:
        os.sync()

    def touch(self, key: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            os.utime(self.path(key))

    def list_blobs(self) -> Iterator[tuple[str, int, float]]:
        if not self.root.is_dir():
            return
        for first in sorted(self.root.iterdir()):
            if len(first.name) != 2 or not first.is_dir():
                continue
            for second in sorted(first.iterdir()):
                if not second.is_dir():
                    continue
                for blob in second.iterdir():
                    try:
                        check_key(blob.name)
                        st = blob.stat()
                    except (ValueError, FileNotFoundError):
                        continue
                    yield blob.name, st.st_size, st.st_mtime

    @contextlib.contextmanager
    def _temp(self) -> Iterator[tuple[IO[bytes], Path]]:
        """An open temporary file in the blob folder (same filesystem: the final rename is atomic), removed
        afterwards unless it was renamed into place."""
        if not self.root.is_dir():
            raise BlobError(
                f"the blob folder {self.root} does not exist on this machine: mount it there, or create it if this "
                "is a new blob store"
            )
        try:
            fd, name = tempfile.mkstemp(prefix=".tmp-", dir=self.root)
        except OSError as exc:
            raise BlobError(f"cannot write to the blob folder {self.root}: {exc}") from exc
        tmp = Path(name)
        try:
            with os.fdopen(fd, "wb") as fh:
                yield fh, tmp
        except OSError as exc:
            raise BlobError(f"cannot write a blob to {self.root}: {exc}") from exc
        finally:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()

    def _commit(self, fh: IO[bytes], tmp: Path, key: str) -> None:
        """Make the temp file's content durable, then rename it to its key (atomic on POSIX)."""
        fh.flush()
        os.fsync(fh.fileno())
        final = self.path(key)
        final.parent.mkdir(parents=True, exist_ok=True)
        os.replace(tmp, final)
        _fsync_dir(final.parent)


def _stamp(path: Path) -> tuple[int, int]:
    try:
        st = os.stat(path)
    except OSError as exc:
        raise BlobError(f"cannot read {path}: {exc}") from exc
    return st.st_mtime_ns, st.st_size


def _read_chunks(fh: IO[bytes]) -> Iterator[bytes]:
    with fh:
        while chunk := fh.read(_CHUNK):
            yield chunk


def _fsync_dir(folder: Path) -> None:
    # The rename itself is durable only once the folder's entry is on disk.
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


class S3Blobs:
    """Blobs in an S3-compatible bucket: ``s3://bucket/prefix/ab/cd/abcdef…`` (boto3, imported when opened)."""

    def __init__(self, bucket: str, prefix: str = "", *, client: Any = None) -> None:
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.url = f"s3://{bucket}" + (f"/{self.prefix}" if self.prefix else "")
        if client is None:
            try:
                import boto3
            except ImportError:
                raise StoreError(f"the blob store {self.url} needs boto3: pip install 'runyard[s3]'") from None
            # boto3 reads AWS_ENDPOINT_URL (MinIO, Ceph...), credentials and the region from the environment.
            client = boto3.client("s3")
        self._client = client

    def object_name(self, key: str) -> str:
        """The object name of the blob of ``key`` in the bucket."""
        name = _fan_out(check_key(key))
        return f"{self.prefix}/{name}" if self.prefix else name

    def put(self, data: bytes) -> str:
        key = blob_key(data)
        if not self.exists(key):
            try:
                self._client.put_object(Bucket=self.bucket, Key=self.object_name(key), Body=data)
            except Exception as exc:
                raise self._error("write", key, exc) from exc
        return key

    def put_stream(self, chunks: Iterable[bytes]) -> tuple[str, int]:
        # The key is the content's hash, known only at the end: spool (memory, then a temp file), then upload.
        digest, size = hashlib.sha256(), 0
        with tempfile.SpooledTemporaryFile(max_size=8 * _CHUNK) as spool:
            for chunk in chunks:
                digest.update(chunk)
                spool.write(chunk)
                size += len(chunk)
            key = digest.hexdigest()
            if not self.exists(key):
                spool.seek(0)
                try:
                    # Multipart for large content; each part retried by boto3.
                    self._client.upload_fileobj(spool, self.bucket, self.object_name(key))
                except Exception as exc:
                    raise self._error("write", key, exc) from exc
        return key, size

    def get(self, key: str) -> bytes:
        body = self._get_object(key)["Body"]
        try:
            return bytes(body.read())
        except Exception as exc:
            raise self._error("read", key, exc) from exc
        finally:
            body.close()

    def stream(self, key: str) -> tuple[int, Iterator[bytes]]:
        answer = self._get_object(key)
        return int(answer["ContentLength"]), self._chunks(key, answer["Body"])

    def _get_object(self, key: str) -> Any:
        try:
            return self._client.get_object(Bucket=self.bucket, Key=self.object_name(key))
        except Exception as exc:
            if _s3_code(exc) in ("NoSuchKey", "404", "NotFound"):
                raise BlobNotFoundError(f"no blob {key} in {self.url}") from None
            raise self._error("read", key, exc) from exc

    def _chunks(self, key: str, body: Any) -> Iterator[bytes]:
        try:
            yield from body.iter_chunks(_CHUNK)
        except Exception as exc:
            raise self._error("read", key, exc) from exc
        finally:
            body.close()

    def exists(self, key: str) -> bool:
        try:
            self._client.head_object(Bucket=self.bucket, Key=self.object_name(key))
        except Exception as exc:
            if _s3_code(exc) in ("NoSuchKey", "404", "NotFound"):
                return False
            raise self._error("check", key, exc) from exc
        return True

    def delete(self, key: str) -> bool:
        if not self.exists(key):
            return False
        try:
            self._client.delete_object(Bucket=self.bucket, Key=self.object_name(key))
        except Exception as exc:
            raise self._error("delete", key, exc) from exc
        return True

    def put_file(self, path: Path, *, durable: bool = True) -> tuple[str, int, int]:
        key, size = file_key(path)
        if self.exists(key):
            self.touch(key)
            return key, size, 0
        try:
            # Multipart for large files, parts in parallel and retried by boto3.
            self._client.upload_file(str(path), self.bucket, self.object_name(key))
        except Exception as exc:
            raise self._error("write", key, exc) from exc
        return key, size, size

    def flush(self) -> None:
        pass  # an S3 PUT is durable when it returns

    def touch(self, key: str) -> None:
        name = self.object_name(key)
        try:
            # A copy onto itself is how S3 restarts an object's LastModified.
            self._client.copy_object(
                Bucket=self.bucket,
                Key=name,
                CopySource={"Bucket": self.bucket, "Key": name},
                MetadataDirective="REPLACE",
            )
        except Exception as exc:
            if _s3_code(exc) in ("NoSuchKey", "404", "NotFound"):
                return
            raise self._error("touch", key, exc) from exc

    def list_blobs(self) -> Iterator[tuple[str, int, float]]:
        paginator = self._client.get_paginator("list_objects_v2")
        prefix = f"{self.prefix}/" if self.prefix else ""
        try:
            for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix):
                for item in page.get("Contents", ()):
                    key = str(item["Key"]).rsplit("/", 1)[-1]
                    try:
                        check_key(key)
                    except ValueError:
                        continue
                    yield key, int(item["Size"]), float(item["LastModified"].timestamp())
        except Exception as exc:
            raise BlobError(f"cannot list the blobs of {self.url}: {exc}") from exc

    def _error(self, action: str, key: str, exc: Exception) -> BlobError:
        return BlobError(f"cannot {action} blob {key} in {self.url}: {exc}")


def _s3_code(exc: Exception) -> str | None:
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        code = response.get("Error", {}).get("Code")
        return None if code is None else str(code)
    return None
