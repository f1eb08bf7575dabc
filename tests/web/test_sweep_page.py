"""The sweep page in Chromium: state and controls, best run, parallel coordinates, importance, Pareto front."""

from __future__ import annotations

import time
import uuid
from typing import Any

from playwright.sync_api import expect

from runyard.store import Store
from runyard.store.sweeps.models import Assignment

from .conftest import screenshot


def _finish(store: Store, project: str, run_id: str, config: dict[str, Any], summary: dict[str, float]) -> None:
    session = uuid.uuid4().hex
    now = time.time()
    start = {
        "session": session, "run_id": run_id, "project": project, "entity": "ann", "name": f"trial-{run_id[:4]}",
        "notes": None, "tags": [], "group": None, "job_type": None, "config": config, "created_at": now,
        "started_at": now, "resumed": False, "start_step": 0, "runtime_offset": 0.0, "host": "h", "pid": 1,
        "username": "ann", "program": "train.py", "mode": "online",
    }  # fmt: skip
    row = {**summary, "_step": 0, "_runtime": 1.0, "_timestamp": now}
    done = {"exit_code": 0, "state": "finished", "t": now, "runtime": 1.0}
    store.ingest([[1, "start", start], [2, "row", row], [3, "exit", done]], session=session)


def test_sweep_page_shows_the_search_and_controls_it(server: str, page: Any, store_url: str) -> None:
    config = {
        "method": "random",
        "seed": 3,
        "metrics": [{"name": "err", "goal": "minimize"}, {"name": "speed", "goal": "maximize"}],
        "parameters": {"lr": {"min": 0.0, "max": 1.0}, "opt": {"values": ["sgd", "adam"]}},
    }
    with Store.open(store_url) as store:
        sweep = store.sweeps.create("ann", "tune", config, sweep_id="swp12345")
        for _ in range(8):
            got = store.sweeps.next_run(sweep)
            assert isinstance(got, Assignment)
            lr = float(got.params["lr"])
            _finish(store, "tune", got.run_id, got.params, {"err": (lr - 0.3) ** 2, "speed": lr})
        best = store.sweeps.best_run(sweep)
        front = {r.run_id for r in store.sweeps.pareto_front(sweep)}
    assert best is not None and front

    # The workspace's top bar links the project's sweeps.
    page.goto(f"{server}/ann/tune")
    page.get_by_test_id("sweep-link").click()
    expect(page).to_have_url(f"{server}/ann/tune/sweeps/swp12345")
    expect(page.get_by_test_id("sweep-state")).to_have_text("RUNNING")
    expect(page.get_by_test_id("sweep-run")).to_have_count(8)
    expect(page.get_by_test_id("sweep-best")).to_contain_text("err")
    expect(page.locator(f'[data-testid="sweep-run"][data-run-id="{best.run_id}"]')).to_contain_text("best")
    expect(page.locator('[data-testid="sweep-parallel"] polyline')).to_have_count(8)
    expect(page.locator('[data-testid="sweep-importance"] tbody tr')).to_have_count(2)
    marked = page.locator('[data-testid="sweep-pareto"] circle[data-front="yes"]')
    expect(marked).to_have_count(len(front))
    screenshot(page, "sweep-page")

    page.get_by_test_id("sweep-pause").click()
    expect(page.get_by_test_id("sweep-state")).to_have_text("PAUSED")
    page.get_by_test_id("sweep-resume").click()
    expect(page.get_by_test_id("sweep-state")).to_have_text("RUNNING")
    page.get_by_test_id("sweep-cancel").click()
    expect(page.get_by_test_id("sweep-state")).to_have_text("CANCELED")
    with Store.open(store_url) as store:
        assert store.sweeps.find("ann/tune/swp12345").state == "CANCELED"
