"""What logging media costs the training thread: ``log({"img": Image(224x224x3 uint8)})``, runyard against wandb
0.31 (offline), and a table of a million rows.

Each tool runs in a fresh subprocess (this script re-invoked with ``--worker``): ``--steps`` calls of
``log({"img": Image(array), "step": i})``, each array a new random 224x224x3 uint8 image (from a pool made
before the loop), the Image built inside the timed call as a script writes it. The figures are the per-call
latency in the training thread (p50, p99, mean) and how long ``finish()`` then takes (runyard encodes the PNGs
on a background thread and finish() waits for them; wandb encodes in log()). wandb runs with the interpreter
of ``.wandb-clients/wandb-0.31.0`` (``scripts/install-wandb-clients``; it needs numpy and Pillow there) or
``--wandb-python``; ``--only runyard`` skips it.

Then runyard logs a ``Table`` of ``--table-rows`` (default 1,000,000) rows of an int, a float and a label, and
reads it back through ``runyard.Api`` to show every row was stored (W&B keeps the first 10,000 of a logged
table).

Run from the repository root::

    python bench/media_log.py
    python bench/media_log.py --only runyard --steps 200 --table-rows 100000
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
WANDB_PYTHON = ROOT / ".wandb-clients" / "wandb-0.31.0" / "bin" / "python"


def percentile(ordered: list[float], q: float) -> float:
    return ordered[max(0, min(len(ordered) - 1, math.ceil(q * len(ordered)) - 1))]


def worker(tool: str, steps: int, folder: str) -> dict[str, Any]:
    import numpy as np

    rng = np.random.default_rng(0)
    pool = [rng.integers(0, 256, (224, 224, 3), dtype=np.uint8) for _ in range(32)]
    if tool == "runyard":
        import runyard as lib
    else:
        import wandb as lib  # type: ignore[import-not-found,no-redef]
    run = lib.init(project="bench-media", dir=folder, mode="offline" if tool == "wandb" else None)
    perf = time.perf_counter
    for i in range(20):  # warm up: imports, the first file, the encoder thread
        run.log({"img": lib.Image(pool[i % 32]), "step": i})
    lat = []
    for i in range(steps):
        t0 = perf()
        run.log({"img": lib.Image(pool[i % 32]), "step": i})
        lat.append(perf() - t0)
    t0 = perf()
    run.finish()
    return {"lat": lat, "finish": perf() - t0}


def run_worker(python: str, tool: str, steps: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix=f"bench-media-{tool}-") as folder:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("RUNYARD_", "WANDB_"))}
        env.update(
            RUNYARD_DIR=folder,
            RUNYARD_SILENT="true",
            WANDB_MODE="offline",
            WANDB_SILENT="true",
            WANDB_DIR=folder,
            PYTHONPATH=str(ROOT / "src") if tool == "runyard" else "",
        )
        proc = subprocess.run(
            [python, __file__, "--worker", tool, "--steps", str(steps), "--folder", folder],
            env=env,
            capture_output=True,
            text=True,
            timeout=1800,
        )
        if proc.returncode != 0:
            raise SystemExit(f"{tool} worker failed:\n{proc.stderr[-3000:]}")
        return json.loads(proc.stdout.strip().splitlines()[-1])


def table_bench(rows: int) -> None:
    import numpy as np

    with tempfile.TemporaryDirectory(prefix="bench-media-table-") as folder:
        os.environ["RUNYARD_DIR"] = folder
        os.environ["RUNYARD_SILENT"] = "true"
        import runyard

        rng = np.random.default_rng(0)
        ints = np.arange(rows).tolist()
        floats = rng.random(rows).round(6).tolist()
        labels = [f"class_{i % 10}" for i in range(rows)]
        data = [list(r) for r in zip(ints, floats, labels, strict=True)]
        t0 = time.perf_counter()
        table = runyard.Table(columns=["i", "x", "label"], data=data)
        built = time.perf_counter() - t0
        run = runyard.init(project="bench-media")
        t0 = time.perf_counter()
        run.log({"big": table})
        logged = time.perf_counter() - t0
        t0 = time.perf_counter()
        run.finish()
        finished = time.perf_counter() - t0
        api = runyard.Api()
        t0 = time.perf_counter()
        ref = api.run(f"bench-media/{run.id}").summary["big"]
        back = api.run(f"bench-media/{run.id}").table("big")
        read = time.perf_counter() - t0
        print(
            f"Table of {rows:,} rows x 3 columns: Table() {built:.2f} s, log() {logged:.2f} s, "
            f"finish() {finished:.2f} s; "
            f"stored {ref['nrows']:,} rows ({ref['size'] / 2**20:.1f} MiB file), read back as a Table with "
            f"{len(back.data):,} rows in {read:.2f} s. W&B keeps the first 10,000 rows of a logged table."
        )
        api.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=500)
    parser.add_argument("--only", choices=["runyard", "wandb"])
    parser.add_argument("--wandb-python", default=str(WANDB_PYTHON))
    parser.add_argument("--table-rows", type=int, default=1_000_000)
    parser.add_argument("--worker", choices=["runyard", "wandb"], help=argparse.SUPPRESS)
    parser.add_argument("--folder", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(args.worker, args.steps, args.folder)))
        return
    tools = [args.only] if args.only else ["runyard", "wandb"]
    print(f"log({{'img': Image(224x224x3 uint8), 'step': i}}) x {args.steps}, in the training thread")
    print(f"{'tool':8} {'p50 ms':>8} {'p99 ms':>8} {'mean ms':>8} {'finish s':>9}")
    for tool in tools:
        python = sys.executable if tool == "runyard" else args.wandb_python
        if tool == "wandb" and not Path(python).exists():
            print(f"{'wandb':8} skipped: {python} not found (scripts/install-wandb-clients)")
            continue
        result = run_worker(python, tool, args.steps)
        lat = sorted(result["lat"])
        print(
            f"{tool:8} {percentile(lat, 0.5) * 1e3:8.3f} {percentile(lat, 0.99) * 1e3:8.3f} "
            f"{statistics.fmean(lat) * 1e3:8.3f} {result['finish']:9.2f}"
        )
    if args.table_rows and args.only != "wandb":
        table_bench(args.table_rows)


if __name__ == "__main__":
    main()
