"""The artifact room on SQLite and PostgreSQL: versions, aliases, dedup, lineage, deletion, retention and gc."""

from __future__ import annotations

import os
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from runyard.errors import ConflictError, NotFoundError, UsageError
from runyard.manifest_digest import manifest_digest
from runyard.store import Store
from runyard.store.writer import SqliteWriter, sqlite_file


def _files(store: Store, contents: dict[str, bytes]) -> list[list[Any]]:
    blobs = store.artifacts.blobs
    return [[path, blobs.put(data), len(data), None] for path, data in sorted(contents.items())]


def _log(
    writer: Any,
    run_id: str,
    artifacts: list[dict[str, Any]],
    *,
    project: str = "p",
    used: list[dict[str, Any]] | None = None,
) -> None:
    start = {
        "session": uuid.uuid4().hex,
        "run_id": run_id,
        "project": project,
        "entity": "e",
        "config": {},
        "created_at": 1.0,
        "started_at": 1.0,
    }
    records: list[list[Any]] = [[1, "start", start]]
    for body in used or []:
        records.append([len(records) + 1, "artifact", {"action": "use", **body}])
    for body in artifacts:
        records.append([len(records) + 1, "artifact", {"action": "log", **body}])
    writer.ingest(records)


def _body(name: str, files: list[list[Any]], type_: str = "dataset", **extra: Any) -> dict[str, Any]:
    return {"name": name, "type": type_, "files": files, "digest": manifest_digest(files), "metadata": {}, **extra}


@pytest.fixture
def astore(store_url: str, tmp_path: Path) -> Any:
    with Store.open(store_url, blobs=str(tmp_path / "blobs")) as opened:
        yield opened


def test_versions_aliases_and_dedup(astore: Store) -> None:
    one = _files(astore, {"a.txt": b"A", "b.txt": b"B"})
    two = _files(astore, {"a.txt": b"A", "b.txt": b"B2"})
    _log(astore, "r1", [_body("data", one, aliases=["best"], metadata={"rows": 2})])
    _log(astore, "r2", [_body("data", two)])
    _log(astore, "r3", [_body("data", list(reversed(one)), aliases=["again"])])  # same content, any order
    versions = astore.artifacts.versions("e", "p", "data")
    assert [v.version for v in versions] == ["v1", "v0"]
    v1, v0 = versions
    assert set(v0.aliases) == {"best", "again", "latest"} and v1.aliases == ()
    assert v0.metadata == {"rows": 2} and v0.size == 2 and v0.file_count == 2 and v0.run_id == "r1"
    assert astore.artifacts.get("data:latest", "e", "p").id == v0.id
    assert astore.artifacts.get("data:v1", "e", "p").id == v1.id
    assert astore.artifacts.get("e/p/data:best", "e", "x").id == v0.id
    assert astore.artifacts.get("data", "e", "p").id == v0.id
    assert astore.artifacts.get(f"data:{v1.digest}", "e", "p").id == v1.id
    assert [f.path for f in astore.artifacts.files(v0)] == ["a.txt", "b.txt"]
    assert [v.id for v in astore.artifacts.run_artifacts("e", "p", "r3", "logged")] == [v0.id]
    assert sorted(r[2] for r in astore.artifacts.runs_of(v0, "logged")) == ["r1", "r3"]
    assert [(t.name, t.collection_count) for t in astore.artifacts.types("e", "p")] == [("dataset", 1)]
    [col] = astore.artifacts.collections("e", "p", "dataset")
    assert col.name == "data" and col.version_count == 2
    with pytest.raises(NotFoundError, match="no version 'v7'"):
        astore.artifacts.get("data:v7", "e", "p")
    with pytest.raises(NotFoundError, match="no artifact 'nope'"):
        astore.artifacts.get("nope:latest", "e", "p")


def test_the_ingester_process_writer_commits_the_same_rows(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/s/runyard.db"
    writer = SqliteWriter(sqlite_file(url))  # type: ignore[arg-type]
    with Store.open(url, blobs=str(tmp_path / "blobs")) as store:
        files = _files(store, {"w.bin": b"weights"})
        _log(writer, "r1", [_body("model", files, "model", aliases=["prod"])])
        use = {"entity": "e", "project": "p", "name": "model", "digest": manifest_digest(files)}
        _log(writer, "r2", [], used=[use])
        [version] = store.artifacts.versions("e", "p", "model")
        assert version.type == "model" and set(version.aliases) == {"latest", "prod"}
        assert store.artifacts.runs_of(version, "used") == [("e", "p", "r2")]
        assert [v.id for v in store.artifacts.run_artifacts("e", "p", "r2", "used")] == [version.id]
    writer.close()


def test_a_type_clash_is_refused_clearly(astore: Store) -> None:
    files = _files(astore, {"a": b"1"})
    _log(astore, "r1", [_body("thing", files, "dataset")])
    with pytest.raises(ConflictError, match="of type 'dataset', not 'model'"):
        astore.artifacts.check_type("e", "p", "thing", "model")
    with pytest.raises(ConflictError, match="of type 'dataset'"):
        astore.artifacts.commit("e", "p", _body("thing", _files(astore, {"a": b"2"}), "model"))
    # Ingestion never wedges a session on it: the record is skipped, the run's other data lands.
    _log(astore, "r2", [_body("thing", _files(astore, {"a": b"3"}), "model")])
    assert astore.get_run("e", "p", "r2") is not None
    assert [v.version for v in astore.artifacts.versions("e", "p", "thing")] == ["v0"]


def test_aliases_edit_update_and_delete(astore: Store) -> None:
    for i in range(3):
        _log(astore, f"r{i}", [_body("m", _files(astore, {"w": bytes([i])}))])
    v0 = astore.artifacts.get("m:v0", "e", "p")
    v0 = astore.artifacts.set_aliases(v0, ["prod", "latest"])
    assert v0.aliases == ("prod",)  # latest stays on the newest
    v2 = astore.artifacts.set_aliases(astore.artifacts.get("m:v2", "e", "p"), ["prod"])
    assert set(v2.aliases) == {"latest", "prod"} and astore.artifacts.get("m:v0", "e", "p").aliases == ()
    with pytest.raises(UsageError, match="cannot be an alias"):
        astore.artifacts.set_aliases(v2, ["v9"])
    updated = astore.artifacts.update(v2, description="good", metadata={"acc": 0.9})
    assert updated.description == "good" and updated.metadata == {"acc": 0.9}
    with pytest.raises(ConflictError, match="aliases"):
        astore.artifacts.delete(v2)
    astore.artifacts.delete(v2, delete_aliases=True)
    assert astore.artifacts.get("m:latest", "e", "p").version == "v1"
    # A new version after a deletion never reuses a number.
    _log(astore, "r9", [_body("m", _files(astore, {"w": b"new"}))])
    assert astore.artifacts.get("m:latest", "e", "p").version == "v3"


def test_deleting_a_run_keeps_the_versions_others_use(astore: Store) -> None:
    files = _files(astore, {"data.csv": b"x,y\n1,2\n"})
    _log(astore, "maker", [_body("ds", files)])
    _log(astore, "user", [], used=[{"entity": "e", "project": "p", "name": "ds", "digest": manifest_digest(files)}])
    assert astore.delete_run("e", "p", "maker")
    version = astore.artifacts.get("ds:latest", "e", "p")
    assert version.run_id is None
    assert astore.artifacts.runs_of(version, "used") == [("e", "p", "user")]
    assert astore.artifacts.blobs.get(astore.artifacts.files(version)[0].blob_key or "") == b"x,y\n1,2\n"
    assert astore.delete_run("e", "p", "user")
    assert astore.artifacts.runs_of(version, "used") == []
    assert astore.artifacts.get("ds:v0", "e", "p").id == version.id


def test_retention_keeps_the_last_n_and_every_aliased_one(astore: Store) -> None:
    for i in range(5):
        _log(astore, f"r{i}", [_body("ckpt", _files(astore, {"w": bytes([i])}), "model")])
    astore.artifacts.set_aliases(astore.artifacts.get("ckpt:v0", "e", "p"), ["best"])
    deleted = astore.artifacts.set_retention("e", "p", "ckpt", 2)
    assert len(deleted) == 2
    assert [v.version for v in astore.artifacts.versions("e", "p", "ckpt")] == ["v4", "v3", "v0"]
    _log(astore, "r5", [_body("ckpt", _files(astore, {"w": b"five"}), "model")])
    assert [v.version for v in astore.artifacts.versions("e", "p", "ckpt")] == ["v5", "v4", "v0"]
    with pytest.raises(UsageError, match="keep_last"):
        astore.artifacts.set_retention("e", "p", "ckpt", 0)


def test_gc_frees_unreferenced_blobs_after_the_grace_period(astore: Store, tmp_path: Path) -> None:
    blobs = astore.artifacts.blobs
    kept = _files(astore, {"keep": b"K" * 1000})
    _log(astore, "r1", [_body("a", kept)])
    _log(astore, "r2", [_body("b", _files(astore, {"gone": b"G" * 3000}))])
    fresh = blobs.put(b"just uploaded, manifest not committed yet")
    astore.artifacts.delete(astore.artifacts.get("b:v0", "e", "p"))
    old = time.time() - 7200
    for key, _, _ in list(blobs.list_blobs()):
        if key != fresh:
            os.utime(blobs.path(key), (old, old))  # type: ignore[attr-defined]
    dry = astore.artifacts.gc(grace_s=3600, dry_run=True)
    assert dry.deleted == 1 and dry.bytes_freed == 3000 and blobs.exists(dry.keys[0])
    report = astore.artifacts.gc(grace_s=3600)
    assert report.deleted == 1 and report.bytes_freed == 3000 and report.too_young == 1 and report.referenced == 1
    assert not blobs.exists(report.keys[0]) and blobs.exists(fresh) and blobs.exists(kept[0][1])
    # Putting content again touches it: a gc that listed it as old must not delete it now.
    os.utime(blobs.path(fresh), (old, old))  # type: ignore[attr-defined]
    again = blobs.put_file(_write(tmp_path / "f", b"just uploaded, manifest not committed yet"))
    assert again[2] == 0
    assert astore.artifacts.gc(grace_s=3600).deleted == 0 and blobs.exists(fresh)


def test_gc_runs_one_at_a_time(astore: Store) -> None:
    from runyard.store.artifacts import gc

    gc._lock(astore.engine)
    try:
        with pytest.raises(ConflictError, match="another blob garbage collection"):
            astore.artifacts.gc()
    finally:
        gc._unlock(astore.engine)
    assert astore.artifacts.gc().deleted == 0


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path
