"""Media files go to the store's blob store when it has one: content-addressed, written once."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

import runyard
from runyard.store import Store

np = pytest.importorskip("numpy")


def test_media_files_are_content_addressed_blobs(api, store_url: str, tmp_path: Path, monkeypatch) -> None:
    blobs = tmp_path / "blobs"
    Store.open(store_url, blobs=str(blobs)).close()  # the store records its blob location, as `runyard server --blobs`
    monkeypatch.setenv("RUNYARD_STORE_URL", store_url)
    table = runyard.Table(columns=["a"], data=[[i] for i in range(1000)])
    with runyard.init(project="media") as run:
        run.log({"img": runyard.Image(np.full((16, 16, 3), 7, dtype=np.uint8)), "tbl": table})
        run.log({"tbl": table})  # the same content again: a second run file, one blob
    r = api.run(f"media/{run.id}")
    rows = list(r.scan_history())
    table_bytes = [r.file(row["tbl"]["path"]).content() for row in rows]
    assert table_bytes[0] == table_bytes[1]
    png = r.file(rows[0]["img"]["path"]).content()
    stored = {p.name: p.read_bytes() for p in blobs.rglob("*") if p.is_file()}
    for data in (png, table_bytes[0]):
        key = hashlib.sha256(data).hexdigest()
        assert stored[key] == data
    assert sum(1 for data in stored.values() if data == table_bytes[0]) == 1
    assert rows[0]["tbl"]["sha256"] == hashlib.sha256(table_bytes[0]).hexdigest()
