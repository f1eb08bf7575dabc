"""What charts and the runs table cost over HTTP: 100 runs × 1,000,000 steps, and a 10,000-run project.

Workload, built once and cached (``bench/.work/chart_query/`` for SQLite, database ``runyard_bench_chart`` on
PostgreSQL; ``--rebuild`` builds afresh):

* project ``bench/charts``: 100 runs, each with one metric ``loss`` logged at steps 0..999,999 (a noisy
  decaying curve with rare spikes and NaNs), written straight into the store as history blocks and their
  rollups (the store's own block encoder and rollup records: what ingestion writes, minus the SDK);
* project ``bench/big``: 10,000 runs with realistic config and summary (as ``bench/query_runs.py`` writes them).

It then serves the store with the real server (``runyard.server.create_app`` under uvicorn, loopback port, in a
thread) and times with httpx, ``--reps`` times each (medians and p90):

``series``  ``POST /api/v1/projects/bench/charts/series``: ``loss`` of all 100 runs, 1,000 buckets, full range
``runs``    ``POST /api/v1/projects/bench/big/runs/query``: the runs table's first page (limit 100, default order)

each as three callers: the local user (``runyard ui``), a member of the ``bench`` entity (accounts on: roles
decide), and a signed-in outsider reading the two projects made public; the last lines compare the latter two
with the local mode (target: within 10 %).

and the same two as store calls (``Store.bucket_columns_many`` and ``bucket_series_many``, ``Store.query_runs`` +
``count_runs``), to see what the HTTP layer adds. ``--baseline`` also times the per-series path of before
(``Store.bucket_series`` run by run, on 5 runs, scaled to 100). Targets: series ≤ 200 ms, runs ≤ 300 ms
(medians, over HTTP).

Run from the repository root::

    python bench/chart_query.py                 # SQLite
    python bench/chart_query.py --pg            # PostgreSQL at 127.0.0.1:5432 (trust auth)
    python bench/chart_query.py --both          # both, one after the other
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import socket
import statistics
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent))  # query_runs.py, for the 10,000-run project

import httpx
import numpy as np
import sqlalchemy as sa

from runyard.store import Store
from runyard.store.blocks import BLOCK_SIZE, prepare_block
from runyard.store.rollups import FullBlock, chunk_records, write_rollups
from runyard.store.schema import blocks, entities, projects, runs, series
from runyard.store.sql import SqlaSql

ROOT = Path(__file__).resolve().parents[1]
WORK = ROOT / "bench" / ".work" / "chart_query"
PG_ADMIN = os.environ.get("RUNYARD_TEST_POSTGRES_URL") or (
    f"postgresql://{os.environ.get('PGUSER') or 'postgres'}@127.0.0.1:5432/postgres"
)
PG_DB = "runyard_bench_chart"
RUNS, STEPS, TABLE_RUNS = 100, 1_000_000, 10_000
SERIES_TARGET_MS, RUNS_TARGET_MS = 200.0, 300.0
ACCESS_OVERHEAD_PCT = 10.0  # a non-local user's requests against the local mode's (issue 13)


# -- building the store --------------------------------------------------------------------------------------


def _built(store: Store) -> bool:
    with store.engine.connect() as conn:
        found = conn.execute(
            sa.select(sa.func.count())
            .select_from(runs.join(projects, runs.c.project_id == projects.c.id))
            .where(projects.c.name.in_(["charts", "big"]))
        ).scalar()
    return found == RUNS + TABLE_RUNS


def _build(store: Store) -> None:
    import query_runs  # bench/query_runs.py: the 10,000-run project "bench/big"

    t0 = time.perf_counter()
    query_runs._fill(store, TABLE_RUNS)
    print(f"  10,000-run project written in {time.perf_counter() - t0:.1f} s")
    t0 = time.perf_counter()
    now = time.time()
    with store.engine.begin() as conn:
        eid = conn.execute(sa.select(entities.c.id).where(entities.c.name == "bench")).scalar_one()
        pid = conn.execute(
            sa.insert(projects)
            .values(entity_id=eid, name="charts", created_at=now, last_activity=now)
            .returning(projects.c.id)
        ).scalar_one()
    for i in range(RUNS):
        with store.engine.begin() as conn:
            values = {
                "project_id": pid, "run_id": f"run{i:03d}", "name": f"run-{i}", "tags": [], "state": "finished",
                "config": {"lr": 10 ** -(1 + i % 4), "seed": i}, "summary": {"loss": 0.1}, "summary_state": {},
                "metrics": [], "created_at": now - (RUNS - i) * 60, "heartbeat_at": now, "runtime": 3600.0,
                "last_step": STEPS - 1,
            }  # fmt: skip
            run_pk = conn.execute(sa.insert(runs).values(**values).returning(runs.c.id)).scalar_one()
            sid = conn.execute(sa.insert(series).values(run_pk=run_pk, key="loss").returning(series.c.id)).scalar_one()
            _write_series(conn, sid, _curve(i))
        if i % 10 == 9:
            print(f"  {i + 1} runs × {STEPS:,} steps written ({time.perf_counter() - t0:.0f} s)", flush=True)


def _curve(seed: int) -> list[float]:
    """A training loss: exponential decay, noise, rare spikes, a few NaNs."""
    rng = np.random.default_rng(seed)
    t = np.arange(STEPS, dtype=np.float64)
    loss = 2.0 * np.exp(-t / (2e5 + 1e3 * seed)) + 0.05 + rng.normal(0, 0.02, STEPS)
    spikes = rng.integers(0, STEPS, 50)
    loss[spikes] += rng.uniform(1, 5, 50)
    loss[rng.integers(0, STEPS, 5)] = math.nan
    values: list[float] = loss.tolist()
    return values


def _write_series(conn: sa.Connection, sid: int, values: list[float]) -> None:
    """The blocks ingestion would leave: full blocks of BLOCK_SIZE points and their rollups, then the tail."""
    rows: list[dict[str, Any]] = []
    full: list[FullBlock] = []
    for block_no, start in enumerate(range(0, len(values), BLOCK_SIZE)):
        chunk = values[start : start + BLOCK_SIZE]
        steps = list(range(start, start + len(chunk)))
        prepared = prepare_block(steps, chunk)
        stats = prepared.stats
        rows.append(
            {
                "series_id": sid, "block_no": block_no, "step_min": stats.step_min, "step_max": stats.step_max,
                "count": stats.count, "nan_count": stats.nan_count, "vmin": stats.vmin, "vmax": stats.vmax,
                "vsum": stats.vsum, "vlast": stats.vlast, "data": prepared.encode(),
            }
        )  # fmt: skip
        if stats.count == BLOCK_SIZE:
            full.append(FullBlock(sid, block_no, chunk_records(steps, chunk, stats.nan_count == 0)))
    conn.execute(sa.insert(blocks), rows)
    write_rollups(SqlaSql(conn), full)


# -- serving and timing --------------------------------------------------------------------------------------


class _Server:
    """The real app under uvicorn on a free loopback port, in a thread; ``user`` as in ``create_app``."""

    def __init__(self, store: Store, user: Any = None) -> None:
        import uvicorn

        from runyard.server import create_app

        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        config = uvicorn.Config(create_app(store, user=user), host="127.0.0.1", port=self.port, log_level="warning")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> str:
        self.thread.start()
        while not self.server.started:
            time.sleep(0.05)
        return f"http://127.0.0.1:{self.port}/api/v1"

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(10)


def _time(fn: Callable[[], Any], reps: int) -> tuple[float, float, Any]:
    fn()  # warm: connection pool, page cache, imports
    times: list[float] = []
    result: Any = None
    for _ in range(reps):
        start = time.perf_counter()
        result = fn()
        times.append((time.perf_counter() - start) * 1000)
    times.sort()
    return statistics.median(times), times[min(len(times) - 1, math.ceil(0.9 * len(times)) - 1)], result


def _report(label: str, target: float | None, timed: tuple[float, float, Any], what: str) -> None:
    median, p90, _ = timed
    verdict = "" if target is None else ("PASS" if median <= target else "MISS")
    goal = "" if target is None else f"≤ {target:.0f}"
    print(f"  {label:44} {median:9.1f} {p90:9.1f}  {goal:>6} {verdict:4}  {what}")


def _bench(name: str, store: Store, reps: int, baseline: bool) -> None:
    run_ids = [f"run{i:03d}" for i in range(RUNS)]
    body = {"runs": run_ids, "keys": ["loss"], "x": "_step", "x_min": None, "x_max": None, "buckets": 1000}
    print(f"\n{name}: {'':35} {'median ms':>9} {'p90 ms':>9}  target")
    columns = _time(lambda: store.bucket_columns_many("bench", "charts", run_ids, ["loss"], buckets=1000), reps)
    buckets = sum(len(found) for found in columns[2].values())
    _report("store: bucket_columns_many, 100 runs", None, columns, f"{len(columns[2])} series, {buckets:,} buckets")
    many = _time(lambda: store.bucket_series_many("bench", "charts", run_ids, ["loss"], buckets=1000), reps)
    _report("store: bucket_series_many (Bucket objects)", None, many, "the same, one object a bucket")
    page = _time(lambda: (store.query_runs("bench", "big", limit=100), store.count_runs("bench", "big")), reps)
    _report("store: query_runs(limit=100) + count_runs", None, page, f"{len(page[2][0])} runs of {page[2][1]:,}")
    if baseline:
        some = run_ids[:5]
        before = _time(lambda: [store.bucket_series("bench", "charts", r, "loss") for r in some], 1)
        scaled = (before[0] * RUNS / len(some), before[1] * RUNS / len(some), None)
        _report("before: bucket_series run by run (×20)", None, scaled, "the per-series path, 5 runs scaled")
    # The projects are public for the whole section: the outsider reads them, the others read them either way.
    for project in ("charts", "big"):
        store.set_project_visibility("bench", project, "public")
    try:
        medians = _bench_http(store, body, reps)
    finally:
        for project in ("charts", "big"):
            store.set_project_visibility("bench", project, "private")
    local = medians["local"]
    for mode, found in medians.items():
        if mode == "local":
            continue
        for what, median in found.items():
            change = (median / local[what] - 1) * 100
            verdict = "PASS" if change <= ACCESS_OVERHEAD_PCT else "MISS"
            print(
                f"  {mode} vs local, {what:7}: {median:7.1f} vs {local[what]:7.1f} ms  {change:+5.1f} %  "
                f"(target ≤ +{ACCESS_OVERHEAD_PCT:.0f} %) {verdict}"
            )


def _access_modes() -> list[tuple[str, Any]]:
    """Who asks: the local user (``runyard ui``, no accounts), a member of the entity (roles decide, no lookup),
    and a signed-in outsider reading the projects made public (one visibility lookup per request)."""
    from runyard.server.deps import User

    member = User("bench-member", "bench-member", local=False, roles={"bench-member": "admin", "bench": "member"})
    outsider = User("reader", "reader", local=False, roles={"reader": "admin"})
    return [("local", None), ("member", member), ("public", outsider)]


def _bench_http(store: Store, body: dict[str, Any], reps: int) -> dict[str, dict[str, float]]:
    """The two HTTP timings as each caller of :func:`_access_modes`, one server each, all started at once and
    asked in turn (one request per caller per round), so that the machine's load weighs on each alike; returns
    the medians by caller and request."""
    modes = _access_modes()
    requests = {
        "series": ("/projects/bench/charts/series", body, SERIES_TARGET_MS, "POST .../series, 100 runs"),
        "runs": ("/projects/bench/big/runs/query", {"limit": 100}, RUNS_TARGET_MS, "POST .../runs/query, limit 100"),
    }
    with contextlib.ExitStack() as stack:
        clients = {
            mode: stack.enter_context(httpx.Client(base_url=stack.enter_context(_Server(store, user)), timeout=120))
            for mode, user in modes
        }
        times: dict[str, dict[str, list[float]]] = {mode: {what: [] for what in requests} for mode, _ in modes}
        sizes: dict[str, int] = {}
        for what, (path, payload, _target, _label) in requests.items():
            for rep in range(reps + 1):  # the first round warms each server
                for mode, client in clients.items():
                    start = time.perf_counter()
                    response = client.post(path, json=payload)
                    elapsed = (time.perf_counter() - start) * 1000
                    response.raise_for_status()
                    sizes[what] = len(response.content)
                    if rep:
                        times[mode][what].append(elapsed)
    medians: dict[str, dict[str, float]] = {}
    for mode, by_request in times.items():
        medians[mode] = {}
        for what, found in by_request.items():
            found.sort()
            median, p90 = statistics.median(found), found[min(len(found) - 1, math.ceil(0.9 * len(found)) - 1)]
            path, _payload, target, label = requests[what]
            _report(f"http ({mode}): {label}", target, (median, p90, None), f"{sizes[what] / 1e3:,.0f} kB")
            medians[mode][what] = median
    return medians


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pg", action="store_true", help="PostgreSQL at 127.0.0.1:5432 instead of SQLite")
    parser.add_argument("--pg-admin", default=PG_ADMIN, help="where to create the bench database")
    parser.add_argument("--rebuild", action="store_true", help="build the store afresh")
    parser.add_argument("--drop", action="store_true", help="PostgreSQL: drop the bench database afterwards")
    parser.add_argument("--reps", type=int, default=15)
    parser.add_argument("--baseline", action="store_true", help="also time the per-series path of before")
    parser.add_argument("--both", action="store_true", help="SQLite, then PostgreSQL, in one run (load average shown)")
    args = parser.parse_args()
    if args.both:
        for pg in (False, True):
            args.pg = pg
            _main(args)
        print(f"\nload average (1, 5, 15 min): {', '.join(f'{load:.2f}' for load in os.getloadavg())}")
    else:
        _main(args)


def _main(args: argparse.Namespace) -> None:
    if args.pg:
        import psycopg

        with psycopg.connect(args.pg_admin, autocommit=True) as conn:
            exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (PG_DB,)).fetchone()
            if exists and args.rebuild:
                conn.execute(f'DROP DATABASE "{PG_DB}" WITH (FORCE)')
            if not exists or args.rebuild:
                conn.execute(f'CREATE DATABASE "{PG_DB}"')
        url = sa.engine.make_url(args.pg_admin).set(database=PG_DB).render_as_string(False)
        name = "PostgreSQL"
    else:
        WORK.mkdir(parents=True, exist_ok=True)
        path = WORK / "runyard.db"
        if args.rebuild:
            for leftover in WORK.glob("runyard.db*"):
                leftover.unlink()
        url, name = f"sqlite:///{path}", "SQLite"
    store = Store.open(url)
    try:
        if not _built(store):
            print(f"{name}: building the bench store (once; cached)")
            t0 = time.perf_counter()
            _build(store)
            print(f"  built in {time.perf_counter() - t0:.0f} s")
        _bench(name, store, args.reps, args.baseline)
    finally:
        store.close()
        if args.pg and args.drop:
            import psycopg

            with psycopg.connect(args.pg_admin, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{PG_DB}" WITH (FORCE)')


if __name__ == "__main__":
    main()
