"""A run's files: the small files the run sent (``run_files``) and the ones derived from its data on read.

Stored files arrive as ``file`` records (``requirements.txt``, a patch...); a later file of the same name
replaces the content. Beside them, a run lists the files W&B users expect, generated when read so they always
match the run as it is now:

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
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
import yaml
from sqlalchemy.engine import Connection

from runyard.store.engine import dialect_insert
from runyard.store.models import FileInfo
from runyard.store.schema import run_files, runs
from runyard.store.streams import console_size, console_texts, text_safe

__all__ = [
    "CONFIG_YAML",
    "DERIVED_FILES",
    "METADATA_JSON",
    "OUTPUT_LOG",
    "SUMMARY_JSON",
    "config_yaml",
    "file_content",
    "file_of",
    "list_files",
    "metadata_json",
    "summary_json",
    "upsert_files",
]

OUTPUT_LOG = "output.log"
METADATA_JSON = "runyard-metadata.json"
CONFIG_YAML = "config.yaml"
SUMMARY_JSON = "runyard-summary.json"
DERIVED_FILES = (CONFIG_YAML, OUTPUT_LOG, METADATA_JSON, SUMMARY_JSON)


def file_of(body: Mapping[str, Any]) -> tuple[str, bytes]:
    """``(name, content)`` of a file record (runyard.records.FileBody); text content is stored as UTF-8."""
    name = body["name"]
    if not isinstance(name, str) or not name:
        raise ValueError(f"a file record needs a non-empty name, not {name!r}")
    content = body["content"]
    if isinstance(content, str):
        content = content.encode()
    if not isinstance(content, (bytes, bytearray, memoryview)):
        raise TypeError(f"file {name!r}: content must be bytes, not {type(content).__name__}")
    return text_safe(name), bytes(content)


def upsert_files(conn: Connection, run_pk: int, files: Mapping[str, bytes], now: float) -> None:
    """Store files of a run, replacing the content of any of the same name."""
    if not files:
        return
    stmt = dialect_insert(conn, run_files)
    stmt = stmt.on_conflict_do_update(
        index_elements=[run_files.c.run_pk, run_files.c.name],
        set_={name: stmt.excluded[name] for name in ("content", "size", "updated_at")},
    )
    conn.execute(
        stmt,
        [
            {"run_pk": run_pk, "name": name, "content": content, "size": len(content), "updated_at": now}
            for name, content in files.items()
        ],
    )


def list_files(conn: Connection, run_pk: int) -> list[FileInfo]:
    """The run's stored files and its derived ones, sorted by name."""
    found = {
        name: FileInfo(name, int(size), float(updated_at))
        for name, size, updated_at in conn.execute(
            sa.select(run_files.c.name, run_files.c.size, run_files.c.updated_at).where(run_files.c.run_pk == run_pk)
        )
    }
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


def file_content(conn: Connection, run_pk: int, name: str) -> bytes | None:
    """The content of a stored or derived file; None when the run has no such file."""
    stored = conn.execute(
        sa.select(run_files.c.content).where(run_files.c.run_pk == run_pk, run_files.c.name == name)
    ).scalar()
    if stored is not None:
        return bytes(stored)
    if name == OUTPUT_LOG:
        content = "".join(text + "\n" for text in console_texts(conn, run_pk)).encode()
        return content or None
    if name not in DERIVED_FILES:
        return None
    run = _run_data(conn, run_pk)
    return None if run is None else _derived(name, run)


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
