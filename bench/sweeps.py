"""What the next suggestion of a sweep costs with 1,000 finished runs: bayes, tpe, grid and random.

Two figures per method, medians of ``--reps`` suggestions:

``search``  :func:`runyard.sweeps.search.suggest` alone, over 1,000 observations (2 float parameters, one
            categorical) held in memory;
``store``   ``store.sweeps.next_run`` on a SQLite store holding a sweep with 1,000 finished runs: what an agent
            waits for (reading the runs and their summaries, suggesting, recording the assignment, in one write
            transaction). The assignments it makes are removed again, so each repetition sees 1,000 runs.

Targets (issue 14): bayes and tpe ≤ 100 ms, grid and random ≤ 5 ms. The peer is W&B's sweep controller, whose
bayes search (a scikit-learn GP refitted on every run of the sweep) runs on W&B's servers and cannot be timed
here; its documented behaviour is what runyard's bayes follows.

Run from the repository root::

    python bench/sweeps.py [--runs 1000] [--reps 7]
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

import sqlalchemy as sa

from runyard.store import Store
from runyard.store.sweeps.tables import sweep_runs
from runyard.sweeps.config import parse_sweep_config
from runyard.sweeps.search import Observation, suggest

PARAMS = {
    "x1": {"min": -5.0, "max": 10.0},
    "x2": {"distribution": "log_uniform_values", "min": 0.01, "max": 15.0},
    "opt": {"values": ["sgd", "adam", "rmsprop"]},
}


def branin(p: dict) -> float:
    x1, x2 = p["x1"], p["x2"]
    return (
        (x2 - 5.1 / (4 * math.pi**2) * x1**2 + 5 / math.pi * x1 - 6) ** 2
        + 10 * (1 - 1 / (8 * math.pi)) * math.cos(x1)
        + 10
        + (p["opt"] == "sgd")
    )


def config(method: str) -> dict:
    params = dict(PARAMS)
    if method == "grid":
        params = {"x1": {"min": 0, "max": 99}, "x2": {"values": list(range(100))}, "opt": {"values": ["a", "b"]}}
    return {"method": method, "seed": 1, "metric": {"name": "loss", "goal": "minimize"}, "parameters": params}


def timed(fn, reps: int) -> tuple[float, float]:
    """Median wall and CPU milliseconds of ``reps`` calls, after one warm-up call (imports, caches)."""
    fn()
    wall, cpu = [], []
    for _ in range(reps):
        t, c = time.perf_counter(), time.process_time()
        fn()
        wall.append((time.perf_counter() - t) * 1000)
        cpu.append((time.process_time() - c) * 1000)
    return statistics.median(wall), statistics.median(cpu)


def fill(store: Store, method: str, n: int) -> object:
    sweep = store.sweeps.create("bench", "sweeps", config(method))
    for i in range(n):
        got = store.sweeps.next_run(sweep) if method == "grid" or i < 12 else None
        if got is None:
            # Past the first few, assign at random: a thousand model-based suggestions would take minutes to set up.
            cfg = parse_sweep_config(config("random"))
            params = suggest(cfg, index=i, salt="fill").params  # type: ignore[union-attr]
            run_id = f"r{i:05d}"
            with store._write_engine.begin() as conn:
                conn.execute(
                    sweep_runs.insert().values(
                        sweep_pk=sweep.pk, seq=i, run_id=run_id, params=params, assigned_at=time.time()
                    )
                )
        else:
            params, run_id = got.params, got.run_id  # type: ignore[union-attr]
        session = uuid.uuid4().hex
        now = time.time()
        start = {
            "session": session, "run_id": run_id, "project": "sweeps", "entity": "bench", "name": run_id,
            "notes": None, "tags": [], "group": None, "job_type": None, "config": params, "created_at": now,
            "started_at": now, "resumed": False, "start_step": 0, "runtime_offset": 0.0, "host": "h", "pid": 1,
            "username": "bench", "program": "train.py", "mode": "online",
        }  # fmt: skip
        loss = branin(params) if method != "grid" else float(params["x1"] + params["x2"])
        row = {"loss": loss, "_step": 0, "_runtime": 1.0, "_timestamp": now}
        exit_ = {"exit_code": 0, "state": "finished", "t": now, "runtime": 1.0}
        store.ingest([[1, "start", start], [2, "row", row], [3, "exit", exit_]], session=session)
    return store.sweeps.find(f"bench/sweeps/{sweep.sweep_id}")


def bench(store: Store, method: str, n: int, reps: int) -> tuple[tuple[float, float], tuple[float, float]]:
    cfg = parse_sweep_config(config(method))
    sweep = fill(store, method, n)
    runs = store.sweeps.runs(sweep)  # type: ignore[arg-type]
    observations = [Observation(r.params, (r.run.summary["loss"],)) for r in runs if r.run]
    taken = {r.grid_index for r in runs if r.grid_index is not None}
    search = timed(lambda: suggest(cfg, index=len(runs), observations=observations, taken_grid=taken), reps)

    def assign_and_undo() -> None:
        got = store.sweeps.next_run(sweep)  # type: ignore[arg-type]
        assert not isinstance(got, str), got
        with store._write_engine.begin() as conn:
            conn.execute(sa.delete(sweep_runs).where(sweep_runs.c.run_id == got.run_id))

    return search, timed(assign_and_undo, reps)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--reps", type=int, default=7)
    args = parser.parse_args()
    targets = {"bayes": 100.0, "tpe": 100.0, "grid": 5.0, "random": 5.0}
    print(f"next suggestion with {args.runs} finished runs; medians of {args.reps}, ms (wall / CPU of this process)")
    print(f"{'method':8} {'search':>15} {'store (SQLite)':>18}   target")
    with tempfile.TemporaryDirectory() as folder, Store.open(f"sqlite:///{folder}/runyard.db") as store:
        for method, target in targets.items():
            (sw, sc), (tw, tc) = bench(store, method, args.runs, args.reps)
            print(f"{method:8} {sw:7.1f} / {sc:5.1f} {tw:9.1f} / {tc:5.1f}   <= {target:.0f}")


if __name__ == "__main__":
    main()
