"""Remote ingest through a runyard server: N SDK clients logging at once, every point counted back.

A real ``runyard server`` process (SQLite, and PostgreSQL unless ``--pg ''``) on a loopback port; ``--clients``
(default 8) training processes, each ``runyard.init`` with ``RUNYARD_BASE_URL`` / ``RUNYARD_API_KEY``, logging
``--rows`` (default 25,000) rows of 10 noisy floats (12 points a row with ``_runtime`` and ``_timestamp``) as fast
as they can, then ``finish()``, which returns once the server holds every record. The figure is the points of
all clients over the wall time from the first client's start to the last client's end (imports, init, logging,
finish: what a user waits for). Also printed: the CPU seconds of the server (with its PostgreSQL backends) and of
the clients (training and ingester processes), and the "2-core capacity", twice the points per CPU second of all
of them: the rate two otherwise idle cores would reach, steadier than the wall-time figure on a machine shared
with other work. Then every run is read back
from the store: each of its series must hold steps ``0..rows-1`` exactly once, else the repetition FAILs.

The local figure, from the same invocation: the same clients with ``RUNYARD_STORE_URL`` instead, each run's
ingester process writing the store directly (no server; ``--no-local`` skips it): what the server's hop costs.

The peer, from the same invocation: the real wandb 0.31 client (``.wandb-clients/wandb-0.31.0``, online, its
``wandb-core`` service) logging the same workload to the same server through W&B's protocol (``--peer-rows``,
default ``--rows``; ``--no-peer`` skips it).

Run from the repository root::

    python bench/remote_ingest.py                  # SQLite and PostgreSQL, 3 repetitions, peer on SQLite
    python bench/remote_ingest.py --reps 1 --pg '' --no-peer   # quick check

Target: >= 200,000 points/s from 8 clients on the project's 2-core machine, every point stored once.
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
PG_ADMIN_URL = "postgresql://root@127.0.0.1:5432/postgres"
WANDB_PYTHON = ROOT / ".wandb-clients" / "wandb-0.31.0" / "bin" / "python"
KEY = "b" * 40
ENTITY = "bench"
METRICS = 10
POINTS_PER_ROW = METRICS + 2  # + _runtime, _timestamp
TARGET = 200_000

_ROWS = """
rnd = random.Random(seed).random
for step in range(rows):
    d = math.exp(-step / 5000.0)
    log({
        "train/loss": 2.3 * d + 0.05 * rnd(), "train/acc": 0.98 - 0.88 * d + 0.01 * rnd(),
        "train/lr": 3e-4 * (1.0 - step / rows), "train/grad_norm": 1.0 + 0.5 * d + 0.2 * rnd(),
        "train/tokens_per_s": 51000.0 + 900.0 * rnd(), "val/loss": 2.4 * d + 0.08 * rnd(),
        "val/acc": 0.96 - 0.86 * d + 0.02 * rnd(), "sys/gpu_mem_gb": 38.5 + 0.3 * rnd(),
        "sys/step_time_s": 0.21 + 0.01 * rnd(), "epoch": step / 1000.0,
    })
"""

RUNYARD_CLIENT = (
    """
import math, random, sys, time
rows, run_id, seed = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
import runyard
run = runyard.init(project="bench", entity="bench", id=run_id, settings=runyard.Settings(console="off"))
log = run.log
"""
    + _ROWS
    + """
run.finish()
"""
)

WANDB_CLIENT = (
    """
import math, random, sys, time
rows, run_id, seed = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
import wandb
run = wandb.init(project="bench", entity="bench", id=run_id, settings=wandb.Settings(console="off"))
log = run.log
"""
    + _ROWS
    + """
run.finish()
"""
)


@dataclass
class Rep:
    seconds: float
    points: int
    server_cpu: float
    client_cpu: float  # the training processes and their ingester processes
    stored_once: bool
    problem: str = ""

    @property
    def rate(self) -> float:
        return self.points / self.seconds

    @property
    def capacity(self) -> float:
        """Points per second if two cores did nothing else: all CPU the clients and the server used, on 2 cores."""
        return 2 * self.points / (self.server_cpu + self.client_cpu)


@contextmanager
def store_url(backend: str, work: Path, pg_admin: str) -> Iterator[str]:
    if backend == "sqlite":
        yield f"sqlite:///{work / 'server' / 'runyard.db'}"
        return
    import psycopg
    from sqlalchemy.engine import make_url

    name = f"runyard_bench_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(pg_admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield make_url(pg_admin).set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(pg_admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def server(url: str, work: Path) -> Iterator[tuple[str, psutil.Process]]:
    """A `runyard server` process over ``url`` with the bench's key; yields its base URL and process."""
    from runyard.store import Store

    with Store.open(url) as store:
        if store.api_key_owner(KEY) is None:
            store.create_api_key(ENTITY, "bench", key=KEY)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RUNYARD_", "WANDB_"))}
    env["RUNYARD_DIR"] = str(work / "server")
    proc = subprocess.Popen(
        [sys.executable, "-m", "runyard.cli", "server", "--db", url, "--port", "0"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert proc.stdout is not None
    base = None
    for line in proc.stdout:
        found = re.search(r"at (http://127\.0\.0\.1:\d+)/", line)
        if found:
            base = found.group(1)
            break
    if base is None:
        proc.kill()
        raise RuntimeError("the server did not start:\n" + proc.stdout.read())
    try:
        yield base, psutil.Process(proc.pid)
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def run_clients(kind: str, base: str, work: Path, clients: int, rows: int, tag: str) -> tuple[float, list[str]]:
    """Start every client at once and wait for all; returns the wall time and the run ids."""
    script = work / f"{kind}_client.py"
    script.write_text(WANDB_CLIENT if kind == "wandb" else RUNYARD_CLIENT)
    python = str(WANDB_PYTHON) if kind == "wandb" else sys.executable
    ids = [f"{kind}-{tag}-{i}" for i in range(clients)]
    procs = []
    start = time.perf_counter()
    for i, run_id in enumerate(ids):
        folder = work / run_id
        folder.mkdir()
        env = {k: v for k, v in os.environ.items() if not k.startswith(("RUNYARD_", "WANDB_"))}
        if kind == "runyard":
            env.update(RUNYARD_BASE_URL=base, RUNYARD_API_KEY=KEY, RUNYARD_DIR=str(folder), RUNYARD_SILENT="1")
        elif kind == "local":  # ``base`` is the store's URL: no server in between
            env.update(RUNYARD_STORE_URL=base, RUNYARD_DIR=str(folder), RUNYARD_SILENT="1")
        else:
            env.update(
                WANDB_BASE_URL=base, WANDB_API_KEY=KEY, WANDB_DIR=str(folder), WANDB_SILENT="true",
                WANDB_CONFIG_DIR=str(folder / "config"), WANDB_CACHE_DIR=str(folder / "cache"),
                WANDB_DATA_DIR=str(folder / "data"), WANDB_ERROR_REPORTING="false", WANDB_DISABLE_CODE="true",
                WANDB_X_DISABLE_STATS="true",
            )  # fmt: skip
        procs.append(
            subprocess.Popen(
                [python, str(script), str(rows), run_id, str(i)],
                cwd=folder,
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                text=True,
            )
        )
    failures = []
    for proc in procs:
        _, err = proc.communicate(timeout=1800)
        if proc.returncode != 0:
            failures.append(err[-2000:])
    seconds = time.perf_counter() - start
    if failures:
        raise RuntimeError(f"{len(failures)} {kind} client(s) failed:\n" + failures[0])
    return seconds, ids


def count(url: str, ids: list[str], rows: int) -> tuple[int, bool, str]:
    """Every stored point of the runs; whether each series holds steps 0..rows-1 exactly once."""
    from runyard.store import Store

    total = 0
    problem = ""
    with Store.open(url) as store:
        for run_id in ids:
            keys = store.history_keys(ENTITY, "bench", run_id)
            keys = [k for k in keys if not k.startswith("_wandb")]
            if len(keys) != POINTS_PER_ROW and not problem:
                problem = f"{run_id}: {len(keys)} series, expected {POINTS_PER_ROW}: {keys}"
            for key in keys:
                steps, _ = store.series(ENTITY, "bench", run_id, key)
                total += len(steps)
                if steps != list(range(rows)) and not problem:
                    problem = f"{run_id}/{key}: {len(steps)} points, {len(set(steps))} distinct steps"
    return total, not problem, problem


def _database_cpu(url: str) -> dict[int, float]:
    """CPU seconds of the PostgreSQL backends serving the bench's database (by pid; none for SQLite)."""
    if not url.startswith("postgresql"):
        return {}
    name = url.rsplit("/", 1)[-1]
    found = {}
    for backend in psutil.process_iter(["cmdline"]):
        try:
            if name in " ".join(backend.info["cmdline"] or ()):
                found[backend.pid] = sum(backend.cpu_times()[:2])
        except psutil.Error:
            pass
    return found


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)  # waited-for descendants: clients and their ingesters
    return usage.ru_utime + usage.ru_stime


def measure(kind: str, url: str, work: Path, clients: int, rows: int, reps: int) -> list[Rep]:
    out = []
    with server(url, work) as (base, proc):
        for rep in range(reps):
            cpu = sum(proc.cpu_times()[:2])
            database = _database_cpu(url)
            children = _children_cpu()
            target = url if kind == "local" else base
            seconds, ids = run_clients(kind, target, work, clients, rows, f"{rep}-{uuid.uuid4().hex[:4]}")
            server_cpu = sum(proc.cpu_times()[:2]) - cpu
            server_cpu += sum(_database_cpu(url).values()) - sum(database.values())
            client_cpu = _children_cpu() - children
            points, once, problem = count(url, ids, rows)
            stored_once = once and points == clients * rows * POINTS_PER_ROW
            out.append(Rep(seconds, points, server_cpu, client_cpu, stored_once, problem))
            print(
                f"  {kind:8} rep {rep + 1}: {points:>10,} points in {seconds:6.2f} s = {points / seconds:>9,.0f} "
                f"points/s, CPU server {server_cpu:5.1f} s clients {client_cpu:5.1f} s, load "
                f"{os.getloadavg()[0]:.1f}, {'stored once' if stored_once else 'FAIL'} {problem}",
                flush=True,
            )
    return out


def report(backend: str, kind: str, reps: list[Rep], target: bool) -> None:
    rate = statistics.median(r.rate for r in reps)
    capacity = statistics.median(r.capacity for r in reps)
    seconds = statistics.median(r.seconds for r in reps)
    cpu = statistics.median(r.server_cpu for r in reps)
    client = statistics.median(r.client_cpu for r in reps)
    ok = all(r.stored_once for r in reps)
    verdict = ("PASS" if rate >= TARGET and ok else "MISS") if target else ""
    print(
        f"{backend:10} {kind:14} {rate:>12,.0f} {capacity:>14,.0f} {seconds:>8.2f} {cpu:>8.1f} {client:>8.1f} "
        f"{'yes' if ok else 'NO':>6}  {verdict}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--rows", type=int, default=25_000)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--pg", default=PG_ADMIN_URL, help="PostgreSQL admin URL ('' skips PostgreSQL)")
    parser.add_argument("--no-peer", action="store_true", help="skip the wandb 0.31 client")
    parser.add_argument("--no-local", action="store_true", help="skip the clients writing the store directly")
    parser.add_argument("--peer-rows", type=int, default=None, help="rows per wandb client (default --rows)")
    args = parser.parse_args()
    backends = ["sqlite"] + (["postgresql"] if args.pg else [])
    peer = not args.no_peer and WANDB_PYTHON.exists()
    if not args.no_peer and not peer:
        print(f"(no peer: {WANDB_PYTHON} is missing; scripts/install-wandb-clients installs it)")
    results: list[tuple[str, str, list[Rep], bool]] = []
    print(f"{args.clients} clients x {args.rows:,} rows x {POINTS_PER_ROW} points, {args.reps} repetition(s)")
    for backend in backends:
        with tempfile.TemporaryDirectory(prefix="runyard-remote-bench-") as folder:
            work = Path(folder)
            with store_url(backend, work, args.pg) as url:
                print(f"{backend}:", flush=True)
                reps = measure("runyard", url, work, args.clients, args.rows, args.reps)
                results.append((backend, "runyard SDK", reps, True))
                if not args.no_local:
                    local_reps = measure("local", url, work, args.clients, args.rows, args.reps)
                    results.append((backend, "SDK, no server", local_reps, False))
                if peer and backend == "sqlite":
                    rows = args.peer_rows or args.rows
                    wandb_reps = measure("wandb", url, work, args.clients, rows, args.reps)
                    results.append((backend, "wandb 0.31", wandb_reps, False))
    print()
    print(
        f"{'backend':10} {'client':14} {'points/s':>12} {'2-core cap.':>14} {'wall s':>8} {'srv CPU':>8} "
        f"{'cli CPU':>8} {'once':>6}"
    )
    for backend, kind, reps, target in results:
        report(backend, kind, reps, target)
    print(f"(medians; target >= {TARGET:,} points/s through the server from {args.clients} clients, every point once)")
    print(
        "(2-core cap.: points over the CPU seconds the clients, their ingesters and the server (with its PostgreSQL "
        "backends) used, times 2: what two idle cores would do. A shared machine's load lowers points/s, not this)"
    )
    return 0 if all(all(r.stored_once for r in reps) for _, _, reps, _ in results) else 1


if __name__ == "__main__":
    sys.exit(main())
