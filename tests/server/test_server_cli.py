"""The server's commands as real processes: ``runyard ui`` and ``runyard demo`` print their URL and answer."""

from __future__ import annotations

import getpass
import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

URL = re.compile(r"at (http://127\.0\.0\.1:\d+/\S*)")


def _env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RUNYARD_", "WANDB_"))}
    env["RUNYARD_DIR"] = str(tmp_path)
    return env


@pytest.fixture
def spawn(tmp_path: Path) -> Iterator[list[subprocess.Popen[str]]]:
    """Processes a test starts; any still running at the end is interrupted, then killed."""
    procs: list[subprocess.Popen[str]] = []
    yield procs
    for proc in procs:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def _runyard(tmp_path: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "runyard.cli", *args],
        cwd=tmp_path,
        env=_env(tmp_path),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _url(proc: subprocess.Popen[str]) -> str:
    """Read the process's output up to the line with the URL it serves at."""
    assert proc.stdout is not None
    seen = []
    for line in proc.stdout:
        seen.append(line)
        found = URL.search(line)
        if found:
            return found.group(1)
    raise AssertionError("no URL printed:\n" + "".join(seen) + (proc.stderr.read() if proc.stderr else ""))


def test_ui_prints_its_url_and_answers(tmp_path: Path, spawn: list[subprocess.Popen[str]]) -> None:
    proc = _runyard(tmp_path, "ui", "--create", "--port", "0")
    spawn.append(proc)
    url = _url(proc)
    assert httpx.get(url + "api/v1/health", timeout=10).json()["ok"] is True
    assert httpx.get(url + "api/v1/projects", timeout=10).json() == {"projects": []}
    assert (tmp_path / "runyard" / "runyard.db").is_file()  # --create: a new store in the data folder
    # Files (wandb.save, artifacts) go to a blob folder beside the store by default: no database-sized limit.
    assert (tmp_path / "runyard" / "blobs").is_dir()
    proc.send_signal(signal.SIGINT)
    assert proc.wait(10) == 0


def test_ui_says_when_the_port_is_taken(tmp_path: Path, spawn: list[subprocess.Popen[str]]) -> None:
    first = _runyard(tmp_path, "ui", "--create", "--port", "0")
    spawn.append(first)
    port = _url(first).rsplit(":", 1)[1].strip("/")
    second = subprocess.run(
        [sys.executable, "-m", "runyard.cli", "ui", "--port", port],
        cwd=tmp_path,
        env=_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert second.returncode == 1
    assert f"could not listen on 127.0.0.1:{port}" in second.stderr and "--port" in second.stderr


def test_demo_ends_serving_its_runs(tmp_path: Path, spawn: list[subprocess.Popen[str]]) -> None:
    proc = _runyard(tmp_path, "demo", "--steps", "20", "--port", "0")
    spawn.append(proc)
    url = _url(proc)
    entity = getpass.getuser()
    assert url.endswith(f"/{entity}/demo-moons")
    base = url.rsplit("/", 2)[0]
    project = httpx.get(f"{base}/api/v1/projects/{entity}/demo-moons", timeout=10).json()
    assert project["run_count"] == 4


def test_demo_no_ui_exits(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "runyard.cli", "demo", "--steps", "5", "--no-ui"],
        cwd=tmp_path,
        env=_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "project demo-moons now holds 4 run(s)" in done.stdout
    assert "serving" not in done.stdout


# -- a newcomer's first minutes: the wrong folder, a taken port, run links, listening on every interface --------


def _run(tmp_path: Path, *args: str, cwd: Path | None = None, env: dict[str, str] | None = None) -> Any:
    return subprocess.run(
        [sys.executable, "-m", "runyard.cli", *args],
        cwd=cwd or tmp_path,
        env=env or _env(tmp_path),
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_commands_in_a_folder_without_runyard_data_create_no_store(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {**_env(tmp_path), "RUNYARD_DIR": str(elsewhere)}
    ui = _run(tmp_path, "ui", "--port", "0", env=env)
    assert ui.returncode == 2
    assert f"no runyard data in {elsewhere / 'runyard'}" in ui.stderr and "--dir" in ui.stderr
    assert "--create" in ui.stderr
    sync = _run(tmp_path, "sync", env=env)
    assert sync.returncode == 2 and "no such file or folder" in sync.stderr and "--dir" in sync.stderr
    assert list(elsewhere.iterdir()) == []  # nothing was created: no runyard/, no runyard.db


def test_demo_checks_its_port_before_logging(tmp_path: Path) -> None:
    from runyard.server.serve import bind

    taken = bind("127.0.0.1", 0)
    taken.listen()
    try:
        port = str(taken.getsockname()[1])
        done = _run(tmp_path, "demo", "--steps", "5", "--port", port)
    finally:
        taken.close()
    assert done.returncode == 1
    assert f"could not listen on 127.0.0.1:{port}" in done.stderr
    assert "Trained" not in done.stdout and not (tmp_path / "runyard").exists()  # no run was logged


def test_demo_speaks_at_once_and_aligns_its_table(tmp_path: Path) -> None:
    done = _run(tmp_path, "demo", "--steps", "5", "--no-ui")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("runyard demo: training 4 small models (5 steps each)")
    assert sum(line.startswith(f"  {i}/4 ") for line in lines for i in range(1, 5)) == 4
    header = next(i for i, line in enumerate(lines) if line.startswith("run "))
    table = lines[header : header + 5]
    # Every column ends at the same place in every line, whatever the length of the run names.
    ends = {len(line) for line in table}
    assert len(ends) == 1, table
    lr_end = table[0].index(" lr") + 3
    assert all(line[lr_end - 1] != " " and line[lr_end] == " " for line in table), table


def test_run_urls_name_the_server_that_serves_the_store(
    tmp_path: Path, spawn: list[subprocess.Popen[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    import runyard

    for name in list(os.environ):
        if name.startswith(("RUNYARD_", "WANDB_")):
            monkeypatch.delenv(name)
    monkeypatch.setenv("RUNYARD_DIR", str(tmp_path))
    monkeypatch.setenv("RUNYARD_SILENT", "1")
    run = runyard.init(project="links", settings={"disable_stats": True, "console": "off"})
    run.log({"x": 1})
    assert run.url is None  # no server has served this store yet: no link that leads nowhere
    proc = _runyard(tmp_path, "ui", "--port", "0")
    spawn.append(proc)
    base = _url(proc).rstrip("/")
    wait = httpx.get(base + "/api/v1/health", timeout=10)
    assert wait.status_code == 200
    assert run.url == f"{base}/{run.entity}/links/runs/{run.id}"
    run.finish()
    page = httpx.get(run.url, timeout=10)
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    with runyard.Api() as api:
        assert api.run(f"links/{run.id}").url == run.url
        assert api.project("links").url == f"{base}/{run.entity}/links"
    offline = runyard.init(project="links", mode="offline")
    assert offline.url is None
    offline.finish()


def test_ui_url_option_names_a_proxy_in_run_links(tmp_path: Path, spawn: list[subprocess.Popen[str]]) -> None:
    proc = _runyard(tmp_path, "ui", "--create", "--port", "0", "--url", "https://runs.example.org/")
    spawn.append(proc)
    _url(proc)
    from runyard.store import Store

    store = Store.open(f"sqlite:///{tmp_path / 'runyard' / 'runyard.db'}")
    try:
        assert store.server_url() == "https://runs.example.org"
    finally:
        store.close()


def test_listening_on_every_interface_shows_the_real_address(
    tmp_path: Path, spawn: list[subprocess.Popen[str]]
) -> None:
    """Only `runyard server` (with accounts) listens beyond this machine; it names the address others reach."""
    db = f"sqlite:///{tmp_path}/team.db"
    proc = subprocess.Popen(
        [sys.executable, "-m", "runyard.cli", "server", "--db", db, "--host", "0.0.0.0", "--port", "0"],
        cwd=tmp_path,
        env=_env(tmp_path),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    spawn.append(proc)
    assert proc.stdout is not None and proc.stderr is not None
    line = proc.stdout.readline()
    found = re.search(r"at (http://([^:/]+):(\d+))/", line)
    assert found, line
    base, host, _ = found.groups()
    assert host != "0.0.0.0"
    assert httpx.get(base + "/api/v1/health", timeout=10).json()["ok"] is True
    assert f"{base}/setup?token=" in proc.stdout.readline()  # the setup link names the reachable address
    proc.send_signal(signal.SIGINT)
    proc.wait(10)


_NO_PSYCOPG = """
import sys
class _NoPsycopg:
    def find_spec(self, name, path=None, target=None):
        if name == "psycopg" or name.startswith("psycopg."):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None
sys.meta_path.insert(0, _NoPsycopg())
"""


def test_postgresql_without_its_driver_says_what_to_install(tmp_path: Path) -> None:
    """No traceback, no retries, no claim of stored steps: one message naming ``runyard[postgres]``."""
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(_NO_PSYCOPG)
    env = {**_env(tmp_path), "PYTHONPATH": os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")])}
    url = "postgresql://postgres@127.0.0.1:5432/runyard_never_created"
    server = _run(tmp_path, "server", "--db", url, "--port", "0", env=env)
    assert server.returncode == 2
    assert "pip install 'runyard[postgres]'" in server.stderr and "Traceback" not in server.stderr
    script = "import runyard\nrun = runyard.init(project='p')\nrun.log({'x': 1})\nrun.finish()\n"
    sdk = subprocess.run(
        [sys.executable, "-c", script],
        cwd=tmp_path,
        env={**env, "RUNYARD_STORE_URL": url},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert sdk.returncode == 1
    assert "StoreError" in sdk.stderr and "pip install 'runyard[postgres]'" in sdk.stderr
    assert "retrying" not in sdk.stderr and "steps in the store" not in sdk.stderr


def test_server_prints_a_setup_link_and_admin_create_makes_an_admin(
    tmp_path: Path, spawn: list[subprocess.Popen[str]]
) -> None:
    """`runyard server` has accounts: no key is printed or written; the first start prints a one-time setup link,
    and `runyard server admin create` makes a site admin (with --key, their API key)."""
    import httpx

    env = _env(tmp_path)
    db = tmp_path / "data" / "team.db"
    url = f"sqlite:///{db}"
    proc = subprocess.Popen(
        [sys.executable, "-m", "runyard.cli", "server", "--db", url, "--port", "0"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    spawn.append(proc)
    assert proc.stdout is not None
    seen = []
    for line in proc.stdout:
        seen.append(line)
        if "/setup?token=" in line:
            break
    link = re.search(r"(http://\S+)/setup\?token=(\S+)", "".join(seen))
    assert link is not None, "".join(seen)
    assert not any("WANDB_API_KEY" in line for line in seen)
    base, token = link.group(1), link.group(2)
    assert httpx.get(f"{base}/api/v1/me", timeout=30).json()["setup_needed"] is True
    made = httpx.post(
        f"{base}/api/v1/auth/setup",
        json={"token": token, "username": "root", "password": "correct horse battery"},
        timeout=30,
    )
    assert made.status_code == 200 and made.json()["site_admin"]
    proc.send_signal(signal.SIGINT)
    proc.wait(60)
    assert not (db.parent / "api-key").exists() and not (tmp_path / "runyard").exists()

    created = subprocess.run(
        [
            sys.executable,
            "-m",
            "runyard.cli",
            "server",
            "admin",
            "create",
            "ops",
            "--password-stdin",
            "--key",
            "--db",
            url,
        ],
        cwd=tmp_path,
        env=env,
        input="another good password\n",
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert created.returncode == 0, created.stderr
    key = re.search(r"API key of ops: (\w+)", created.stdout)
    assert key is not None
    taken = subprocess.run(
        [sys.executable, "-m", "runyard.cli", "server", "admin", "create", "ops", "--password-stdin", "--db", url],
        cwd=tmp_path,
        env=env,
        input="another good password\n",
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert taken.returncode != 0 and "exists already" in taken.stderr and "Traceback" not in taken.stderr
    from runyard.store import Store

    with Store.open(url) as store:
        ops = store.accounts.get_user("ops")
        assert ops is not None and ops.site_admin
        assert store.accounts.key_user(key.group(1)) == "ops"
        assert store.accounts.verify_password("ops", "another good password") is not None


def test_ui_refuses_to_listen_beyond_this_machine(tmp_path: Path) -> None:
    ui = _run(tmp_path, "ui", "--create", "--host", "0.0.0.0", "--port", "0")
    assert ui.returncode == 2
    assert "will not listen on 0.0.0.0" in ui.stderr and "runyard server" in ui.stderr
