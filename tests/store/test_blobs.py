"""Blobs: the folder and S3 backends, and run files held in them by stores on SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from runyard.errors import StoreError
from runyard.store import Store
from runyard.store.blobs import (
    BlobError,
    BlobNotFoundError,
    FolderBlobs,
    S3Blobs,
    blob_key,
    blob_url,
    open_blobs,
)

# -- the folder backend ------------------------------------------------------------------------------------


def _blob_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file())


def test_folder_put_get_exists_delete(tmp_path: Path) -> None:
    blobs = open_blobs(str(tmp_path / "blobs"), create=True)
    assert isinstance(blobs, FolderBlobs)
    key = blobs.put(b"hello")
    assert key == hashlib.sha256(b"hello").hexdigest() == blob_key(b"hello")
    assert blobs.path(key) == tmp_path / "blobs" / key[:2] / key[2:4] / key
    assert blobs.get(key) == b"hello" and blobs.exists(key)
    big = uuid.uuid4().bytes * 200_000  # 3.2 MB: several chunks
    size, chunks = blobs.stream(blobs.put(big))
    parts = list(chunks)
    assert size == len(big) and len(parts) == 4 and b"".join(parts) == big
    assert blobs.delete(key) is True
    assert not blobs.exists(key) and blobs.delete(key) is False
    with pytest.raises(BlobNotFoundError, match=key):
        blobs.get(key)
    with pytest.raises(BlobNotFoundError, match=key):
        blobs.stream(key)  # before any chunk is asked for
    with pytest.raises(ValueError, match="not a blob key"):
        blobs.get("../../etc/passwd")


def test_folder_stores_identical_content_once(tmp_path: Path) -> None:
    blobs = open_blobs(f"file://{tmp_path}/b", create=True)
    keys = {blobs.put(b"same bytes") for _ in range(3)}
    keys.add(blobs.put_stream([b"same ", b"bytes"])[0])
    assert len(keys) == 1
    assert _blob_files(tmp_path / "b") == [blobs.path(keys.pop())]  # type: ignore[attr-defined]


def test_folder_concurrent_puts_of_one_content(tmp_path: Path) -> None:
    blobs = open_blobs(str(tmp_path / "b"), create=True)
    data = uuid.uuid4().bytes * 100_000
    keys: list[str] = []
    threads = [threading.Thread(target=lambda: keys.append(blobs.put(data))) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(keys)) == 1 and blobs.get(keys[0]) == data
    assert len(_blob_files(tmp_path / "b")) == 1  # no temp file left behind


def test_folder_write_that_fails_midway_leaves_nothing(tmp_path: Path) -> None:
    blobs = open_blobs(str(tmp_path / "b"), create=True)

    def chunks() -> Iterator[bytes]:
        yield b"first half "
        raise OSError("the client went away")

    with pytest.raises(BlobError, match="went away"):
        blobs.put_stream(chunks())
    assert _blob_files(tmp_path / "b") == []
    assert not blobs.exists(blob_key(b"first half "))


def test_folder_torn_temp_file_is_never_a_blob(tmp_path: Path) -> None:
    # What a crash between write and rename leaves: a temp file, invisible under any key.
    blobs = open_blobs(str(tmp_path / "b"), create=True)
    (tmp_path / "b" / ".tmp-crashed").write_bytes(b"half of it")
    assert not blobs.exists(blob_key(b"half of it"))
    key, size = blobs.put_stream(iter([b"whole"]))
    assert size == 5 and blobs.get(key) == b"whole"


def test_folder_missing_on_this_machine(tmp_path: Path) -> None:
    blobs = open_blobs(str(tmp_path / "elsewhere"))  # not created: e.g. a mount of another machine
    with pytest.raises(BlobError, match="does not exist on this machine"):
        blobs.put(b"x")
    with pytest.raises(BlobError, match="does not exist on this machine"):
        blobs.get(blob_key(b"x"))


def test_blob_urls(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert blob_url("b") == (tmp_path / "b").as_uri() == blob_url(f"file://{tmp_path}/b/")
    assert blob_url("s3://bucket/a/b/") == "s3://bucket/a/b"
    assert blob_url("s3://bucket") == "s3://bucket"
    with pytest.raises(StoreError, match=r"unsupported blob location 'gs://x'.*folder.*s3://"):
        blob_url("gs://x")
    with pytest.raises(StoreError, match="no bucket"):
        blob_url("s3:///prefix")


# -- the S3 backend, against a real S3-compatible HTTP server on loopback -------------------------------------


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
    """A new bucket on the loopback S3 server, with the standard environment pointing boto3 at it."""
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


def _s3_objects(bucket: str) -> list[str]:
    import boto3

    listed = boto3.client("s3").list_objects_v2(Bucket=bucket)
    return sorted(o["Key"] for o in listed.get("Contents", []))


def test_s3_put_get_exists_delete(s3_bucket: str) -> None:
    blobs = open_blobs(f"s3://{s3_bucket}/team/")
    assert isinstance(blobs, S3Blobs) and blobs.url == f"s3://{s3_bucket}/team"
    key = blobs.put(b"hello")
    assert key == blob_key(b"hello")
    assert blobs.put(b"hello") == key
    assert blobs.put_stream([b"hel", b"lo"]) == (key, 5)
    assert _s3_objects(s3_bucket) == [f"team/{key[:2]}/{key[2:4]}/{key}"]
    assert blobs.get(key) == b"hello" and blobs.exists(key)
    big = uuid.uuid4().bytes * 700_000  # 11 MB: spooled to disk, uploaded in parts
    big_key, size = blobs.put_stream(big[i : i + (1 << 20)] for i in range(0, len(big), 1 << 20))
    assert size == len(big) and big_key == blob_key(big) and blobs.get(big_key) == big
    streamed_size, chunks = blobs.stream(big_key)
    parts = list(chunks)
    assert streamed_size == len(big) and len(parts) > 1 and b"".join(parts) == big
    assert blobs.delete(key) is True and blobs.delete(key) is False
    with pytest.raises(BlobNotFoundError):
        blobs.get(key)
    with pytest.raises(BlobNotFoundError):
        blobs.stream(key)


def test_s3_unreachable_bucket_is_a_blob_error(s3_bucket: str) -> None:
    blobs = open_blobs(f"s3://no-such-bucket-{uuid.uuid4().hex[:8]}")
    with pytest.raises(BlobError, match="no-such-bucket"):
        blobs.put(b"x")


def test_store_with_s3_blobs(s3_bucket: str, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/s/runyard.db"
    weights = b"\x00weights" * 1000
    with Store.open(url, blobs=f"s3://{s3_bucket}/files") as store:
        _log_run(store, "r1", {"model.bin": weights})
        assert store.file_content("e", "p", "r1", "model.bin") == weights
        assert _blob_column(store, "r1", "model.bin")[0] is None
    assert _s3_objects(s3_bucket) == [f"files/{_blob_path(weights)}"]
    with Store.open(url) as again:
        assert again.blobs is not None and again.blobs.url == f"s3://{s3_bucket}/files"
        assert again.file_content("e", "p", "r1", "model.bin") == weights


# -- run files in a store with blobs, on SQLite and PostgreSQL ------------------------------------------------


def _log_run(store: Store, run_id: str, files: dict[str, Any]) -> None:
    start = {
        "session": uuid.uuid4().hex,
        "run_id": run_id,
        "project": "p",
        "entity": "e",
        "config": {},
        "created_at": 1.0,
        "started_at": 1.0,
    }
    records: list[list[Any]] = [[1, "start", start]]
    for name, body in files.items():
        records.append([len(records) + 1, "file", body if isinstance(body, dict) else {"name": name, "content": body}])
    store.ingest(records)


def _blob_column(store: Store, run_id: str, name: str) -> tuple[Any, ...]:
    with store.engine.connect() as conn:
        row = conn.execute(
            sa.text(
                "SELECT f.content, f.blob_key, f.size FROM run_files f JOIN runs r ON r.id = f.run_pk "
                "WHERE r.run_id = :run AND f.name = :name"
            ),
            {"run": run_id, "name": name},
        ).one()
    return tuple(row)


def _blob_path(data: bytes) -> str:
    key = blob_key(data)
    return f"{key[:2]}/{key[2:4]}/{key}"


def test_run_files_round_trip_through_the_blob_folder(store_url: str, tmp_path: Path) -> None:
    folder = tmp_path / "blobs"
    with Store.open(store_url, blobs=str(folder)) as store:
        assert store.blobs is not None and store.blobs.url == folder.as_uri()
        _log_run(store, "r1", {"requirements.txt": "numpy==2.0\n", "weights.bin": b"\x01" * 100_000})
        _log_run(store, "r2", {"copy.bin": b"\x01" * 100_000, "empty.txt": b""})
        assert store.file_content("e", "p", "r1", "requirements.txt") == b"numpy==2.0\n"
        assert store.file_content("e", "p", "r2", "copy.bin") == b"\x01" * 100_000
        assert store.file_content("e", "p", "r2", "empty.txt") == b""
        assert _blob_column(store, "r1", "weights.bin") == (None, blob_key(b"\x01" * 100_000), 100_000)
        sizes = {f.name: f.size for f in store.files("e", "p", "r1")}
        assert sizes["weights.bin"] == 100_000 and sizes["requirements.txt"] == 11
        # Derived files still come from the run's data.
        assert store.file_content("e", "p", "r1", "config.yaml") == b"wandb_version: 1\n"
        # A later file of a name replaces the earlier one.
        _log_run(store, "r1", {"requirements.txt": b"torch\n"})
        assert store.file_content("e", "p", "r1", "requirements.txt") == b"torch\n"
    # Identical content is stored once.
    stored = {p.relative_to(folder).as_posix() for p in _blob_files(folder)}
    contents = (b"numpy==2.0\n", b"\x01" * 100_000, b"", b"torch\n")
    assert stored == {_blob_path(content) for content in contents}


def test_the_location_is_recorded_and_checked(store_url: str, tmp_path: Path) -> None:
    folder = tmp_path / "blobs"
    with Store.open(store_url, blobs=f"file://{folder}") as store:
        _log_run(store, "r1", {"a.txt": b"A"})
    # Without blobs=, every later open (CLI, runyard.Api(), another server) finds the recorded location.
    with Store.open(store_url) as again:
        assert again.blobs is not None and again.blobs.url == folder.as_uri()
        assert again.file_content("e", "p", "r1", "a.txt") == b"A"
        _log_run(again, "r2", {"b.txt": b"B"})
        assert _blob_column(again, "r2", "b.txt")[0] is None
    with Store.open(store_url, blobs=str(folder)) as same:  # the same place, spelled as a path
        assert same.file_content("e", "p", "r2", "b.txt") == b"B"
    other = tmp_path / "other"
    with pytest.raises(StoreError) as caught:
        Store.open(store_url, blobs=str(other))
    message = str(caught.value)
    assert folder.as_uri() in message and other.as_uri() in message and "without one" in message
    assert not other.exists()


def test_a_store_without_blobs_keeps_files_inline(store_url: str, tmp_path: Path) -> None:
    with Store.open(store_url) as store:
        assert store.blobs is None
        _log_run(store, "r1", {"a.txt": b"inline"})
        assert _blob_column(store, "r1", "a.txt") == (b"inline", None, 6)
        assert store.file_content("e", "p", "r1", "a.txt") == b"inline"
        with pytest.raises(StoreError, match="no blob location"):
            _log_run(store, "r2", {"b.bin": {"name": "b.bin", "blob": blob_key(b"x"), "size": 1}})
    # Blobs configured later: earlier files stay inline and readable, new ones go to the blobs.
    with Store.open(store_url, blobs=str(tmp_path / "blobs")) as store:
        assert store.file_content("e", "p", "r1", "a.txt") == b"inline"
        _log_run(store, "r1", {"c.txt": b"blob"})
        assert _blob_column(store, "r1", "c.txt") == (None, blob_key(b"blob"), 4)


def test_a_file_record_may_name_a_blob_put_by_its_writer(store_url: str, tmp_path: Path) -> None:
    with Store.open(store_url, blobs=str(tmp_path / "blobs")) as store:
        assert store.blobs is not None
        key = store.blobs.put(b"uploaded")
        _log_run(store, "r1", {"up.bin": {"name": "up.bin", "blob": key, "size": 8}})
        assert store.file_content("e", "p", "r1", "up.bin") == b"uploaded"
        missing = blob_key(b"never stored")
        with pytest.raises(StoreError, match="does not hold"):
            _log_run(store, "r2", {"x.bin": {"name": "x.bin", "blob": missing, "size": 12}})
        assert store.get_run("e", "p", "r2") is None  # refused before anything was written


def test_a_blob_folder_missing_here_is_a_clear_error(store_url: str, tmp_path: Path) -> None:
    folder = tmp_path / "blobs"
    with Store.open(store_url, blobs=str(folder)) as store:
        _log_run(store, "r1", {"a.txt": b"A"})
    folder.rename(tmp_path / "moved")  # as on a machine where the folder is not mounted
    with Store.open(store_url) as store:
        with pytest.raises(StoreError) as caught:
            store.file_content("e", "p", "r1", "a.txt")
        message = str(caught.value)
        assert "'a.txt'" in message and "e/p/r1" in message and folder.as_uri() in message and "mount" in message
        assert store.file_content("e", "p", "r1", "config.yaml") is not None  # the rest of the run still reads


def test_a_writer_that_cannot_reach_the_blob_folder_keeps_files_inline(store_url: str, tmp_path: Path) -> None:
    # A training machine ingesting into the shared store while the server's blob folder is not mounted there.
    folder = tmp_path / "blobs"
    with Store.open(store_url, blobs=str(folder)) as store:
        _log_run(store, "r1", {"a.txt": b"A"})
    folder.rename(tmp_path / "elsewhere")
    with Store.open(store_url) as store:
        with pytest.warns(RuntimeWarning, match="kept in the database"):
            _log_run(store, "r2", {"requirements.txt": b"numpy==2\n"})
        assert store.file_content("e", "p", "r2", "requirements.txt") == b"numpy==2\n"
        assert _blob_column(store, "r2", "requirements.txt") == (b"numpy==2\n", None, 9)
    (tmp_path / "elsewhere").rename(folder)
    with Store.open(store_url) as store:
        assert store.file_content("e", "p", "r1", "a.txt") == b"A"  # the blob one still reads where mounted


def test_migration_keeps_inline_files(store_url: str, tmp_path: Path) -> None:
    from alembic import command
    from alembic.config import Config

    import runyard.store.migrate as migrate

    with Store.open(store_url) as store:
        _log_run(store, "r1", {"a.txt": b"before 0005"})
        cfg = Config()
        cfg.set_main_option("script_location", str(Path(migrate.__file__).parent / "migrations"))
        with store.engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.downgrade(cfg, "0004")
    with Store.open(store_url, blobs=str(tmp_path / "blobs")) as store:  # migrates back to head
        assert store.file_content("e", "p", "r1", "a.txt") == b"before 0005"
        _log_run(store, "r1", {"b.txt": b"after"})
        assert store.file_content("e", "p", "r1", "b.txt") == b"after"
