"""What reading one long run costs: ``Api().run().history(samples=1000)`` and ``scan_history`` on 5,000,000 steps.

Workload: one run ``bench/long/long`` with 5 metrics (``loss``, ``acc``, ``lr``, ``grad_norm``, ``val``) logged
at every step 0..``--steps``-1 (default 5,000,000), written straight into the store as the blocks and rollups
ingestion leaves (as ``bench/chart_query.py`` writes them; this measures reads, not ingestion). Then, medians of
``--reps``:

``history``  ``Api().run(path).history(samples=1000, pandas=False)``: target ≤ 100 ms
``scan``     ``run.scan_history()`` over the first ``--scan-steps`` rows (default 1,000,000): rows/s, target
             ≥ 2,000,000 rows/s

Peer: pyarrow is not a runyard dependency; where it is installed the script also times reading the same five
columns from a Parquet file and turning them into dict rows.

Run from the repository root::

    python bench/long_run.py                     # SQLite
    python bench/long_run.py --steps 1000000     # a shorter run
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np
import sqlalchemy as sa
from chart_query import _write_series

from runyard.api import Api
from runyard.store import Store
from runyard.store.schema import entities, projects, runs, series

METRICS = ("loss", "acc", "lr", "grad_norm", "val")


def _columns(steps: int) -> dict[str, list[float]]:
    rng = np.random.default_rng(5)
    t = np.arange(steps, dtype=np.float64)
    return {
        "loss": (2.0 * np.exp(-t / 1e6) + rng.normal(0, 0.02, steps)).tolist(),
        "acc": (1 - np.exp(-t / 1e6) + rng.normal(0, 0.01, steps)).tolist(),
        "lr": (1e-3 * np.cos(t / steps * np.pi / 2) ** 2).tolist(),
        "grad_norm": np.abs(rng.normal(1, 0.3, steps)).tolist(),
        "val": rng.random(steps).tolist(),
    }


def _build(store: Store, steps: int) -> None:
    now = time.time()
    with store.engine.begin() as conn:
        eid = conn.execute(sa.insert(entities).values(name="bench", created_at=now).returning(entities.c.id))
        pid = conn.execute(
            sa.insert(projects)
            .values(entity_id=eid.scalar_one(), name="long", created_at=now, last_activity=now)
            .returning(projects.c.id)
        ).scalar_one()
        values = {
            "project_id": pid, "run_id": "long", "name": "long", "tags": [], "state": "finished", "config": {},
            "summary": {}, "summary_state": {}, "metrics": [], "created_at": now, "heartbeat_at": now,
            "runtime": 3600.0, "last_step": steps - 1,
        }  # fmt: skip
        run_pk = conn.execute(sa.insert(runs).values(**values).returning(runs.c.id)).scalar_one()
    for key, column in _columns(steps).items():
        with store.engine.begin() as conn:
            sid = conn.execute(sa.insert(series).values(run_pk=run_pk, key=key).returning(series.c.id)).scalar_one()
            _write_series(conn, sid, column)


def _median(fn: Callable[[], Any], reps: int) -> tuple[float, Any]:
    times, result = [], None
    for _ in range(reps):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def _scan(run: Any, stop: int) -> int:
    n = 0
    for _ in run.scan_history(max_step=stop):
        n += 1
    return n


def _pyarrow_peer(tmp: str, steps: int, stop: int, reps: int) -> None:
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        print("  pyarrow not installed: no Parquet peer figures")
        return
    cols = _columns(steps)
    table = pa.table({"_step": np.arange(steps), **{k: cols[k] for k in METRICS}}).slice(0, stop)
    path = f"{tmp}/long.parquet"
    pq.write_table(table, path)
    read, _ = _median(lambda: pq.read_table(path), reps)
    rows, _ = _median(lambda: pq.read_table(path).to_pylist(), reps)
    print(f"  pyarrow: read {stop:,} rows x 6 columns {read * 1000:.0f} ms; as dict rows {stop / rows:,.0f} rows/s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=5_000_000)
    parser.add_argument("--scan-steps", type=int, default=1_000_000)
    parser.add_argument("--reps", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/bench.db"
        store = Store.open(url)
        t0 = time.perf_counter()
        _build(store, args.steps)
        store.close()
        took = time.perf_counter() - t0
        print(f"SQLite: one run of {args.steps:,} steps x {len(METRICS)} metrics written in {took:.0f} s")
        run = Api(store_url=url).run("bench/long/long")
        took, rows = _median(lambda: run.history(samples=1000, pandas=False), args.reps)
        print(f"  history(samples=1000): {took * 1000:.0f} ms, {len(rows):,} rows (target <= 100 ms)")
        stop = min(args.scan_steps, args.steps)
        took, n = _median(lambda: _scan(run, stop), args.reps)
        print(f"  scan_history: {n:,} rows in {took:.2f} s = {n / took:,.0f} rows/s (target >= 2,000,000)")
        _pyarrow_peer(tmp, args.steps, stop, args.reps)


if __name__ == "__main__":
    main()
