"""What ingestion does with an ``artifact`` record (:data:`runyard.records.KIND_ARTIFACT`), as plain SQL.

Written against :class:`~runyard.store.sql.Sql` so that the SQLAlchemy-free ingester process
(:mod:`runyard.store.writer`) and :class:`~runyard.store.Store` apply it the same way, inside the batch's
transaction: a version becomes visible whole (its files, aliases and lineage) or not at all.

A record whose artifact cannot be applied (its collection has another type, a used version that is gone) is
skipped rather than raised: raising would refuse the session's batch on every retry and wedge the run. The SDK
checks both before it writes the record, so a skip means another writer changed the store in between.
"""

from __future__ import annotations

from typing import Any

from runyard.store.sql import Sql, dump_json, json_param, scalar, text_safe

__all__ = ["LATEST", "apply_artifact", "collection_id", "commit_version", "enforce_retention", "link_run", "move_alias"]

LATEST = "latest"
"""The alias that always names a collection's newest logged version."""


def apply_artifact(sql: Sql, run_pk: int, project_id: int, body: dict[str, Any], now: float) -> None:
    """Apply one ``artifact`` record of the run ``run_pk`` (see :data:`runyard.records.KIND_ARTIFACT`)."""
    action = body.get("action")
    t = float(body.get("t") or now)
    if action == "log":
        commit_version(sql, run_pk, project_id, body, t)
    elif action == "use":
        target = _project_of(sql, body.get("entity"), body.get("project")) or project_id
        collection = collection_id(sql, target, str(body["name"]))
        if collection is None:
            return
        version = scalar(
            sql,
            "SELECT id FROM artifact_versions WHERE collection_id = :c AND digest = :d",
            {"c": collection, "d": str(body["digest"])},
        )
        if version is not None:
            _link(sql, run_pk, int(version), "used", t)


def collection_id(sql: Sql, project_id: int, name: str) -> int | None:
    """The id of the project's collection ``name``, or None."""
    found = scalar(
        sql,
        "SELECT id FROM artifact_collections WHERE project_id = :p AND name = :n",
        {"p": project_id, "n": text_safe(name)},
    )
    return None if found is None else int(found)


def commit_version(sql: Sql, run_pk: int | None, project_id: int, body: dict[str, Any], now: float) -> int | None:
    """Commit a version of ``body["name"]`` (creating its type and collection); returns the version's id.

    A version whose manifest digest is already in the collection is that version: its aliases move, nothing
    else is written. Returns None (writing nothing) when the collection exists with another type.
    """
    name, type_name = text_safe(str(body["name"])), text_safe(str(body["type"]))
    type_id = _get_or_create(sql, "artifact_types", {"project_id": project_id, "name": type_name}, {"created_at": now})
    collection = collection_id(sql, project_id, name)
    if collection is None:
        sql.run(
            "INSERT INTO artifact_collections (project_id, type_id, name, description, created_at) "
            "VALUES (:p, :t, :n, :d, :now) ON CONFLICT (project_id, name) DO NOTHING",
            {"p": project_id, "t": type_id, "n": name, "d": body.get("description"), "now": now},
        )
        collection = collection_id(sql, project_id, name)
        assert collection is not None
    if int(scalar(sql, "SELECT type_id FROM artifact_collections WHERE id = :c", {"c": collection})) != type_id:
        return None
    digest = str(body["digest"])
    found = scalar(
        sql, "SELECT id FROM artifact_versions WHERE collection_id = :c AND digest = :d", {"c": collection, "d": digest}
    )
    if found is not None:
        version = int(found)
    else:
        files = body.get("files") or []
        index = int(scalar(sql, "SELECT next_version FROM artifact_collections WHERE id = :c", {"c": collection}))
        sql.run("UPDATE artifact_collections SET next_version = :n WHERE id = :c", {"n": index + 1, "c": collection})
        version = int(
            scalar(
                sql,
                "INSERT INTO artifact_versions (collection_id, version_index, digest, description, metadata, size, "
                f"file_count, created_at, run_pk) VALUES (:c, :i, :d, :desc, {json_param(sql, 'meta')}, :size, "
                ":count, :now, :run) RETURNING id",
                {
                    "c": collection,
                    "i": index,
                    "d": digest,
                    "desc": body.get("description"),
                    "meta": dump_json(body.get("metadata") or {}),
                    "size": sum(int(f[2]) for f in files),
                    "count": len(files),
                    "now": now,
                    "run": run_pk,
                },
            )
        )
        sql.many(
            "INSERT INTO artifact_files (version_id, path, digest, size, blob_key, ref) "
            "VALUES (:v, :path, :digest, :size, :blob, :ref)",
            [
                {"v": version, "path": text_safe(str(f[0])), "digest": str(f[1]), "size": int(f[2]),
                 "blob": None if f[3] else str(f[1]), "ref": f[3] or None}
                for f in files
            ],
        )  # fmt: skip
    for alias in [LATEST, *(body.get("aliases") or ())]:
        move_alias(sql, collection, text_safe(str(alias)), version)
    if run_pk is not None:
        _link(sql, run_pk, version, "logged", now)
    enforce_retention(sql, collection)
    return version


def move_alias(sql: Sql, collection: int, alias: str, version: int) -> None:
    """Point ``alias`` of the collection at ``version`` (an alias names one version of a collection)."""
    sql.run("DELETE FROM artifact_aliases WHERE collection_id = :c AND alias = :a", {"c": collection, "a": alias})
    sql.run(
        "INSERT INTO artifact_aliases (collection_id, alias, version_id) VALUES (:c, :a, :v)",
        {"c": collection, "a": alias, "v": version},
    )


def enforce_retention(sql: Sql, collection: int) -> list[int]:
    """Delete the versions the collection's policy (``keep_last``) lets go: all but the last N and every aliased
    one. Their blobs stay until ``runyard gc`` finds nothing references them. Returns the deleted ids."""
    keep = scalar(sql, "SELECT keep_last FROM artifact_collections WHERE id = :c", {"c": collection})
    if keep is None:
        return []
    rows = sql.run(
        "SELECT id FROM artifact_versions WHERE collection_id = :c AND id NOT IN "
        "(SELECT version_id FROM artifact_aliases WHERE collection_id = :c) ORDER BY version_index DESC",
        {"c": collection},
    ).fetchall()
    newest = [int(r[0]) for r in sql.run(
        "SELECT id FROM artifact_versions WHERE collection_id = :c ORDER BY version_index DESC LIMIT :n",
        {"c": collection, "n": int(keep)},
    ).fetchall()]  # fmt: skip
    doomed = [int(r[0]) for r in rows if int(r[0]) not in newest]
    for version in doomed:
        delete_version_rows(sql, version)
    return doomed


def delete_version_rows(sql: Sql, version: int) -> None:
    """Delete one version and everything hanging off it (explicitly: SQLite's cascade needs a pragma)."""
    for table in ("artifact_files", "artifact_aliases", "artifact_usage"):
        sql.run(f"DELETE FROM {table} WHERE version_id = :v", {"v": version})
    sql.run("DELETE FROM artifact_versions WHERE id = :v", {"v": version})


def link_run(sql: Sql, run_pk: int, version: int, kind: str, now: float) -> None:
    """Record that the run ``logged`` or ``used`` the version (once)."""
    _link(sql, run_pk, version, kind, now)


def _link(sql: Sql, run_pk: int, version: int, kind: str, now: float) -> None:
    sql.run(
        "INSERT INTO artifact_usage (run_pk, version_id, kind, at) VALUES (:r, :v, :k, :t) "
        "ON CONFLICT (run_pk, version_id, kind) DO NOTHING",
        {"r": run_pk, "v": version, "k": kind, "t": now},
    )


def _project_of(sql: Sql, entity: Any, project: Any) -> int | None:
    if not isinstance(entity, str) or not isinstance(project, str):
        return None
    found = scalar(
        sql,
        "SELECT p.id FROM projects p JOIN entities e ON e.id = p.entity_id WHERE e.name = :e AND p.name = :p",
        {"e": text_safe(entity), "p": text_safe(project)},
    )
    return None if found is None else int(found)


def _get_or_create(sql: Sql, table: str, keys: dict[str, Any], defaults: dict[str, Any]) -> int:
    where = " AND ".join(f"{name} = :{name}" for name in keys)
    select = f"SELECT id FROM {table} WHERE {where}"
    found = scalar(sql, select, keys)
    if found is not None:
        return int(found)
    values = {**keys, **defaults}
    columns = ", ".join(values)
    sql.run(
        f"INSERT INTO {table} ({columns}) VALUES ({', '.join(':' + c for c in values)}) "
        f"ON CONFLICT ({', '.join(keys)}) DO NOTHING",
        values,
    )
    return int(scalar(sql, select, keys))
