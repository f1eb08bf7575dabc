"""The SDK logging to a real ``runyard server`` process over HTTP, on SQLite and PostgreSQL stores.

The server killed and started again mid-run (nothing lost, nothing twice), an unreachable server (``init()``
within its bound, ``runyard sync`` later), a wrong key (a clear error, nothing lost), a stop from the REST API
reaching the training process, and ``runyard login`` keeping the server and key for every process.
"""

from __future__ import annotations

import getpass
import os
import socket
import stat
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from remote_server import ServerProcess, add_key, clean_env, free_port

from runyard.replay import open_store, synced_into
from runyard.sdk.remote import INIT_WAIT_S
from runyard.store import Store

ENTITY = getpass.getuser()  # the SDK's default entity, and the server's for a key without a login
KEY = "d" * 40

LOGS_UNTIL_TOLD = """
import os, sys, time, runyard
run = runyard.init(project="p", id="r1")
step = 0
while not os.path.exists("stop"):
    run.log({"loss": 1.0 / (step + 1), "twice": step * 2})
    step += 1
    time.sleep(0.002)
run.finish()
heavy = sorted({m.split(".")[0] for m in sys.modules} & {"sqlalchemy", "psycopg", "alembic"})
print(step, ",".join(heavy), flush=True)
"""

UNREACHABLE = """
import sys, time, runyard
init = runyard.init
t = time.monotonic()
run = init(project="p", id="r1")
print(f"init {time.monotonic() - t:.3f}", flush=True)
sys.stdin.readline()  # the test makes the server refuse connections first
for step in range(500):
    run.log({"x": step})
run.finish()
"""

RESUME = """
import runyard
runyard.init(project="p", id="r2", resume="allow")
"""

NO_ID = """
import runyard
run = runyard.init(project="p")  # no id: init() does not talk to the server at all
for step in range(300):
    run.log({"x": step})
run.finish()
print(run.id, flush=True)
"""

STOPPABLE = """
import time, runyard
run = runyard.init(project="p", id="live1")
step = 0
while True:
    run.log({"loss": 1.0 / (step + 1)})
    step += 1
    if step == 5:
        print("logging", flush=True)
    time.sleep(0.01)
"""


@pytest.fixture
def keyed_store(store: Store) -> Store:
    add_key(store, KEY)
    return store


@pytest.fixture
def servers() -> Iterator[list[ServerProcess]]:
    started: list[ServerProcess] = []
    yield started
    for server in started:
        server.stop()


def trainer(code: str, tmp_path: Path, **env: str) -> subprocess.Popen[str]:
    script = tmp_path / "train.py"
    script.write_text(code)
    return subprocess.Popen(
        [sys.executable, str(script)],
        cwd=tmp_path,
        env=clean_env(**{"RUNYARD_DIR": str(tmp_path / "client"), "RUNYARD_SILENT": "1", **env}),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def cli(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "runyard.cli", *args],
        cwd=tmp_path,
        env=clean_env(RUNYARD_DIR=str(tmp_path / "client"), **env),
        capture_output=True,
        text=True,
        timeout=120,
    )


def wait_for(what: str, predicate: Callable[[], object], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def last_step(store: Store, run_id: str = "r1") -> int:
    run = store.get_run(ENTITY, "p", run_id)
    return -1 if run is None or run.last_step is None else run.last_step


def run_logs(tmp_path: Path) -> list[Path]:
    return sorted((tmp_path / "client" / "runyard" / "runs").rglob("*.rylog"))  # RUNYARD_DIR holds runyard/


def test_the_server_killed_and_restarted_mid_run_loses_and_duplicates_nothing(
    keyed_store: Store, store_url: str, tmp_path: Path, servers: list[ServerProcess]
) -> None:
    server = ServerProcess(store_url, tmp_path).start()
    servers.append(server)
    proc = trainer(LOGS_UNTIL_TOLD, tmp_path, RUNYARD_BASE_URL=server.url, RUNYARD_API_KEY=KEY)
    try:
        wait_for("the first points on the server", lambda: last_step(keyed_store) >= 200)
        server.kill()  # mid-run, possibly mid-batch: an applied batch whose answer is lost is sent again
        stored_before = last_step(keyed_store)
        time.sleep(1.5)  # the trainer logs on into its run log
        server.start()
        wait_for("ingestion to resume", lambda: last_step(keyed_store) > stored_before + 500)
        (tmp_path / "stop").touch()
        out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, err
    assert "could not ingest" in err and "retrying" in err  # the ingester felt the server go
    steps, heavy = out.split("\n")[0].split(" ")
    logged = int(steps)
    assert heavy == ""  # the training process logged remotely without SQLAlchemy or a database driver
    for key, value in (("loss", lambda s: 1.0 / (s + 1)), ("twice", lambda s: s * 2)):
        got_steps, got_values = keyed_store.series(ENTITY, "p", "r1", key)
        assert got_steps == list(range(logged)), f"{key}: {len(got_steps)} points for {logged} steps"
        assert got_values == [value(s) for s in range(logged)]
    run = keyed_store.get_run(ENTITY, "p", "r1")
    assert run is not None and run.state == "finished" and run.last_step == logged - 1
    assert run_logs(tmp_path) == []  # finish() saw the server take everything and removed the run log


def test_init_does_not_wait_for_an_unreachable_server_and_sync_sends_later(
    keyed_store: Store, store_url: str, tmp_path: Path, servers: list[ServerProcess]
) -> None:
    port = free_port()
    silent = socket.socket()  # accepts connections into its backlog, never answers
    silent.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    silent.bind(("127.0.0.1", port))
    silent.listen(8)
    url = f"http://127.0.0.1:{port}"
    proc = trainer(UNREACHABLE, tmp_path, RUNYARD_BASE_URL=url, RUNYARD_API_KEY=KEY, RUNYARD_SILENT="0")
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        silent.close()  # from now on the server refuses connections
        assert proc.stdin is not None
        proc.stdin.write("go\n")
        proc.stdin.flush()
        _, err = proc.communicate(timeout=120)
    finally:
        silent.close()
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert line.startswith("init "), err
    # A bound, not a speed: without it init() would wait for the connection's own timeouts.
    assert float(line.split()[1]) < INIT_WAIT_S + 1.5, line
    assert proc.returncode == 0, err
    assert "could not check whether run 'r1' already exists" in err
    assert f"the runyard server {url} has not taken every record" in err
    [left] = run_logs(tmp_path)
    assert f"runyard sync --base-url {url} {left}" in err  # the command names the server, not a store
    assert left.with_name(left.name + ".server").read_text().strip() == url
    local = open_store(f"sqlite:///{tmp_path}/local.db", tmp_path / "client" / "runyard")  # replays local runs
    try:
        assert local.get_run(ENTITY, "p", "r1") is None  # but not one bound for a server
    finally:
        local.close()

    # resume needs the run's state: it cannot go on without the server.
    refused = trainer(RESUME, tmp_path, RUNYARD_BASE_URL=url, RUNYARD_API_KEY=KEY)
    _, err = refused.communicate(timeout=60)
    assert refused.returncode != 0
    assert "cannot resume run 'r2'" in err and "connection refused" in err

    # The server is back: `runyard sync` sends the run log to the server it names.
    servers.append(ServerProcess(store_url, tmp_path, port=port).start())
    synced = cli(tmp_path, "sync", RUNYARD_API_KEY=KEY)
    assert synced.returncode == 0, synced.stderr
    assert f"server {url}" in synced.stdout
    assert f"run {ENTITY}/p/r1 holds 500 steps on the runyard server {url}" in synced.stdout  # read back
    assert keyed_store.series(ENTITY, "p", "r1", "x") == (list(range(500)), list(range(500)))
    assert keyed_store.get_run(ENTITY, "p", "r1").state == "finished"
    assert synced_into(left) == {keyed_store.identity()}  # synced into the store the server serves
    again = cli(tmp_path, "sync", "--force", RUNYARD_API_KEY=KEY)
    assert again.returncode == 0 and "nothing new to store" in again.stdout, again.stdout  # nothing twice
    assert keyed_store.series(ENTITY, "p", "r1", "x")[0] == list(range(500))


def test_a_wrong_key_is_a_clear_error_and_loses_nothing(
    keyed_store: Store, store_url: str, tmp_path: Path, servers: list[ServerProcess]
) -> None:
    server = ServerProcess(store_url, tmp_path).start()
    servers.append(server)
    proc = trainer(NO_ID, tmp_path, RUNYARD_BASE_URL=server.url, RUNYARD_API_KEY="wrong", RUNYARD_SILENT="0")
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err  # the training script is not failed for it
    run_id = out.strip()
    assert "refused the API key" in err and f"runyard login {server.url}" in err
    assert f"runyard sync --base-url {server.url} " in err
    assert keyed_store.get_run(ENTITY, "p", run_id) is None

    with_id = trainer(LOGS_UNTIL_TOLD, tmp_path, RUNYARD_BASE_URL=server.url, RUNYARD_API_KEY="wrong")
    _, err = with_id.communicate(timeout=60)
    assert with_id.returncode != 0 and "AuthenticationError" in err and "refused the API key" in err  # init() checks id

    synced = cli(tmp_path, "sync", RUNYARD_API_KEY=KEY)
    assert synced.returncode == 0, synced.stderr
    assert keyed_store.series(ENTITY, "p", run_id, "x")[0] == list(range(300))


def test_stop_from_the_rest_api_reaches_the_remote_trainer(
    keyed_store: Store, store_url: str, tmp_path: Path, servers: list[ServerProcess]
) -> None:
    server = ServerProcess(store_url, tmp_path).start()
    servers.append(server)
    proc = trainer(STOPPABLE, tmp_path, RUNYARD_BASE_URL=server.url, RUNYARD_API_KEY=KEY)
    path = f"{server.url}/api/v1/runs/{ENTITY}/p/live1"
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "logging"
        wait_for("the run on the server", lambda: httpx.get(path, timeout=10).status_code == 200)
        asked = httpx.post(path + "/stop", timeout=10)
        assert asked.status_code == 202, asked.text
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert "KeyboardInterrupt" in err, err
    run = httpx.get(path, timeout=10).json()
    assert (run["state"], run["exit_code"]) == ("killed", 255)


def test_login_keeps_the_server_and_key_for_every_process(tmp_path: Path, servers: list[ServerProcess]) -> None:
    url = f"sqlite:///{tmp_path}/server/runyard.db"
    with Store.open(url) as store:
        add_key(store, KEY)
    server = ServerProcess(url, tmp_path).start()
    servers.append(server)
    config = tmp_path / "config"
    wrong = cli(tmp_path, "login", server.url, "--key", "wrong", RUNYARD_CONFIG_DIR=str(config))
    assert wrong.returncode == 1 and "refused the API key" in wrong.stderr
    assert not (config / "login.json").exists()
    done = cli(tmp_path, "login", server.url + "/", "--key", KEY, RUNYARD_CONFIG_DIR=str(config))
    assert done.returncode == 0, done.stderr
    assert f"knows this key as {ENTITY}" in done.stdout
    assert stat.S_IMODE(os.stat(config).st_mode) == 0o700
    assert stat.S_IMODE(os.stat(config / "login.json").st_mode) == 0o600

    proc = trainer(NO_ID, tmp_path, RUNYARD_CONFIG_DIR=str(config))  # no RUNYARD_BASE_URL, no key
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    with Store.open(url) as store:
        assert store.series(ENTITY, "p", out.strip(), "x")[0] == list(range(300))

    offline = trainer(NO_ID, tmp_path, RUNYARD_CONFIG_DIR=str(config), RUNYARD_MODE="offline")
    out, err = offline.communicate(timeout=120)
    assert offline.returncode == 0, err
    synced = cli(tmp_path, "sync", RUNYARD_CONFIG_DIR=str(config))  # an offline run goes to the login's server
    assert synced.returncode == 0 and f"server {server.url}" in synced.stdout, synced.stdout + synced.stderr
    with Store.open(url) as store:
        assert store.series(ENTITY, "p", out.strip(), "x")[0] == list(range(300))

    assert cli(tmp_path, "logout", RUNYARD_CONFIG_DIR=str(config)).returncode == 0
    local = trainer(NO_ID, tmp_path, RUNYARD_CONFIG_DIR=str(config))  # back to the local store
    out, err = local.communicate(timeout=120)
    assert local.returncode == 0, err
    with Store.open(f"sqlite:///{tmp_path}/client/runyard/runyard.db") as store:
        assert store.series(ENTITY, "p", out.strip(), "x")[0] == list(range(300))


RESUMABLE = """
import runyard
run = runyard.init(project="p", id="r3", resume="allow", config={{"lr": 0.1}})
for _ in range(100):
    run.log({{"x": run.step}})
run.summary["best"] = {best}
run.finish()
"""


def test_resume_continues_a_run_the_server_holds(
    keyed_store: Store, store_url: str, tmp_path: Path, servers: list[ServerProcess]
) -> None:
    server = ServerProcess(store_url, tmp_path).start()
    servers.append(server)
    for best in (1, 2):
        proc = trainer(RESUMABLE.format(best=best), tmp_path, RUNYARD_BASE_URL=server.url, RUNYARD_API_KEY=KEY)
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
    assert keyed_store.series(ENTITY, "p", "r3", "x") == (list(range(200)), list(range(200)))
    run = keyed_store.get_run(ENTITY, "p", "r3")
    assert run is not None and run.config == {"lr": 0.1} and run.summary["best"] == 2 and run.state == "finished"


def test_a_killed_remote_trainer_is_marked_crashed_at_once(
    keyed_store: Store, store_url: str, tmp_path: Path, servers: list[ServerProcess]
) -> None:
    server = ServerProcess(store_url, tmp_path).start()
    servers.append(server)
    proc = trainer(STOPPABLE, tmp_path, RUNYARD_BASE_URL=server.url, RUNYARD_API_KEY=KEY)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "logging"
        wait_for("the run on the server", lambda: last_step(keyed_store, "live1") >= 4)
        proc.kill()
        proc.wait()
        # The crash timeout is 5 minutes: reading crashed now means the ingester process told the server.
        wait_for("the crash mark", lambda: httpx.get(
            f"{server.url}/api/v1/runs/{ENTITY}/p/live1", timeout=10).json()["state"] == "crashed")  # fmt: skip
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
