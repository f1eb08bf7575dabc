"""The workspace at 10,000 runs: the runs table stays virtualised (a window of rows in the DOM, pages of
runs/query fetched as the user scrolls) and the count and first N runs read right.

Logging 10,000 runs through the SDK would take hours, so the runs are written straight into the store's
tables, as ``bench/query_runs.py`` does (finished runs, no history).
"""

from __future__ import annotations

import time
from typing import Any

import sqlalchemy as sa
from playwright.sync_api import expect

from runyard.store import Store
from runyard.store.schema import entities, projects, runs

N_RUNS = 10_000


def _row(pid: int, i: int, now: float) -> dict[str, Any]:
    return {
        "project_id": pid, "run_id": f"r{i:05d}", "name": f"run-{i:05d}", "tags": [], "group_name": None,
        "job_type": None, "state": "finished", "config": {"lr": i / N_RUNS}, "summary": {"acc": i / N_RUNS},
        "summary_state": {}, "metrics": [], "created_at": now - (N_RUNS - i), "heartbeat_at": now,
        "runtime": 60.0, "last_step": 0, "host": "node", "username": "scale", "program": "train.py",
    }  # fmt: skip


def _fill(store_url: str) -> None:
    now = time.time()
    with Store.open(store_url) as store, store.engine.begin() as conn:
        entity = sa.insert(entities).values(name="scale", created_at=now).returning(entities.c.id)
        eid = conn.execute(entity).scalar_one()
        project = sa.insert(projects).values(entity_id=eid, name="big", created_at=now, last_activity=now)
        pid = conn.execute(project.returning(projects.c.id)).scalar_one()
        rows = [_row(pid, i, now) for i in range(N_RUNS)]
        for start in range(0, N_RUNS, 2000):
            conn.execute(sa.insert(runs), rows[start : start + 2000])


def test_ten_thousand_runs_stay_virtualised(server: str, store_url: str, page: Any) -> None:
    _fill(store_url)
    queries: list[dict[str, Any]] = []
    page.on(
        "request",
        lambda r: queries.append(r.post_data_json) if r.url.endswith("/runs/query") and r.post_data else None,
    )
    page.goto(f"{server}/scale/big")
    expect(page.get_by_test_id("run-count")).to_have_text("10000 (10 visualized)")
    page.get_by_test_id("expand-table").click()
    rows = page.get_by_test_id("run-row")
    expect(rows.first).to_have_attribute("data-run-name", "run-09999")
    in_dom = rows.count()
    assert 20 <= in_dom < 120, in_dom  # a window, never 10,000 rows

    # scroll to the end: only the pages in view are fetched, the last run shows
    page.get_by_test_id("run-list").evaluate("el => { el.scrollTop = el.scrollHeight; }")
    last = page.locator('[data-testid="run-row"][data-run-name="run-00000"]')
    expect(last).to_be_visible()
    assert rows.count() < 120
    offsets = sorted({q.get("offset", 0) for q in queries if q.get("limit") == 100})
    assert offsets[-1] == 9900
    assert len(offsets) <= 4, offsets  # the first page and the last one (or two), nothing in between

    # and back to the middle, smoothly: rows at once for the pages fetched, skeletons while one loads
    page.get_by_test_id("run-list").evaluate("el => { el.scrollTop = el.scrollHeight / 2; }")
    expect(page.locator('[data-testid="run-row"][data-run-name="run-05000"]')).to_be_visible()
