"""``store.server_state``: documents a server keeps between requests, written only over the version read, and
in the same transaction as the records they go with (SQLite and PostgreSQL)."""

from __future__ import annotations

import math
import time

import pytest
from store_fakes import FakeSession

from runyard.store import Store
from runyard.store.server_state import Doc, StaleDocError


def test_a_document_round_trips_and_a_stale_write_is_refused(store: Store, store_url: str) -> None:
    state = store.server_state
    assert state.get("k", "a") is None
    doc = Doc("k", "a", {"x": 1, "nan": math.nan, "nested": {"y": [1, "two"]}})
    state.save(doc)
    assert doc.version == 1
    first = state.get("k", "a")
    assert first is not None and first.version == 1 and first.value["nested"] == {"y": [1, "two"]}
    assert math.isnan(first.value["nan"])

    with Store.open(store_url) as other:  # another server process on the same database
        second = other.server_state.get("k", "a")
        assert second is not None
        second.value["x"] = 2
        other.server_state.save(second)
    first.value["x"] = 3
    with pytest.raises(StaleDocError):
        state.save(first)  # written over a version it never saw: refused
    stored = state.get("k", "a")
    assert stored is not None and (stored.value["x"], stored.version) == (2, 2)
    with pytest.raises(StaleDocError):
        state.save(Doc("k", "a", {"x": 4}))  # a second "new" document of the same name


def test_records_and_their_document_are_stored_together_or_not_at_all(store: Store) -> None:
    session = FakeSession("r1", entity="e", project="p")
    for i in range(3):
        session.log({"loss": float(i)})
    doc = Doc("wandb-run", "e/p/r1", {"sent": 3})
    store.ingest(session.records, save=doc)
    assert store.series("e", "p", "r1", "loss")[0] == [0, 1, 2]

    stale = Doc("wandb-run", "e/p/r1", {"sent": 5}, version=doc.version)
    store.server_state.save(Doc("wandb-run", "e/p/r1", {"sent": 3}, version=doc.version))  # another replica
    more = [session.log({"loss": 3.0}), session.log({"loss": 4.0})]
    with pytest.raises(StaleDocError):
        store.ingest(more, session=session.session, save=stale)
    assert store.series("e", "p", "r1", "loss")[0] == [0, 1, 2]  # nothing of the refused batch
    assert store.session_progress(session.session) == 4

    fresh = store.server_state.get("wandb-run", "e/p/r1")
    assert fresh is not None
    fresh.value["sent"] = 5
    store.ingest(more, session=session.session, save=fresh)
    assert store.series("e", "p", "r1", "loss")[0] == [0, 1, 2, 3, 4]
    stored = store.server_state.get("wandb-run", "e/p/r1")
    assert stored is not None and stored.value == {"sent": 5}


def test_put_overwrites_delete_and_purge_remove(store: Store) -> None:
    state = store.server_state
    state.put("md5", "blob1", {"md5": "a"})
    state.put("md5", "blob1", {"md5": "b"})
    found = state.get("md5", "blob1")
    assert found is not None and found.value == {"md5": "b"} and found.version == 2
    state.delete("md5", "blob1")
    assert state.get("md5", "blob1") is None

    state.put("pending", "old", {}, expires_at=time.time() - 1)
    state.put("pending", "new", {}, expires_at=time.time() + 3600)
    state.put("pending", "kept", {})
    assert state.get("pending", "old") is None  # expired reads as absent before it is purged
    assert state.purge("pending") == 1
    assert state.get("pending", "new") is not None and state.get("pending", "kept") is not None


def test_every_process_of_a_store_shares_one_secret(store: Store, store_url: str) -> None:
    secret = store.server_state.secret("file-urls")
    assert len(secret) == 32
    with Store.open(store_url) as other:
        assert other.server_state.secret("file-urls") == secret
    assert store.server_state.secret("another") != secret
