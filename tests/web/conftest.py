"""Fixtures for the web app's browser tests: a real server on a loopback port, Debian's Chromium, seeded runs.

Runs are logged through the real SDK into a fresh runyard root (SQLite, the embedded default); the server is
``runyard.server.create_app`` under uvicorn in a thread; the browser is Debian's ``chromium`` driven by
Playwright (the Playwright browser download does not work on these machines). Screenshots go to
``test-artifacts/screenshots/`` (git-ignored), which CI keeps.
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

import runyard

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Debian's Chromium, headless, for the whole session."""
    executable = shutil.which("chromium")
    if executable is None:
        message = "Debian's chromium is not installed (apt-get install chromium; .ci/run does it)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=executable, args=["--no-sandbox", "--disable-gpu"])
        yield browser
        browser.close()


@pytest.fixture
def root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A fresh runyard data folder (the SDK's and the server's); runs left active are finished at teardown."""
    for name in list(os.environ):
        if name.startswith(("RUNYARD_", "WANDB_")):
            monkeypatch.delenv(name)
    path = tmp_path / "runyard"
    monkeypatch.setenv("RUNYARD_DIR", str(tmp_path))  # the folder that holds runyard/
    monkeypatch.setenv("RUNYARD_SILENT", "true")
    monkeypatch.chdir(tmp_path)
    yield path
    runyard.finish()


@pytest.fixture
def store_url(root: Path) -> str:
    return f"sqlite:///{root / 'runyard.db'}"


@pytest.fixture
def server(store_url: str) -> Iterator[str]:
    """A real runyard server over the root's store on a free loopback port; yields its base URL."""
    import uvicorn

    from runyard.server import create_app
    from runyard.store import Store

    store = Store.open(store_url, crash_timeout=300.0)
    port = _free_port()
    config = uvicorn.Config(create_app(store), host="127.0.0.1", port=port, log_level="warning", access_log=False)
    srv = uvicorn.Server(config)
    thread = threading.Thread(target=srv.run, name="runyard-test-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not srv.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test server did not start")
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}"
    srv.should_exit = True
    thread.join(timeout=10)
    store.close()


@pytest.fixture
def page(browser: Any, request: pytest.FixtureRequest) -> Iterator[Any]:
    """A fresh browser page (1400×900); a screenshot is saved when the test fails."""
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    page.set_default_timeout(20_000)
    # Assertions wait as long as actions: a loaded 2-core CI machine can take seconds to answer a query.
    expect.set_options(timeout=15_000)
    yield page
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"FAILED-{request.node.name}.png"), full_page=True)
    context.close()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Each browser test gets one retry. On a loaded 2-core CI machine, Chromium can be starved for seconds while
    the page re-renders; a retry keeps such a stall from failing the run, and a real defect still fails twice.
    The retry is visible (pytest reports it as R) and every failed attempt keeps its screenshot."""
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.path)).parents:
            item.add_marker(pytest.mark.flaky(reruns=1))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    if report.when == "call":
        item.rep_call = report  # type: ignore[attr-defined]


def screenshot(page: Any, name: str) -> Path:
    """Save a screenshot as a test artefact; returns its path."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=False)
    return path


def log_run(
    project: str,
    name: str,
    *,
    steps: int = 50,
    config: dict[str, Any] | None = None,
    metrics: Callable[[int], dict[str, Any]] | None = None,
    **init: Any,
) -> runyard.Run:
    """Log one finished run through the real SDK: ``steps`` rows of ``metrics(step)``."""
    fn = metrics or (lambda i: {"train/loss": 1.0 / (i + 1), "train/acc": i / steps})
    run = runyard.init(project=project, name=name, config=config or {}, reinit="create_new", **init)
    for i in range(steps):
        run.log(fn(i))
    run.finish()
    return run
