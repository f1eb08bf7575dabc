"""A run's files: the small files the run sent (``run_files``) and the ones derived from its data on read.

Stored files arrive as ``file`` records (``requirements.txt``, a patch...), written by
:mod:`runyard.store.file_writes`; a later file of the same name replaces the content. Beside them, a run lists
the files W&B users expect, generated when read so they always match the run as it is now:

``output.log``
    the console output, every line (stderr included) ending in a newline; listed once the run has output.
``runyard-metadata.json``
    the run's metadata, indented JSON; listed when the metadata is not empty.
``config.yaml``
    the config in W&B's format: ``wandb_version: 1``, then ``key: {value: v}`` per top-level key.
``runyard-summary.json``
    the summary as JSON.

A stored file with one of those names (a real ``wandb`` client uploads its own ``config.yaml``) wins over the
derived one.

Where a stored file's bytes live: inline in ``run_files.content``, or, when the store has a blob location
(``Store.open(url, blobs=...)``, see :mod:`runyard.store.blobs`), in the blob store, the row keeping its
``blob_key`` and size with ``content`` NULL. :func:`blob_records` moves a batch's file contents to the blob
store before the batch's transaction: blobs are content-addressed, so a batch that fails or is retried leaves
at most an unreferenced blob, never a row without its blob. A file record may also arrive as
``{"name", "blob": key, "size"}`` when its writer (the server's upload route) already put the content there.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import sqlalchemy as sa
import yaml
from sqlalchemy.engine import Connection

from runyard.errors import StoreError
from runyard.records import KIND_FILE, Record
from runyard.store.blob_refs import BlobRef, check_key
from runyard.store.blobs import BlobError, BlobStore
from runyard.store.file_writes import safe_file_name
from runyard.store.models import FileInfo
from runyard.store.schema import run_files, runs
from runyard.store.streams import console_size, console_texts

__all__ = [
    "CONFIG_YAML",
    "DERIVED_FILES",
    "METADATA_JSON",
    "OUTPUT_LOG",
    "SUMMARY_JSON",
    "blob_records",
    "config_yaml",
    "file_content",
    "list_files",
    "metadata_json",
    "read_content",
    "stream_content",
    "summary_json",
]

OUTPUT_LOG = "output.log"
METADATA_JSON = "runyard-metadata.json"
CONFIG_YAML = "config.yaml"
SUMMARY_JSON = "runyard-summary.json"
DERIVED_FILES = (CONFIG_YAML, OUTPUT_LOG, METADATA_JSON, SUMMARY_JSON)


def blob_records(records: Sequence[Record], blobs: BlobStore | None) -> Sequence[Record]:
    """``records`` with every file record's content put in ``blobs`` and the record naming its blob instead.

    Call it before the batch's transaction. A blob store that cannot be written from here (a folder not
    mounted on this machine) leaves the content inline, with one warning. File records already naming a blob
    are checked: the blob must be in ``blobs``. Without a blob store, records are returned as they are, and
    one naming a blob is refused. Bodies not shaped as a file record are left for :func:`file_of` to report.
    Raises :class:`~runyard.errors.StoreError` (a :class:`~runyard.store.blobs.BlobError` when a named blob
    cannot be checked).
    """
    out: list[Record] | None = None
    for i, record in enumerate(records):
        if len(record) != 3 or record[1] != KIND_FILE or not isinstance(record[2], Mapping):
            continue
        body = record[2]
        if "blob" in body:
            key = body["blob"]
            if blobs is None:
                raise StoreError(
                    f"file record {body.get('name')!r} names blob {key!r}, but this store has no blob location: "
                    "open it with blobs= (runyard server --blobs URL)"
                )
            try:
                missing = not blobs.exists(check_key(key))
            except ValueError:
                continue  # not a key: file_of reports the record as malformed
            if missing:
                raise StoreError(f"file record {body.get('name')!r} names blob {key}, which {blobs.url} does not hold")
            continue
        content = body.get("content")
        if blobs is None or not isinstance(content, (bytes, bytearray, memoryview, str)):
            continue
        data = content.encode() if isinstance(content, str) else bytes(content)
        try:
            key = blobs.put(data)
        except BlobError as exc:
            # A training machine writing to a shared store may not reach the server's blob folder: the file
            # stays inline (reads take both), rather than the run's batches failing until someone notices.
            _warn_inline(blobs.url, exc)
            continue
        if out is None:
            out = list(records)
        out[i] = [record[0], KIND_FILE, {"name": body.get("name"), "blob": key, "size": len(data)}]
    return records if out is None else out


_warned_inline: set[str] = set()


def _warn_inline(location: str, exc: BlobError) -> None:
    if location not in _warned_inline:
        _warned_inline.add(location)
        warnings.warn(
            f"runyard: cannot write run files to the store's blob location {location} from here ({exc}); they are "
            "kept in the database instead, where every reader finds them too",
            RuntimeWarning,
            stacklevel=2,
        )


def list_files(conn: Connection, run_pk: int) -> list[FileInfo]:
    """The run's stored files and its derived ones, sorted by name.

    Names are listed as :func:`~runyard.store.file_writes.safe_file_name` makes them: a file stored before
    names were made safe on the way in is listed (and found, see :func:`file_content`) under its safe name.
    """
    found: dict[str, FileInfo] = {}
    for stored, size, updated_at in conn.execute(
        sa.select(run_files.c.name, run_files.c.size, run_files.c.updated_at).where(run_files.c.run_pk == run_pk)
    ):
        name = _listed(stored)
        if name is not None and (name not in found or found[name].updated_at < float(updated_at)):
            found[name] = FileInfo(name, int(size), float(updated_at))
    run = _run_data(conn, run_pk)
    if run is not None:
        updated = float(run["heartbeat_at"])
        lines, size, last_t = console_size(conn, run_pk)
        if lines and OUTPUT_LOG not in found:
            found[OUTPUT_LOG] = FileInfo(OUTPUT_LOG, size, last_t if last_t is not None else updated)
        for name in (CONFIG_YAML, METADATA_JSON, SUMMARY_JSON):
            if name not in found:
                content = _derived(name, run)
                if content is not None:
                    found[name] = FileInfo(name, len(content), updated)
    return [found[name] for name in sorted(found)]


def file_content(conn: Connection, run_pk: int, name: str) -> bytes | BlobRef | None:
    """The content of a stored or derived file; None when the run has no such file.

    A stored file held in the blob store comes back as a :class:`BlobRef`: :func:`read_content` reads it
    (after the connection is released: a blob may be large, or far away).
    """
    stored = _stored_file(conn, run_pk, name)
    if stored is not None:
        content, key, size = stored
        if key is not None:
            return BlobRef(key, int(size))
        if content is not None:
            return bytes(content)
    if name == OUTPUT_LOG:
        text = "".join(text + "\n" for text in console_texts(conn, run_pk)).encode()
        return text or None
    if name not in DERIVED_FILES:
        return None
    run = _run_data(conn, run_pk)
    return None if run is None else _derived(name, run)


def _stored_file(conn: Connection, run_pk: int, name: str) -> Any:
    """The ``(content, blob_key, size)`` row of the stored file ``name`` names, or None.

    ``name`` is looked up as given, then as made safe (``../x`` finds ``__/x``, as the run lists it), then
    among names stored before names were made safe on the way in.
    """
    columns = (run_files.c.content, run_files.c.blob_key, run_files.c.size)
    by_name = sa.select(*columns).where(run_files.c.run_pk == run_pk)
    found = conn.execute(by_name.where(run_files.c.name == name)).one_or_none()
    wanted = _listed(name)
    if found is not None or wanted is None:
        return found
    if wanted != name:
        found = conn.execute(by_name.where(run_files.c.name == wanted)).one_or_none()
        if found is not None:
            return found
    names = conn.execute(sa.select(run_files.c.name).where(run_files.c.run_pk == run_pk)).scalars()
    legacy = sorted(stored for stored in names if stored != wanted and _listed(stored) == wanted)
    return conn.execute(by_name.where(run_files.c.name == legacy[-1])).one_or_none() if legacy else None


def _listed(name: str) -> str | None:
    try:
        return safe_file_name(name)
    except ValueError:
        return None


def read_content(content: bytes | BlobRef | None, blobs: BlobStore | None, where: str) -> bytes | None:
    """``content`` as :func:`file_content` returned it, with a :class:`BlobRef` read from ``blobs``.

    ``where`` names the file in errors (``run e/p/r, file 'x'``). Raises :class:`~runyard.errors.StoreError`
    saying what to do when the blob store cannot be read here or lacks the blob.
    """
    if not isinstance(content, BlobRef):
        return content
    store = _blobs_for(content, blobs, where)
    try:
        data = store.get(content.key)
    except BlobError as exc:
        raise _unreadable(where, store, exc) from exc
    _check_size(where, content, store, len(data))
    return data


def stream_content(
    content: bytes | BlobRef | None, blobs: BlobStore | None, where: str
) -> tuple[int, Iterator[bytes]] | None:
    """As :func:`read_content`, but the size and the content in chunks: a blob is read as the chunks are
    iterated (a download never holds a large file in memory). Errors are raised before the first chunk."""
    if not isinstance(content, BlobRef):
        return None if content is None else (len(content), iter((content,)))
    store = _blobs_for(content, blobs, where)
    try:
        size, chunks = store.stream(content.key)
    except BlobError as exc:
        raise _unreadable(where, store, exc) from exc
    _check_size(where, content, store, size)
    return size, chunks


def _blobs_for(content: BlobRef, blobs: BlobStore | None, where: str) -> BlobStore:
    if blobs is None:
        raise StoreError(
            f"{where} is held in a blob store, but this store records no blob location: open it with blobs= "
            "(runyard server --blobs URL) naming the folder or bucket its blobs were written to"
        )
    return blobs


def _unreadable(where: str, blobs: BlobStore, exc: BlobError) -> StoreError:
    return StoreError(
        f"{where} is held in the blob store at {blobs.url}, which cannot be read here ({exc}). Make that "
        "location reachable from this machine: mount the folder at that path, or for a bucket set "
        "AWS_ENDPOINT_URL and credentials as the server has them."
    )


def _check_size(where: str, content: BlobRef, blobs: BlobStore, size: int) -> None:
    if size != content.size:
        raise StoreError(
            f"{where}: blob {content.key} in {blobs.url} holds {size} bytes, not the {content.size} recorded"
        )


def config_yaml(config: Mapping[str, Any]) -> bytes:
    """``config.yaml`` as W&B writes it: ``wandb_version: 1``, a blank line, then ``key: {value: v}`` blocks."""
    head = "wandb_version: 1\n"
    entries = {key: {"value": value} for key, value in config.items() if key != "wandb_version"}
    if not entries:
        return head.encode()
    body = yaml.safe_dump(entries, sort_keys=False, default_flow_style=False, allow_unicode=True)
    return (head + "\n" + body).encode()


def metadata_json(metadata: Mapping[str, Any]) -> bytes:
    """``runyard-metadata.json``: the metadata as indented JSON (NaN written as W&B's Python client does)."""
    return json.dumps(metadata, indent=4, ensure_ascii=False).encode()


def summary_json(summary: Mapping[str, Any]) -> bytes:
    """``runyard-summary.json``: the summary as one line of JSON."""
    return json.dumps(summary, ensure_ascii=False).encode()


def _run_data(conn: Connection, run_pk: int) -> dict[str, Any] | None:
    row = (
        conn.execute(
            sa.select(runs.c.config, runs.c.summary, runs.c["metadata"], runs.c.heartbeat_at).where(runs.c.id == run_pk)
        )
        .mappings()
        .one_or_none()
    )
    return None if row is None else dict(row)


def _derived(name: str, run: Mapping[str, Any]) -> bytes | None:
    if name == CONFIG_YAML:
        return config_yaml(run["config"])
    if name == SUMMARY_JSON:
        return summary_json(run["summary"])
    if name == METADATA_JSON:
        return metadata_json(run["metadata"]) if run["metadata"] else None
    return None
