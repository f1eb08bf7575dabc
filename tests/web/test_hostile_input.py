"""The web app and its server under hostile or mistaken input, in Chromium: an invalid search is never sent,
another site's page can neither stop a run nor read the server (DNS rebinding), and Stop escalates to a force
stop the user confirms."""

from __future__ import annotations

import getpass
import http.server
import shutil
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from runyard.store import Store

from .conftest import log_run


def _seed_running(store_url: str, project: str, run_id: str) -> str:
    """A run that reads running (fresh heartbeat, no exit), written as the SDK would; returns its entity."""
    entity = getpass.getuser()
    start = {
        "session": uuid.uuid4().hex, "run_id": run_id, "project": project, "entity": entity, "name": run_id,
        "notes": None, "tags": [], "group": None, "job_type": None, "config": {}, "created_at": time.time(),
        "started_at": time.time(), "resumed": False, "start_step": 0, "runtime_offset": 0.0, "host": "h", "pid": 1,
        "username": entity, "program": "p.py", "mode": "online",
    }  # fmt: skip
    with Store.open(store_url) as store:
        store.ingest([[1, "start", start], [2, "row", {"_step": 0, "loss": 1.0}]])
    return entity


def test_an_invalid_search_is_reported_once_and_never_sent(server: str, page: Any, store_url: str) -> None:
    log_run("hostile", "beta-1", steps=5)
    log_run("hostile", "beta-2", steps=5)
    entity = _seed_running(store_url, "hostile", "live-1")  # a live run: the page refreshes every 2 s
    sent: list[str] = []
    failed: list[str] = []

    def on_request(request: Any) -> None:
        if "/runs/" in request.url and request.method == "POST":
            sent.append(request.post_data or "")

    def on_response(response: Any) -> None:
        if "/runs/" in response.url and response.status >= 400:
            failed.append(response.url)

    page.goto(f"{server}/{entity}/hostile")
    expect(page.get_by_test_id("workspace-page")).to_have_attribute("data-live", "true")
    page.on("request", on_request)
    page.on("response", on_response)
    search = page.get_by_test_id("run-search")
    error = page.get_by_test_id("search-error")

    # Not a regular expression at all: reported, never sent, while the live refresh goes on.
    search.fill("beta-(")
    expect(error).to_contain_text("not a valid regular expression")
    expect(search).to_have_attribute("aria-invalid", "true")
    page.wait_for_timeout(5000)  # two and a half refresh periods
    assert not [body for body in sent if "beta-(" in body]
    assert sent, "the page stopped refreshing altogether"
    expect(page.get_by_test_id("run-row")).to_have_count(3)  # the last good list stays

    # Lookahead: valid in JavaScript, refused by the server's linear-time engine: also caught before sending.
    search.fill("beta(?=-2)")
    expect(error).to_contain_text("lookahead")
    # Only the server knows this one (RE2 repeats at most 1000 times): it is refused once, then never resent.
    search.fill("a{1001}")
    expect(error).to_contain_text("a{1001}")
    page.wait_for_timeout(1000)  # queries already on their way when the first answer came back
    refused = [body for body in sent if "a{1001}" in body]
    assert refused
    page.wait_for_timeout(5000)
    assert [body for body in sent if "a{1001}" in body] == refused
    assert len(failed) == len(refused)
    assert sent[-1] not in refused  # the refresh goes on, with the last search that worked

    # A good pattern works again.
    search.fill("^beta-2$")
    expect(error).to_have_count(0)
    expect(page.get_by_test_id("run-row")).to_have_count(1)


def _wait_stored(url: str) -> None:
    """Wait until the run at ``url`` (REST) is in the store: its ingester starts a moment after the trainer."""
    deadline = time.monotonic() + 30
    while True:
        try:
            with urllib.request.urlopen(url) as answer:
                if answer.status == 200:
                    return
        except urllib.error.HTTPError:
            pass
        assert time.monotonic() < deadline, f"{url} never appeared"
        time.sleep(0.1)


class _AttackerPage(http.server.BaseHTTPRequestHandler):
    """Another site: its page posts a form to the runyard server (the target is in the query string)."""

    def do_GET(self) -> None:
        target = self.path.split("?target=", 1)[1]
        body = (
            f'<form id="f" method="POST" action="{target}" enctype="text/plain"><input name="x" value="y"></form>'
            '<script>document.getElementById("f").submit()</script>'
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def attacker() -> Iterator[str]:
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _AttackerPage)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://localhost:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_another_sites_form_cannot_stop_a_run(server: str, page: Any, store_url: str, attacker: str) -> None:
    entity = _seed_running(store_url, "csrf", "victim")
    target = f"{server}/api/v1/runs/{entity}/csrf/victim/stop"
    with page.expect_response(target) as answer:
        page.goto(f"{attacker}/?target={target}")
    assert answer.value.status == 403
    assert "another site" in answer.value.text() or "not of this server" in answer.value.text()
    with Store.open(store_url) as store:
        run = store.get_run(entity, "csrf", "victim")
    assert run is not None and run.stop_requested_at is None


def test_a_rebound_name_cannot_read_the_server(server: str, browser: Any) -> None:
    # evil.test resolves to 127.0.0.1 for this browser, as a rebinding attacker's DNS would make it.
    port = server.rsplit(":", 1)[1]
    other = browser.browser_type.launch(
        executable_path=shutil.which("chromium"),
        args=["--no-sandbox", "--disable-gpu", "--host-resolver-rules=MAP evil.test 127.0.0.1"],
    )
    try:
        tab = other.new_page()
        answer = tab.goto(f"http://evil.test:{port}/api/v1/projects")
        assert answer is not None and answer.status == 400
        assert "DNS rebinding" in tab.content()
        app = tab.goto(f"http://evil.test:{port}/")  # not even the app
        assert app is not None and app.status == 400
        fine = tab.goto(f"http://localhost:{port}/api/v1/health")
        assert fine is not None and fine.status == 200
    finally:
        other.close()


STUBBORN = """
import signal, sys, time, runyard
signal.signal(signal.SIGINT, lambda *a: print("caught SIGINT", flush=True))
run = runyard.init(project="force", name="stubborn")
print("RUN_ID=" + run.id, flush=True)
for i in range(3000):
    run.log({"x": i})
    time.sleep(0.02)
"""


def test_stop_then_force_stop_from_the_workspace(server: str, page: Any, root: Path, tmp_path: Path) -> None:
    script = tmp_path / "stubborn.py"
    script.write_text(STUBBORN)
    proc = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.startswith("RUN_ID=")
        entity = getpass.getuser()
        _wait_stored(f"{server}/api/v1/runs/{entity}/force/{line.strip().split('=', 1)[1]}")
        page.goto(f"{server}/{entity}/force")
        live = page.locator('[data-testid="run-row"][data-run-name="stubborn"]')
        expect(live.get_by_test_id("state-badge")).to_have_attribute("data-state", "running", timeout=15_000)
        live.hover()
        live.get_by_test_id("run-kebab").click()
        page.get_by_test_id("menu-stop").click()
        confirm = page.get_by_test_id("confirm")
        expect(confirm).to_contain_text("SIGTERM")
        confirm.get_by_test_id("confirm-ok").click()
        badge = live.get_by_test_id("state-badge")
        expect(badge).to_have_attribute("data-state", "stopping", timeout=5_000)
        assert proc.stdout.readline().strip() == "caught SIGINT"  # it carries on
        assert "Force stop" in (badge.get_attribute("title") or "")
        live.hover()
        live.get_by_test_id("run-kebab").click()
        page.get_by_test_id("menu-force-stop").click()
        expect(confirm).to_contain_text("still runs")
        confirm.get_by_test_id("confirm-ok").click()
        proc.wait(timeout=30)
        expect(live).to_have_attribute("data-state", "killed", timeout=15_000)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
