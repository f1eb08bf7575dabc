"""The store narrows what an outsider sees in SQL, on both backends: projects listed and counted by what the reader
may read, a private project's public runs only (query, count, ids, groups, keys), visibilities looked up."""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest

from runyard.errors import UsageError
from runyard.store import Store


def _run(store: Store, entity: str, project: str, run_id: str, config: dict[str, Any]) -> None:
    now = time.time()
    start = {"session": uuid.uuid4().hex, "run_id": run_id, "project": project, "entity": entity, "config": config}
    store.ingest([[1, "start", {**start, "created_at": now, "started_at": now, "group": "g"}]])


def test_outsiders_see_public_things_only(store: Store) -> None:
    _run(store, "team", "closed", "a", {"secret_key": 1})
    _run(store, "team", "mixed", "pub", {"lr": 0.1})
    _run(store, "team", "mixed", "priv", {"secret_key": 2})
    _run(store, "team", "open", "x", {"lr": 0.2})
    _run(store, "team", "open", "y", {"lr": 0.3})
    store.update_run("team", "mixed", "pub", visibility="public")
    store.set_project_visibility("team", "open", "public")

    everything = {p.name: p.run_count for p in store.list_projects()}
    assert everything == {"closed": 1, "mixed": 2, "open": 2}
    member = {p.name: p.run_count for p in store.list_projects(readable=frozenset({"team"}))}
    assert member == everything
    outsider = {p.name: p.run_count for p in store.list_projects(readable=frozenset({"rivals"}))}
    assert outsider == {"mixed": 1, "open": 2}
    assert store.get_project("team", "closed", readable=frozenset()) is None
    assert store.get_project("team", "open", readable=frozenset()).visibility == "public"  # type: ignore[union-attr]

    assert [r.run_id for r in store.query_runs("team", "mixed", public_only=True)] == ["pub"]
    assert store.count_runs("team", "mixed", public_only=True) == 1
    assert store.count_runs("team", "mixed", filters={"config.secret_key": 2}, public_only=True) == 0
    assert store.count_runs("team", "mixed", filters={"config.secret_key": 2}) == 1
    assert store.query_run_ids("team", "mixed", order="config.secret_key", public_only=True) == ["pub"]
    assert [g.run_ids for g in store.group_runs("team", "mixed", "group", public_only=True)] == [["pub"]]
    assert [r.run_id for r in store.get_runs("team", "mixed", ["priv", "pub"], public_only=True)] == ["pub"]
    assert store.public_run_ids("team", "mixed", ["priv", "pub", "nope"]) == {"pub"}
    assert store.project_keys("team", "mixed", public_only=True).config == ["lr"]
    assert store.project_keys("team", "mixed").config == ["lr", "secret_key"]

    assert store.visibility_of("team", "mixed", "pub") == ("private", "public")
    assert store.visibility_of("team", "open") == ("public", "")
    assert store.visibility_of("team", "nope") is None
    with pytest.raises(UsageError, match="'private' or 'public'"):
        store.set_project_visibility("team", "open", "secret")
