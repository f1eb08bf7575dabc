"""The run page's other tabs in a real browser: Logs (stderr marked, search, live tail of a real training process),
System, Charts and Files; and stopping a live run from its page."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from runyard.store import Store

from .conftest import screenshot
from .seed import Trained, checkout, find_run, start, train_finished


@pytest.fixture
def trained(root: Path, tmp_path: Path, store_url: str) -> Trained:
    return train_finished(tmp_path, store_url)


def test_logs_mark_stderr_and_search(server: str, page: Any, trained: Trained, store_url: str) -> None:
    r = trained.record
    with Store.open(store_url) as store:
        lines = store.console(r.entity, r.project, r.run_id)
    assert {line.stream for line in lines} == {"stdout", "stderr"}

    page.goto(f"{server}{trained.path}?tab=logs")
    shown = page.get_by_test_id("log-line")
    expect(shown).to_have_count(len(lines))
    expect(page.get_by_test_id("logs-status")).to_have_text(f"{len(lines)} lines")
    for line in lines:
        row = page.locator(f'[data-testid="log-line"][data-line-no="{line.line_no}"]')
        expect(row).to_have_attribute("data-stream", line.stream)
        expect(row.locator(".log-text")).to_have_text(line.text)
        expect(row).to_have_class(
            re.compile("log-stderr") if line.stream == "stderr" else re.compile(r"^(?!.*log-stderr)")
        )
    stderr_row = page.locator('[data-testid="log-line"][data-stream="stderr"]', has_text="learning rate")
    expect(stderr_row.locator(".log-mark")).to_have_text("err")
    screenshot(page, "run-logs")

    # the server searches; the page highlights the matches and keeps the search in the URL
    page.get_by_test_id("logs-search").fill("EPOCH 1")
    expect(shown).to_have_count(2)
    expect(page.get_by_test_id("logs-status")).to_have_text("2 matching lines")
    expect(page.locator(".log-text mark").first).to_have_text("epoch 1")
    expect(page).to_have_url(re.compile(r"[?&]search=EPOCH(\+|%20)1"))
    page.get_by_test_id("logs-search").fill("learning rate")
    expect(shown).to_have_count(1)
    expect(shown.first).to_have_attribute("data-stream", "stderr")
    page.get_by_test_id("logs-search").fill("no such text")
    expect(page.get_by_test_id("logs-empty")).to_contain_text("No line contains")
    page.get_by_test_id("logs-search").press("Escape")
    expect(shown).to_have_count(len(lines))


def test_a_long_log_is_virtualised(server: str, page: Any, root: Path, tmp_path: Path, store_url: str) -> None:
    work = tmp_path / "chatty"
    checkout(work)
    proc, run_id = start("chatty", work)
    assert proc.stderr is not None
    proc.stderr.read()
    assert proc.wait(timeout=60) == 0
    run = find_run(store_url, run_id)
    with Store.open(store_url) as store:
        total = store.console_count(run.entity, run.project, run_id)
    assert total > 20_000

    page.goto(f"{server}/{run.entity}/{run.project}/runs/{run_id}?tab=logs")
    view = page.get_by_test_id("log-view")
    expect(view).to_have_attribute("data-count", str(total))
    expect(page.locator(".log-text", has_text=re.compile(r"^line 0$"))).to_be_visible()
    assert page.get_by_test_id("log-line").count() < 200  # only the rows on screen (and a margin) exist
    # anywhere in the log is one page fetch away
    page.get_by_test_id("logs-jump-end").click()
    expect(page.locator(".log-text", has_text=re.compile(r"^line 19999$"))).to_be_visible()
    view.evaluate("e => { e.scrollTop = e.scrollHeight / 2; }")
    expect(page.locator(".log-text", has_text=re.compile(r"^line 10\d{3}$")).first).to_be_visible()
    assert page.get_by_test_id("log-line").count() < 200
    # the search finds a line deep in the log
    page.get_by_test_id("logs-search").fill("line 12345")
    expect(page.get_by_test_id("log-line")).to_have_count(1)


def test_system_charts_and_files(server: str, page: Any, trained: Trained) -> None:
    page.goto(f"{server}{trained.path}?tab=system")
    memory = page.locator('[data-testid="system-section"][data-section="Memory"]')
    expect(memory).to_be_visible()
    expect(memory.get_by_test_id("sys-panel").first.locator("canvas")).to_have_count(1)
    expect(page.locator('[data-testid="sys-panel"][data-title="System memory in use"]')).to_have_count(1)
    expect(page.locator('[data-testid="system-section"][data-section="Disk"]')).to_be_visible()
    screenshot(page, "run-system")

    page.get_by_test_id("tab-charts").click()
    expect(page).to_have_url(re.compile(r"\?tab=charts$"))
    sections = page.get_by_test_id("chart-section")
    expect(sections).to_have_count(2)
    assert {s.get_attribute("data-section") for s in sections.all()} == {"train", "val"}
    loss = page.locator('[data-testid="chart-panel"][data-key="train/loss"]')
    expect(loss).to_have_attribute("data-lines", trained.record.run_id)
    expect(loss).to_have_attribute("data-points", re.compile(r"^[1-9]\d*$"))
    expect(loss.locator("canvas")).to_have_count(1)
    screenshot(page, "run-charts")

    page.get_by_test_id("tab-files").click()
    rows = page.get_by_test_id("file-row")
    expect(rows.first).to_be_visible()
    names = {row.get_attribute("data-name") for row in rows.all()}
    assert {"output.log", "config.yaml", "requirements.txt"} <= names
    with page.expect_download() as info:
        page.locator('[data-name="output.log"]').get_by_test_id("file-download").click()
    download = info.value
    assert download.suggested_filename == "output.log"
    content = Path(download.path()).read_text()
    assert "epoch 1 starting" in content and "learning rate looks high" in content


def test_live_tail_then_stop(server: str, page: Any, root: Path, tmp_path: Path, store_url: str) -> None:
    work = tmp_path / "live"
    checkout(work)
    proc, run_id = start("live", work)
    try:
        run = find_run(store_url, run_id, wait=20)
        page.goto(f"{server}/{run.entity}/{run.project}/runs/{run_id}?tab=logs")
        expect(page.get_by_test_id("logs-live")).to_be_visible()
        view = page.get_by_test_id("log-view")
        # new lines arrive without a reload, and the view keeps to the bottom as they do
        expect(view).to_have_attribute(
            "data-count", re.compile(r"^([6-9]\d|[1-9]\d{2,})$"), timeout=20_000
        )  # >= 60 lines
        count = int(view.get_attribute("data-count"))
        expect(page.locator(".log-text", has_text=re.compile(rf"^tick {count + 40}$"))).to_be_visible(timeout=15_000)
        at_bottom = "e => e.scrollTop + e.clientHeight >= e.scrollHeight - 20"
        assert view.evaluate(at_bottom)
        # scrolled up, it stays where the reader is
        view.evaluate("e => { e.scrollTop = 0; }")
        expect(page.get_by_test_id("logs-jump-end")).to_be_visible()
        page.wait_for_timeout(1500)
        assert view.evaluate("e => e.scrollTop") == 0
        page.get_by_test_id("logs-jump-end").click()
        page.wait_for_timeout(1200)
        assert view.evaluate(at_bottom)
        screenshot(page, "run-logs-live")

        # the header and Overview follow the live run; Stop ends it killed
        page.get_by_test_id("tab-overview").click()
        expect(page.get_by_test_id("value-state").get_by_test_id("state-badge")).to_have_text("running")
        page.get_by_test_id("run-stop").click()
        confirm = page.get_by_test_id("confirm")
        expect(confirm).to_contain_text("Ctrl-C")  # asked first, saying what happens
        confirm.get_by_test_id("confirm-ok").click()
        expect(page.get_by_test_id("value-state").get_by_test_id("state-badge")).to_have_text("killed", timeout=20_000)
        expect(page.get_by_test_id("run-stop")).to_have_count(0)
        assert proc.wait(timeout=20) != 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
