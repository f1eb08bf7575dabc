"""Two ``runyard server`` processes on one PostgreSQL database and one S3-compatible bucket (moto on loopback),
serving one view: a run logged through one is live on the other, a stop asked on one reaches a trainer talking
to the other, an artifact uploaded through one downloads through the other, a key made while both serve works
on both, and clients behind a round-robin balancer (every request to the next replica, one replica killed
mid-run) lose and duplicate nothing: runyard's SDK and the real wandb client alike.
"""

from __future__ import annotations

import getpass
import hashlib
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from balancer import Balancer
from remote_server import ServerProcess, add_key, clean_env

from runyard.store import Store

ENTITY = getpass.getuser()  # the SDK's default entity, and the server's for a key without a login
KEY = "f" * 40
AUTH = {"Authorization": f"Bearer {KEY}"}  # the runs are private: REST reads and stops send the owner's key
ROOT = Path(__file__).resolve().parents[2]
WANDB_PYTHON = ROOT / ".wandb-clients" / "wandb-0.31.0" / "bin" / "python"

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

LOGS_UNTIL_TOLD = """
import os, time, runyard
run = runyard.init(project="p", id="lb1")
step = 0
while not os.path.exists("stop"):
    run.log({"loss": 1.0 / (step + 1), "twice": step * 2})
    if step % 100 == 0:
        print(f"at step {step}")
    step += 1
    time.sleep(0.002)
run.finish()
print(step, flush=True)
"""

LOGS_ARTIFACT = """
import runyard
run = runyard.init(project="p", id="maker")
run.log({"x": 1})
art = runyard.Artifact("ckpt", "model")
art.add_file("model.bin")
run.log_artifact(art, aliases=["best"])
run.finish()
"""

USES_ARTIFACT = """
import runyard
run = runyard.init(project="p", id="user")
art = run.use_artifact("ckpt:best", type="model")
folder = art.download()
art.verify()
print(folder, flush=True)
run.finish()
"""

WANDB_ROWS = 400
WANDB_LOGS = f"""
import sys, time, wandb
settings = wandb.Settings(x_file_stream_transmit_interval=1, x_stats_sampling_interval=60, console="wrap")
run = wandb.init(project="wb", entity=sys.argv[1], id="wb1", config={{"lr": 0.1}}, settings=settings)
for i in range({WANDB_ROWS}):
    wandb.log({{"loss": 1.0 / (i + 1), "i": i}})
    if i % 40 == 0:
        print(f"line {{i}}", flush=True)
        time.sleep(0.3)  # spread the run over several file_stream requests
run.summary["best"] = 0.25
with open("weights.txt", "w") as fh:
    fh.write("w" * 5000)
art = wandb.Artifact("wbckpt", "model")
art.add_file("weights.txt")
run.log_artifact(art)
wandb.finish()
"""


@dataclass
class Replicas:
    a: ServerProcess
    b: ServerProcess
    store: Store
    url: str


@pytest.fixture
def s3_bucket(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A bucket on an S3-compatible server (moto) on loopback; the servers reach it through AWS_* variables."""
    pytest.importorskip("boto3")
    server_mod = pytest.importorskip("moto.server")
    import boto3

    server = server_mod.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://{host}:{port}")
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test")
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test")
        monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
        for name in ("AWS_PROFILE", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"):
            monkeypatch.delenv(name, raising=False)
        bucket = f"runyard-{uuid.uuid4().hex[:12]}"
        boto3.client("s3").create_bucket(Bucket=bucket)
        yield bucket
    finally:
        server.stop()


@pytest.fixture
def pg_url(pg_admin_url: str) -> Iterator[str]:
    import psycopg
    from sqlalchemy.engine import make_url

    name = f"runyard_test_{uuid.uuid4().hex[:16]}"
    with psycopg.connect(pg_admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield make_url(pg_admin_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(pg_admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def replicas(pg_url: str, s3_bucket: str, tmp_path: Path) -> Iterator[Replicas]:
    """Two `runyard server` processes, each with its own folder, on one database whose blobs are the bucket's."""
    store = Store.open(pg_url, blobs=f"s3://{s3_bucket}/team")
    add_key(store, KEY, ENTITY)
    a = ServerProcess(pg_url, tmp_path / "replica-a")
    b = ServerProcess(pg_url, tmp_path / "replica-b")
    try:
        a.start()
        b.start()
        yield Replicas(a, b, store, pg_url)
    finally:
        a.stop()
        b.stop()
        store.close()


def trainer(code: str, folder: Path, url: str) -> subprocess.Popen[str]:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "train.py").write_text(code)
    return subprocess.Popen(
        [sys.executable, "train.py"],
        cwd=folder,
        env=clean_env(
            RUNYARD_DIR=str(folder / "client"), RUNYARD_SILENT="1", RUNYARD_BASE_URL=url, RUNYARD_API_KEY=KEY
        ),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finished(proc: subprocess.Popen[str], timeout: float = 120) -> tuple[str, str]:
    try:
        out, err = proc.communicate(timeout=timeout)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, f"exit {proc.returncode}\n{out}\n{err}"
    return out, err


def wait_for(what: str, check: Callable[[], bool], timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def last_step(url: str, run_id: str) -> int:
    answer = httpx.get(f"{url}/api/v1/runs/{ENTITY}/p/{run_id}", headers=AUTH, timeout=10)
    return -1 if answer.status_code == 404 else int(answer.json()["last_step"] or -1)


def test_a_run_logged_through_one_replica_is_live_on_the_other_and_stopped_from_it(
    replicas: Replicas, tmp_path: Path
) -> None:
    proc = trainer(STOPPABLE, tmp_path / "t", replicas.a.url)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "logging"
        wait_for("the run on replica B", lambda: last_step(replicas.b.url, "live1") >= 0)
        seen = last_step(replicas.b.url, "live1")
        wait_for("new steps on replica B", lambda: last_step(replicas.b.url, "live1") > seen + 20)
        run = httpx.get(f"{replicas.b.url}/api/v1/runs/{ENTITY}/p/live1", headers=AUTH, timeout=10).json()
        assert run["state"] == "running"
        asked = httpx.post(f"{replicas.b.url}/api/v1/runs/{ENTITY}/p/live1/stop", headers=AUTH, timeout=10)
        assert asked.status_code == 202, asked.text
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert "KeyboardInterrupt" in err, err  # the stop asked on B reached the trainer that talks to A
    run = httpx.get(f"{replicas.a.url}/api/v1/runs/{ENTITY}/p/live1", headers=AUTH, timeout=10).json()
    assert (run["state"], run["exit_code"]) == ("killed", 255)
    steps, _ = replicas.store.series(ENTITY, "p", "live1", "loss")
    assert steps == list(range(run["last_step"] + 1))


def test_an_artifact_uploaded_through_one_replica_downloads_through_the_other(
    replicas: Replicas, tmp_path: Path
) -> None:
    maker = tmp_path / "maker"
    maker.mkdir()
    model = hashlib.sha256(b"weights").digest() * 20_000  # 640 KB, into the bucket
    (maker / "model.bin").write_bytes(model)
    finished(trainer(LOGS_ARTIFACT, maker, replicas.a.url))
    out, _ = finished(trainer(USES_ARTIFACT, tmp_path / "user", replicas.b.url))
    assert (tmp_path / "user" / out.strip() / "model.bin").read_bytes() == model
    version = replicas.store.artifacts.version(ENTITY, "p", "ckpt")
    assert version is not None and (version.version, version.run_id) == ("v0", "maker")


def test_a_key_made_while_both_serve_works_on_both_at_once(replicas: Replicas) -> None:
    for server in (replicas.a, replicas.b):
        known = httpx.get(f"{server.url}/api/v1/ingest/me", headers={"Authorization": f"Bearer {KEY}"}, timeout=10)
        assert known.status_code == 200
    replicas.store.accounts.create_user("second", None)
    fresh = replicas.store.create_api_key("second", "tests")
    for server in (replicas.a, replicas.b):
        me = httpx.get(f"{server.url}/api/v1/ingest/me", headers={"Authorization": f"Bearer {fresh}"}, timeout=10)
        assert me.status_code == 200, me.text
        assert me.json()["username"] == "second"
        wrong = httpx.get(f"{server.url}/api/v1/ingest/me", headers={"Authorization": "Bearer " + "0" * 40})
        assert wrong.status_code == 401


def test_the_sdk_behind_a_balancer_with_a_replica_killed_mid_run_loses_and_duplicates_nothing(
    replicas: Replicas, tmp_path: Path
) -> None:
    with Balancer([replicas.a.url, replicas.b.url]) as balancer:
        work = tmp_path / "lb"
        proc = trainer(LOGS_UNTIL_TOLD, work, balancer.url)
        try:
            wait_for("the first points", lambda: last_step(replicas.b.url, "lb1") >= 300)
            assert balancer.served[replicas.a.url] > 0 and balancer.served[replicas.b.url] > 0
            replicas.a.kill()  # mid-run, maybe mid-batch: the balancer sends everything to B from now on
            before = last_step(replicas.b.url, "lb1")
            wait_for("ingestion through B alone", lambda: last_step(replicas.b.url, "lb1") > before + 500)
            (work / "stop").touch()
            out, _ = finished(proc)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    logged = int(out.strip().splitlines()[-1])
    for key, value in (("loss", lambda s: 1.0 / (s + 1)), ("twice", lambda s: s * 2)):
        steps, values = replicas.store.series(ENTITY, "p", "lb1", key)
        assert steps == list(range(logged)), f"{key}: {len(steps)} points for {logged} steps"
        assert values == [value(s) for s in range(logged)]
    run = replicas.store.get_run(ENTITY, "p", "lb1")
    assert run is not None and (run.state, run.last_step) == ("finished", logged - 1)
    assert run.summary["loss"] == 1.0 / logged


def test_the_wandb_client_with_every_request_to_the_next_replica_loses_and_duplicates_nothing(
    replicas: Replicas, tmp_path: Path
) -> None:
    if not WANDB_PYTHON.exists():
        pytest.skip("wandb 0.31.0 is not installed: run scripts/install-wandb-clients first")
    work = tmp_path / "wandb"
    work.mkdir()
    (work / "train.py").write_text(WANDB_LOGS)
    env = clean_env(
        WANDB_BASE_URL="",
        WANDB_API_KEY=KEY,
        WANDB_DIR=str(work),
        WANDB_CONFIG_DIR=str(work / "config"),
        WANDB_CACHE_DIR=str(work / "cache"),
        WANDB_DATA_DIR=str(work / "data"),
        WANDB_ERROR_REPORTING="false",
        WANDB_DISABLE_CODE="true",
        WANDB_SILENT="true",
    )
    env = {k: v for k, v in env.items() if not k.startswith("COV_")}
    with Balancer([replicas.a.url, replicas.b.url]) as balancer:
        env["WANDB_BASE_URL"] = balancer.url
        done = subprocess.run(
            [str(WANDB_PYTHON), "train.py", ENTITY], cwd=work, env=env, capture_output=True, text=True, timeout=300
        )
        assert done.returncode == 0, f"{done.stdout}\n{done.stderr}"
        assert balancer.served[replicas.a.url] > 5 and balancer.served[replicas.b.url] > 5
    store = replicas.store
    for key, value in (("loss", lambda s: 1.0 / (s + 1)), ("i", lambda s: s)):
        steps, values = store.series(ENTITY, "wb", "wb1", key)
        assert steps == list(range(WANDB_ROWS)), f"{key}: {len(steps)} points, {len(set(steps))} steps"
        assert values == [value(s) for s in range(WANDB_ROWS)]
    run = store.get_run(ENTITY, "wb", "wb1")
    assert run is not None and run.state == "finished" and run.exit_code == 0
    assert run.config == {"lr": 0.1} and run.summary["best"] == 0.25
    lines = [line.text for line in store.console(ENTITY, "wb", "wb1", start=0, limit=1000)]
    assert [t for t in lines if t.startswith("line ")] == [f"line {i}" for i in range(0, WANDB_ROWS, 40)]
    version = store.artifacts.version(ENTITY, "wb", "wbckpt")
    assert version is not None and [f.path for f in store.artifacts.files(version.id)] == ["weights.txt"]
    # Through the other replica's REST API too.
    console = httpx.get(
        f"{replicas.b.url}/api/v1/runs/{ENTITY}/wb/wb1/console?limit=1000", headers=AUTH, timeout=10
    ).json()
    assert [x["text"] for x in console["lines"]] == lines
