"""What ingesting history costs the store: time per batch shape, and bytes on disk, on SQLite and PostgreSQL.

Workload: ``--rows`` (default 20,000) history rows of 10 noisy float metrics (the rows of
``log_overhead.py``: a decaying loss with noise, accuracies, a learning rate, throughput...) plus ``_runtime``
and ``_timestamp``, i.e. 12 points per row (240,000 points), as the SDK writes them to the run log. Each
scenario ingests the same records in batches of a given size, into a fresh store each repetition, and only
the ``Store.ingest`` calls are timed:

``one``    every record in one batch (a ``runyard sync`` of a finished run)
``b250``   batches of 250 rows (a live run ingested every 0.25 s at 1,000 steps/s)
``b8``     ``--live-rows`` (default 4,096) rows in batches of 8 (a slow live run): the cost per batch

The table shows medians over ``--reps`` (default 5) repetitions (also the fastest repetition, and the median
CPU time of this process, steadier figures on a busy machine; on PostgreSQL the server's CPU is not in it),
bytes per point on disk (SQLite: the database
file after a WAL checkpoint; PostgreSQL: ``pg_total_relation_size('blocks')``, dead row versions included, as
a run leaves them before any vacuum), and PASS/MISS against the targets. PostgreSQL runs in a fresh database
per repetition on ``--pg`` (``$RUNYARD_TEST_POSTGRES_URL``, else the role
``$PGUSER`` or ``postgres`` on 127.0.0.1:5432; ``--pg ''`` skips it).

Run from the repository root::

    python bench/ingest.py                    # both backends, 5 repetitions
    python bench/ingest.py --reps 1 --pg ''   # quick check, SQLite only
    PYTHONPATH=/tmp/old/src python bench/ingest.py   # another checkout's store, for before/after
    python bench/ingest.py --profile one      # cProfile one SQLite repetition of a scenario
"""

from __future__ import annotations

import argparse
import cProfile
import math
import os
import pstats
import random
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import runyard.store
from runyard.store import Store

# As the tests log in: $RUNYARD_TEST_POSTGRES_URL, else the role $PGUSER (default postgres).
PG_ADMIN_URL = os.environ.get("RUNYARD_TEST_POSTGRES_URL") or (
    f"postgresql://{os.environ.get('PGUSER') or 'postgres'}@127.0.0.1:5432/postgres"
)
POINTS_PER_ROW = 12  # 10 metrics + _runtime + _timestamp


# -- the workload --------------------------------------------------------------------------------------------
def make_records(rows: int, seed: int = 0) -> tuple[str, list[list[Any]]]:
    """A session's records: start, ``rows`` history rows, exit. Returns (session id, records)."""
    session = uuid.uuid4().hex
    t0 = 1.7e9 + seed
    start = {
        "session": session,
        "run_id": f"bench-{session[:8]}",
        "project": "bench",
        "entity": "bench",
        "name": "bench",
        "notes": None,
        "tags": [],
        "group": None,
        "job_type": None,
        "config": {"lr": 3e-4, "batch_size": 64},
        "created_at": t0,
        "started_at": t0,
        "resumed": False,
        "start_step": 0,
        "runtime_offset": 0.0,
        "host": "bench",
        "pid": 1,
        "username": "bench",
        "program": "bench/ingest.py",
        "mode": "online",
    }
    records: list[list[Any]] = [[1, "start", start]]
    rnd = random.Random(seed).random
    runtime = 0.0
    for step in range(rows):
        d = math.exp(-step / 5000.0)
        runtime += 0.21 + 0.01 * rnd()
        body = {
            "train/loss": 2.3 * d + 0.05 * rnd(),
            "train/acc": 0.98 - 0.88 * d + 0.01 * rnd(),
            "train/lr": 3e-4 * (1.0 - step / rows),
            "train/grad_norm": 1.0 + 0.5 * d + 0.2 * rnd(),
            "train/tokens_per_s": 51000.0 + 900.0 * rnd(),
            "val/loss": 2.4 * d + 0.08 * rnd(),
            "val/acc": 0.96 - 0.86 * d + 0.02 * rnd(),
            "sys/gpu_mem_gb": 38.5 + 0.3 * rnd(),
            "sys/step_time_s": 0.21 + 0.01 * rnd(),
            "epoch": step / 1000.0,
            "_step": step,
            "_runtime": runtime,
            "_timestamp": t0 + runtime + 1e-4 * rnd(),
        }
        records.append([len(records) + 1, "row", body])
    records.append(
        [len(records) + 1, "exit", {"exit_code": 0, "state": "finished", "t": t0 + runtime, "runtime": runtime}]
    )
    return session, records


def batches(records: list[list[Any]], rows_per_batch: int) -> list[list[list[Any]]]:
    """The start record rides with the first batch and the exit record with the last."""
    if rows_per_batch <= 0:
        return [records]
    out = [records[i : i + rows_per_batch] for i in range(1, len(records) - 1, rows_per_batch)]
    out[0].insert(0, records[0])
    out[-1].append(records[-1])
    return out


@dataclass(frozen=True)
class Scenario:
    name: str
    rows: int
    rows_per_batch: int  # 0: one batch
    what: str


# -- backends ------------------------------------------------------------------------------------------------
@dataclass
class Measured:
    seconds: float
    cpu_seconds: float  # this process's CPU time: steadier than wall time on a busy machine (SQLite: all of it)
    batch_ms: list[float]
    disk_bytes: int
    data_bytes: int
    points: int


@contextmanager
def sqlite_url() -> Iterator[tuple[str, Callable[[], int]]]:
    with tempfile.TemporaryDirectory(prefix="runyard-bench-") as folder:
        path = Path(folder) / "runyard.db"

        def size() -> int:
            with sqlite3.connect(path) as conn:
                conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            return path.stat().st_size

        yield f"sqlite:///{path}", size


@contextmanager
def postgres_url(admin_url: str) -> Iterator[tuple[str, Callable[[], int]]]:
    import psycopg
    from sqlalchemy.engine import make_url

    name = f"runyard_bench_{uuid.uuid4().hex[:12]}"
    url = make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:

        def size() -> int:
            with psycopg.connect(url, autocommit=True) as conn:
                row = conn.execute("SELECT pg_total_relation_size('blocks')").fetchone()
            assert row is not None
            return int(row[0])

        yield url, size
    finally:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def run_once(backend: str, pg_url: str, scenario: Scenario, seed: int, profile: cProfile.Profile | None) -> Measured:
    session, records = make_records(scenario.rows, seed)
    parts = batches(records, scenario.rows_per_batch)
    opener = sqlite_url() if backend == "sqlite" else postgres_url(pg_url)
    with opener as (url, size):
        store = Store.open(url)
        try:
            # Warm the engine's connection pool and statement caches with another run, as a live store is.
            _, warm = make_records(3, seed + 1000)
            store.ingest(warm)
            batch_ms: list[float] = []
            perf = time.perf_counter
            if profile is not None:
                profile.enable()
            cpu = time.process_time()
            start = perf()
            for part in parts:
                t0 = perf()
                store.ingest(part, session=session)
                batch_ms.append((perf() - t0) * 1000)
            seconds = perf() - start
            cpu = time.process_time() - cpu
            if profile is not None:
                profile.disable()
            with store.engine.connect() as conn:
                from sqlalchemy import text

                data_bytes = int(conn.execute(text("SELECT coalesce(sum(length(data)), 0) FROM blocks")).scalar_one())
        finally:
            store.close()
        return Measured(seconds, cpu, batch_ms, size(), data_bytes, scenario.rows * POINTS_PER_ROW)


# -- report --------------------------------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--live-rows", type=int, default=4_096)
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--pg", default=PG_ADMIN_URL, help="PostgreSQL admin URL ('' skips PostgreSQL)")
    parser.add_argument("--only", default="", help="comma-separated scenario names")
    parser.add_argument("--profile", default="", help="cProfile one SQLite repetition of this scenario")
    args = parser.parse_args(argv)
    scenarios = [
        Scenario("one", args.rows, 0, f"{args.rows:,} rows, one batch"),
        Scenario("b250", args.rows, 250, f"{args.rows:,} rows, {math.ceil(args.rows / 250)} batches of 250"),
        Scenario("b8", args.live_rows, 8, f"{args.live_rows:,} rows, {math.ceil(args.live_rows / 8)} batches of 8"),
    ]
    if args.profile:
        chosen = [s for s in scenarios if s.name == args.profile]
        profile = cProfile.Profile()
        run_once("sqlite", args.pg, chosen[0], 0, profile)
        pstats.Stats(profile).sort_stats("tottime").print_stats(25)
        return 0
    if args.only:
        wanted = set(args.only.split(","))
        scenarios = [s for s in scenarios if s.name in wanted]
    backends = ["sqlite"] + (["postgresql"] if args.pg else [])
    print(f"runyard store from {Path(runyard.store.__file__).parent}")
    print(f"python {sys.version.split()[0]}, sqlite {sqlite3.sqlite_version}, {args.reps} repetitions, medians\n")
    header = (
        f"{'backend':<11} {'scenario':<34} {'total ms':>9} {'(min)':>7} {'cpu ms':>7} {'ms/batch':>9} {'p99 batch':>9}"
    )
    header += f" {'disk B/pt':>9} {'data B/pt':>9}"
    print(header)
    print("-" * len(header))
    results: dict[tuple[str, str], list[Measured]] = {}
    for backend in backends:
        for scenario in scenarios:
            runs = [run_once(backend, args.pg, scenario, rep, None) for rep in range(args.reps)]
            results[backend, scenario.name] = runs
            total = statistics.median(m.seconds for m in runs) * 1000
            per_batch = statistics.median(statistics.median(m.batch_ms) for m in runs)
            p99 = statistics.median(sorted(m.batch_ms)[max(0, math.ceil(0.99 * len(m.batch_ms)) - 1)] for m in runs)
            disk = statistics.median(m.disk_bytes / m.points for m in runs)
            data = statistics.median(m.data_bytes / m.points for m in runs)
            fastest = min(m.seconds for m in runs) * 1000
            cpu = statistics.median(m.cpu_seconds for m in runs) * 1000
            figures = (
                f"{total:>9.1f} {fastest:>7.1f} {cpu:>7.1f} {per_batch:>9.2f} {p99:>9.2f} {disk:>9.2f} {data:>9.2f}"
            )
            print(f"{backend:<11} {scenario.what:<34} {figures}")
    print()
    checks: list[tuple[str, float, float]] = []

    def median_of(backend: str, name: str, get: Callable[[Measured], float]) -> float | None:
        runs = results.get((backend, name))
        return None if not runs else statistics.median(get(m) for m in runs)

    one_ms = median_of("sqlite", "one", lambda m: m.seconds * 1000)
    if one_ms is not None:
        checks.append(("SQLite, 240k points in one batch (ms)", one_ms, 60.0))
    b250_ms = median_of("sqlite", "b250", lambda m: m.seconds * 1000)
    if b250_ms is not None:
        checks.append(("SQLite, 80 batches of 250 rows (ms)", b250_ms, 150.0))
    for name in ("one", "b250"):
        disk = median_of("sqlite", name, lambda m: m.disk_bytes / m.points)
        if disk is not None:
            checks.append((f"SQLite file bytes per point ({name})", disk, 12.0))
    pg_one = median_of("postgresql", "one", lambda m: m.disk_bytes)
    pg_250 = median_of("postgresql", "b250", lambda m: m.disk_bytes)
    if pg_one and pg_250:
        checks.append(("PostgreSQL blocks size, 250-row batches / one batch", pg_250 / pg_one, 3.0))
    for label, value, target in checks:
        print(f"{'PASS' if value <= target else 'MISS'}  {label}: {value:.2f} (target <= {target:g})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
