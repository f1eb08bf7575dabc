"""Artifacts through runyard's SDK and API, into real SQLite and PostgreSQL stores and a blob folder."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import pytest

import runyard
from runyard.artifacts import ArtifactCorruptError, ArtifactFinalizedError
from runyard.errors import ConflictError, NotFoundError, UsageError

pytestmark = pytest.mark.usefixtures("isolated_root")


def _blob_bytes(run: Any) -> int:
    """Bytes in the run's store's blob folder."""
    from runyard.sinks import LocalSink

    sink = LocalSink(run.settings.store_url)
    try:
        blobs = sink.store.blobs
        assert blobs is not None
        return sum(size for _, size, _ in blobs.list_blobs())
    finally:
        sink.close()


def _blob_keys(run: Any) -> set[str]:
    from runyard.sinks import LocalSink

    sink = LocalSink(run.settings.store_url)
    try:
        assert sink.store.blobs is not None
        return {key for key, _, _ in sink.store.blobs.list_blobs()}
    finally:
        sink.close()


def test_log_use_download_verify(tmp_path: Path) -> None:
    data = tmp_path / "data"
    (data / "sub").mkdir(parents=True)
    (data / "a.csv").write_text("x,y\n1,2\n")
    (data / "sub" / "b.bin").write_bytes(os.urandom(300_000))
    with runyard.init(project="art") as run:
        artifact = runyard.Artifact("mnist", type="dataset", description="digits", metadata={"rows": 1})
        artifact.add_dir(data)
        with artifact.new_file("notes.txt") as fh:
            fh.write("hello")
        artifact["stats"] = {"mean": 0.5}
        started = time.perf_counter()
        logged = run.log_artifact(artifact, aliases=["train"])
        assert time.perf_counter() - started < 5  # returns without waiting for the store (bench/ measures it)
        logged.wait()
        assert logged.name == "mnist:v0" and logged.version == "v0" and set(logged.aliases) == {"train", "latest"}
        with pytest.raises(ArtifactFinalizedError):
            logged.add_file(data / "a.csv")
    with runyard.init(project="art") as run2:
        used = run2.use_artifact("mnist:train")
        assert used.type == "dataset" and used.metadata == {"rows": 1} and used.description == "digits"
        assert sorted(e.path for e in used.files()) == ["a.csv", "notes.txt", "stats.json", "sub/b.bin"]
        folder = Path(used.download())
        assert folder == Path("artifacts/mnist:v0")
        assert (folder / "sub" / "b.bin").read_bytes() == (data / "sub" / "b.bin").read_bytes()
        assert (folder / "notes.txt").read_text() == "hello"
        assert used.get("stats") == {"mean": 0.5}
        used.verify()
        (folder / "a.csv").write_text("tampered")
        with pytest.raises(ArtifactCorruptError, match=r"a\.csv"):
            used.verify()
        used.download()  # a wrong file is fetched again
        used.verify()
    with runyard.Api() as api:
        found = api.artifact(f"{run.entity}/art/mnist:latest")
        assert found.logged_by() == run.id and found.used_by() == [f"{run.entity}/art/{run2.id}"]
        assert [a.name for a in api.run(f"{run.entity}/art/{run.id}").logged_artifacts()] == ["mnist:v0"]
        assert [a.name for a in api.run(f"{run.entity}/art/{run2.id}").used_artifacts()] == ["mnist:v0"]
        assert [t.name for t in api.artifact_types("art")] == ["dataset"]
        assert [a.version for a in api.artifacts("dataset", "art/mnist")] == ["v0"]


def test_relogging_unchanged_content_stores_nothing_and_is_the_same_version(tmp_path: Path) -> None:
    weights = tmp_path / "model.pt"
    weights.write_bytes(os.urandom(2_000_000))
    with runyard.init(project="art") as run:
        first = run.log_artifact(weights, name="ckpt", type="model").wait()
        stored = _blob_bytes(run)
        again = run.log_artifact(weights, name="ckpt", type="model", aliases=["best"]).wait()
        assert _blob_bytes(run) == stored
        assert again.version == first.version == "v0" and "best" in again.aliases
        weights.write_bytes(os.urandom(1000))
        third = run.log_artifact(weights, name="ckpt", type="model").wait()
        assert third.version == "v1" and _blob_bytes(run) == stored + 1000


def test_corrupt_stored_content_is_detected_on_download(tmp_path: Path) -> None:
    source = tmp_path / "w.bin"
    source.write_bytes(b"good weights" * 1000)
    with runyard.init(project="art") as run:
        logged = run.log_artifact(source, name="w", type="model").wait()
        from runyard.sinks import LocalSink

        sink = LocalSink(run.settings.store_url)
        blobs = sink.store.blobs
        key = logged.get_entry("w.bin").blob_key
        path = blobs.path(key)  # type: ignore[union-attr]
        os.chmod(path, 0o644)
        path.write_bytes(b"bad weights!" * 1000)
        sink.close()
        used = run.use_artifact("w:latest")
        with pytest.raises(ArtifactCorruptError, match="corrupt"):
            used.download(str(tmp_path / "out"))
        assert not (tmp_path / "out" / "w.bin").exists()


def test_bad_input_gives_clear_errors(tmp_path: Path) -> None:
    artifact = runyard.Artifact("things", type="dataset")
    with pytest.raises(UsageError, match="no such file"):
        artifact.add_file(tmp_path / "missing.txt")
    with pytest.raises(UsageError, match="letters, digits"):
        runyard.Artifact("bad/name", type="dataset")
    (tmp_path / "f.txt").write_text("1")
    with runyard.init(project="art") as run:
        with pytest.raises(UsageError, match="no files"):
            run.log_artifact(artifact)
        artifact.add_file(tmp_path / "f.txt")
        run.log_artifact(artifact).wait()
        clash = runyard.Artifact("things", type="model")
        clash.add_file(tmp_path / "f.txt")
        with pytest.raises(ConflictError, match="of type 'dataset', not 'model'"):
            run.log_artifact(clash).wait()
        with pytest.raises(NotFoundError, match="no version 'v9'"):
            run.use_artifact("things:v9")
        with pytest.raises(NotFoundError, match="no artifact 'nothing'"):
            run.use_artifact("nothing:latest")
        # The run itself goes on: its other data is kept.
        run.log({"loss": 1.0})
    with runyard.Api() as api:
        assert api.run(f"{run.entity}/art/{run.id}").summary["loss"] == 1.0


def test_aliases_edit_save_and_delete(tmp_path: Path) -> None:
    for i in range(2):
        (tmp_path / "m.bin").write_bytes(bytes([i]) * 10)
        with runyard.init(project="art") as run:
            run.log_model(tmp_path / "m.bin", name="net")
    with runyard.Api() as api:
        v0 = api.artifact("art/net:v0")
        v0.aliases.append("production")
        v0.description = "the one in production"
        v0.save()
        again = api.artifact("art/net:production")
        assert again.version == "v0" and again.description == "the one in production"
        with pytest.raises(ConflictError, match="aliases"):
            again.delete()
        api.artifact("art/net:v1").delete()
        assert api.artifact("art/net:latest").version == "v0"
        (tmp_path / "m.bin").write_bytes(b"third")
    with runyard.init(project="art") as run:
        run.log_model(tmp_path / "m.bin", name="net")
    with runyard.Api() as api:
        collection = api.artifact_collection("model", "art/net")
        assert [a.version for a in collection.versions()] == ["v2", "v0"]
        assert collection.set_retention(1) == 0  # v0 is aliased (production): kept with the last one
        (tmp_path / "m.bin").write_bytes(b"fourth")
    with runyard.init(project="art") as run:
        run.log_model(tmp_path / "m.bin", name="net")
    with runyard.Api() as api:
        assert [a.version for a in api.artifacts("model", "art/net")] == ["v3", "v0"]
    with runyard.init(project="art") as run:
        path = run.use_model("net:production")
        assert Path(path).read_bytes() == bytes([0]) * 10


def test_references_are_checksummed_not_copied(tmp_path: Path) -> None:
    big = tmp_path / "external.bin"
    big.write_bytes(os.urandom(50_000))
    with runyard.init(project="art") as run:
        artifact = runyard.Artifact("refs", type="dataset")
        [entry] = artifact.add_reference(big.as_uri())
        assert entry.ref == big.as_uri() and entry.size == 50_000
        logged = run.log_artifact(artifact).wait()
        assert logged.get_entry("external.bin").blob_key is None
        assert entry.digest not in _blob_keys(run)
    folder = Path(logged.download(str(tmp_path / "dl")))
    assert (folder / "external.bin").read_bytes() == big.read_bytes()


def test_save_restore_and_log_code(tmp_path: Path) -> None:
    (Path("ckpt")).mkdir()
    Path("ckpt/model.bin").write_bytes(os.urandom(100_000))
    Path("train.py").write_text("print('train')\n")
    with runyard.init(project="art") as run:
        assert run.save("ckpt/*.bin", policy="now") == ["ckpt/model.bin"]
        code = run.log_code(".")
        assert code is not None
        code.wait()
        assert [e.path for e in code.files()] == ["train.py"] and code.type == "code"
    with runyard.Api() as api:
        stored = api.run(f"{run.entity}/art/{run.id}")
        assert stored.file("ckpt/model.bin").size == 100_000
    handle = runyard.restore("ckpt/model.bin", run_path=f"{run.entity}/art/{run.id}", root=str(tmp_path / "r"))
    handle.close()
    assert (tmp_path / "r" / "ckpt" / "model.bin").read_bytes() == Path("ckpt/model.bin").read_bytes()
