"""Artifacts with their blobs in an S3-compatible server (moto on loopback), and `runyard gc` from the CLI."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

import runyard
from runyard.cli import main as cli_main
from runyard.store import Store


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    pytest.importorskip("boto3")
    server_mod = pytest.importorskip("moto.server")
    server = server_mod.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        yield f"http://{host}:{port}"
    finally:
        server.stop()


@pytest.fixture
def s3_bucket(s3_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> str:
    import boto3

    monkeypatch.setenv("AWS_ENDPOINT_URL", s3_endpoint)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    for name in ("AWS_PROFILE", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"):
        monkeypatch.delenv(name, raising=False)
    bucket = f"runyard-{uuid.uuid4().hex[:12]}"
    boto3.client("s3").create_bucket(Bucket=bucket)
    return bucket


@pytest.fixture
def quiet_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in list(os.environ):
        if name.startswith(("RUNYARD_", "WANDB_")):
            monkeypatch.delenv(name)
    monkeypatch.setenv("RUNYARD_DIR", str(tmp_path))
    monkeypatch.setenv("RUNYARD_SILENT", "true")
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    return tmp_path


def test_artifacts_in_an_s3_bucket(quiet_root: Path, s3_bucket: str) -> None:
    url = f"sqlite:///{quiet_root}/runyard/runyard.db"
    Store.open(url, blobs=f"s3://{s3_bucket}/team").close()  # as `runyard ui --blobs s3://...` records it
    weights = quiet_root / "w.bin"
    weights.write_bytes(os.urandom(3_000_000))
    with runyard.init(project="s3") as run:
        first = run.log_artifact(weights, name="ckpt", type="model").wait()
        assert first._pending.new_bytes == 3_000_000  # type: ignore[union-attr]
        again = run.log_artifact(weights, name="ckpt", type="model", aliases=["best"]).wait()
        assert again._pending.new_bytes == 0 and again.version == "v0"  # type: ignore[union-attr]
        used = run.use_artifact("ckpt:best")
        folder = Path(used.download(str(quiet_root / "dl")))
        assert (folder / "w.bin").read_bytes() == weights.read_bytes()
        used.verify(str(folder))
    with Store.open(url) as store:
        blobs = store.artifacts.blobs
        assert blobs.url == f"s3://{s3_bucket}/team"
        store.artifacts.delete(store.artifacts.get("ckpt:v0", run.entity, "s3"), delete_aliases=True)
        report = store.artifacts.gc(grace_s=0)
        assert report.deleted == 1 and report.bytes_freed == 3_000_000
        assert not blobs.exists(first.get_entry("w.bin").blob_key or "")


def test_runyard_gc_reports_what_it_frees(quiet_root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = quiet_root / "d.bin"
    data.write_bytes(os.urandom(40_000))
    with runyard.init(project="gc") as run:
        logged = run.log_artifact(data, name="d", type="dataset").wait()
    # The embedded store keeps its blobs beside the database by default.
    blob = quiet_root / "runyard" / "blobs" / logged.get_entry("d.bin").blob_key[:2]  # type: ignore[index]
    assert blob.is_dir()
    logged.delete()
    assert cli_main(["gc", "--dir", str(quiet_root), "--dry-run", "--grace-minutes", "0"]) == 0
    assert "would delete 1 unreferenced blob(s)" in capsys.readouterr().out
    assert cli_main(["gc", "--dir", str(quiet_root)]) == 0  # the default grace period keeps a fresh blob
    assert "deleted 0 unreferenced blob(s)" in capsys.readouterr().out
    assert cli_main(["gc", "--dir", str(quiet_root), "--grace-minutes", "0"]) == 0
    out = capsys.readouterr().out
    assert "deleted 1 unreferenced blob(s), 39.1 KB freed" in out, out


def test_the_servers_collector_deletes_what_nothing_references(tmp_path: Path) -> None:
    from runyard.server.blob_gc import BlobCollector

    with Store.open(f"sqlite:///{tmp_path}/s/runyard.db", blobs=str(tmp_path / "blobs")) as store:
        assert store.blobs is not None
        key = store.blobs.put(b"orphan")
        collector = BlobCollector(store, interval_s=3600, grace_s=0)
        collector.collect_once()
        assert collector.rounds == 1 and not store.blobs.exists(key)
