"""The run page's Overview in a real browser: every field the seed lists, shown as the store holds it, and the
edits (name, description, tags, privacy) and deletion that persist."""

from __future__ import annotations

import json
import re
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from runyard.store import Store

from .conftest import log_run, screenshot
from .seed import REMOTE, Trained, find_run, train_finished


@pytest.fixture
def trained(root: Path, tmp_path: Path, store_url: str) -> Trained:
    return train_finished(tmp_path, store_url)


def _duration(seconds: float) -> str:
    """formatDuration of web/src/format.ts, for the durations a test run has."""
    s = int(seconds + 0.5)
    return f"{s}s" if s < 60 else f"{s // 60}m {s % 60}s"


def _bytes(n: int) -> str:
    """formatBytes of web/src/pages/run/units.ts."""
    units = ["KiB", "MiB", "GiB", "TiB"]
    v, i = n / 1024, 0
    while v >= 1024 and i < len(units) - 1:
        v, i = v / 1024, i + 1
    return f"{v:.0f} {units[i]}" if v >= 100 else f"{v:.1f} {units[i]}"


def _flat(d: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in d.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict) and v:
            out.update(_flat(v, key + "."))
        else:
            out[key] = v
    return out


def test_overview_shows_every_field(server: str, page: Any, trained: Trained) -> None:
    run = trained.record
    meta = run.metadata
    page.goto(server + trained.path)
    value = lambda field: page.get_by_test_id(f"value-{field}")  # noqa: E731

    expect(page.get_by_test_id("run-name")).to_have_text("bright-river-1")
    expect(page.get_by_test_id("run-description")).to_have_text("Baseline on the small split.")
    assert run.notes == "Baseline on the small split."
    expect(page.get_by_test_id("privacy-private")).to_have_attribute("aria-checked", "true")
    expect(page.get_by_test_id("tag")).to_have_count(2)
    assert [t.get_attribute("data-tag") for t in page.get_by_test_id("tag").all()] == run.tags == ["baseline", "resnet"]
    expect(value("author")).to_have_text(run.username)
    expect(value("state").get_by_test_id("state-badge")).to_have_text("finished")
    started = datetime.fromtimestamp(run.created_at, tz=timezone.utc).isoformat(timespec="milliseconds")
    expect(value("start").locator("time")).to_have_attribute("datetime", started.replace("+00:00", "Z"))
    expect(value("duration")).to_have_text(_duration(run.runtime))
    expect(value("path")).to_contain_text(f"{run.entity}/{run.project}/{run.run_id}")
    expect(value("host")).to_have_text(run.host)
    expect(value("os")).to_have_text(meta["os"])
    expect(value("python")).to_have_text(meta["python"])
    expect(page.get_by_test_id("executable")).to_have_text(meta["executable"])
    expect(page.get_by_test_id("command")).to_have_text(meta["command"])
    assert meta["command"].endswith("trainer.py finished")
    cpu = page.get_by_test_id("hw-cpu")
    expect(cpu).to_contain_text(meta["cpu_model"])
    expect(cpu).to_contain_text(f"{meta['cpu_count']} core")
    expect(page.get_by_test_id("hw-memory")).to_contain_text(_bytes(meta["memory_total"]))
    gpu = page.get_by_test_id("hw-gpu")
    expect(gpu).to_contain_text(f"{meta['gpu_count']} × {meta['gpu']}" if meta.get("gpu") else "none detected")
    expect(value("runyard-version")).to_have_text(meta["runyard_version"])
    assert meta["git"]["commit"] == trained.commit
    expect(page.get_by_test_id("git-remote")).to_contain_text(REMOTE)
    commit = page.get_by_test_id("git-commit").locator("a")
    expect(commit).to_have_text(trained.commit)
    expect(commit).to_have_attribute("href", f"https://github.com/example/trainer/commit/{trained.commit}")
    expect(page.get_by_test_id("artifact-outputs")).to_contain_text("No artifact outputs")

    # config and summary: every flattened key with its value
    config = _flat(run.config)
    assert set(config) == {"lr", "batch_size", "optimizer.name", "optimizer.betas", "model"}
    rows = page.get_by_test_id("config-row")
    expect(rows).to_have_count(len(config))
    expect(page.locator('[data-testid="config-row"][data-key="optimizer.name"] td')).to_have_text("adam")
    expect(page.locator('[data-testid="config-row"][data-key="optimizer.betas"] td')).to_have_text(
        json.dumps(config["optimizer.betas"], separators=(",", ":"))
    )
    expect(page.locator('[data-testid="config-row"][data-key="lr"] td')).to_have_text("0.001")
    summary = _flat(run.summary)
    expect(page.get_by_test_id("summary-row")).to_have_count(len(summary))
    expect(page.locator('[data-testid="summary-row"][data-key="best_acc"] td')).to_have_text("0.97")
    expect(page.locator('[data-testid="summary-row"][data-key="_step"] td')).to_have_text("29")
    # long tables are searchable
    page.get_by_test_id("summary-search").fill("loss")
    expect(page.get_by_test_id("summary-row")).to_have_count(len([k for k in summary if "loss" in k]))
    page.get_by_test_id("summary-search").fill("")
    screenshot(page, "run-page")


def test_edits_persist(server: str, page: Any, root: Path, store_url: str) -> None:
    logged = log_run("edits", "first-name", steps=2, notes="old notes", tags=["a", "b"])
    run = find_run(store_url, logged.id)
    page.goto(f"{server}/{run.entity}/{run.project}/runs/{run.run_id}")

    page.get_by_test_id("run-name").click()
    page.get_by_test_id("run-name-input").fill("renamed-run")
    page.get_by_test_id("run-name-input").press("Enter")
    expect(page.get_by_test_id("run-name")).to_have_text("renamed-run")

    page.get_by_test_id("run-description").click()
    page.get_by_test_id("run-description-input").fill("Two lines\nof notes")
    page.get_by_test_id("run-description-input").press("Enter")
    expect(page.get_by_test_id("run-description")).to_have_text("Two lines\nof notes")

    page.locator('[data-tag="a"]').get_by_test_id("tag-remove").click()
    expect(page.get_by_test_id("tag")).to_have_count(1)
    page.get_by_test_id("tag-add").click()
    page.get_by_test_id("tag-input").fill("production")
    page.get_by_test_id("tag-input").press("Enter")
    expect(page.get_by_test_id("tag")).to_have_count(2)
    page.get_by_test_id("tag-input").press("Escape")

    page.get_by_test_id("privacy-public").click()
    expect(page.get_by_test_id("privacy-public")).to_have_attribute("aria-checked", "true")

    # Esc cancels an edit
    page.get_by_test_id("run-name").click()
    page.get_by_test_id("run-name-input").fill("not saved")
    page.get_by_test_id("run-name-input").press("Escape")
    expect(page.get_by_test_id("run-name")).to_have_text("renamed-run")

    page.reload()
    expect(page.get_by_test_id("run-name")).to_have_text("renamed-run")
    expect(page.get_by_test_id("run-description")).to_have_text("Two lines\nof notes")
    assert [t.get_attribute("data-tag") for t in page.get_by_test_id("tag").all()] == ["b", "production"]
    expect(page.get_by_test_id("privacy-public")).to_have_attribute("aria-checked", "true")
    stored = find_run(store_url, run.run_id)
    assert (stored.name, stored.notes, stored.tags, stored.visibility) == (
        "renamed-run",
        "Two lines\nof notes",
        ["b", "production"],
        "public",
    )


def test_delete_confirms_then_returns_to_the_workspace(server: str, page: Any, root: Path, store_url: str) -> None:
    logged = log_run("deletions", "doomed", steps=2)
    run = find_run(store_url, logged.id)
    page.goto(f"{server}/{run.entity}/{run.project}/runs/{run.run_id}")
    page.get_by_test_id("run-delete").click()
    expect(page.get_by_test_id("confirm")).to_contain_text("doomed")
    page.get_by_role("button", name="Cancel").click()
    expect(page.get_by_test_id("confirm")).to_have_count(0)
    page.get_by_test_id("run-delete").click()
    page.get_by_test_id("confirm-ok").click()
    # the workspace may already have written its view (?s=...) into the URL
    expect(page).to_have_url(re.compile(rf"/{run.entity}/deletions(\?[^/]*)?$"))
    with Store.open(store_url) as store:
        assert store.get_run(run.entity, run.project, run.run_id) is None
    page.goto(f"{server}/{run.entity}/{run.project}/runs/{run.run_id}")
    expect(page.get_by_test_id("empty")).to_contain_text("No such run")


def test_preempting_is_shown(server: str, page: Any, trained: Trained, store_url: str) -> None:
    """A run whose process said it is about to be preempted (wandb's ``mark_preempting()``) says so."""
    import sqlalchemy as sa

    from runyard.store.schema import runs, sessions

    page.goto(server + trained.path)
    expect(page.get_by_test_id("run-name")).to_have_text("bright-river-1")
    expect(page.get_by_test_id("preempting")).to_have_count(0)
    store = Store.open(store_url)
    try:
        with store.engine.connect() as conn:
            session = conn.execute(
                sa.select(sessions.c.session)
                .join(runs, runs.c.id == sessions.c.run_pk)
                .where(runs.c.run_id == trained.record.run_id)
            ).scalar_one()
        store.mark_preempting(session, trained.record.created_at + 1)
        assert store.get_run(trained.record.entity, trained.record.project, trained.record.run_id).preempting_at
    finally:
        store.close()
    page.reload()
    expect(page.get_by_test_id("preempting")).to_contain_text("preempting since")
