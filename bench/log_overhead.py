"""What ``log()`` costs a training loop: runyard against wandb (offline) on the same workload.

Workload: ``--steps`` (default 20,000) steps of 10 float scalars, built in the loop as a training
script builds them, with a 20-key config. Each tool runs in a fresh subprocess of its own (this script
re-invoked with ``--worker runyard|wandb``), the repetitions interleaved (runyard, wandb, runyard, wandb,
...), and the table shows medians. runyard runs with this interpreter; wandb runs in the virtual environment
``bench/.work/venv-wandb``, which is created (``pip install wandb==0.31.0``) when missing. ``--only runyard``
skips wandb.

Run from the repository root::

    python bench/log_overhead.py                          # full comparison, 3 repetitions
    python bench/log_overhead.py --only runyard --reps 1  # quick check

Only the standard library is imported here, so that the same file runs under either interpreter.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
WORK = BENCH / ".work"
VENV = WORK / "venv-wandb"
WANDB_VERSION = "0.31.0"
TOOLS = ("runyard", "wandb")
METRICS_PER_STEP = 10
SLOW_CALL_NS = 1_000_000  # a log() call over 1 ms counts as having blocked the caller


# -- the workload --------------------------------------------------------------------------------------------
def workload_config() -> dict[str, Any]:
    """A 20-key config such as a training script passes to init()."""
    return {
        "model": "gpt-small",
        "n_layers": 12,
        "n_heads": 12,
        "d_model": 768,
        "d_ff": 3072,
        "dropout": 0.1,
        "vocab_size": 50257,
        "seq_len": 1024,
        "batch_size": 64,
        "grad_accum": 4,
        "optimizer": "adamw",
        "lr": 3e-4,
        "beta1": 0.9,
        "beta2": 0.95,
        "weight_decay": 0.1,
        "warmup_steps": 2000,
        "schedule": "cosine",
        "seed": 1234,
        "precision": "bf16",
        "compile": True,
    }


def train_loop(log: Callable[[dict[str, Any]], Any], steps: int) -> tuple[list[int], int]:
    """Log ``steps`` rows of 10 floats; return each log() call's duration (ns) and the whole loop's (ns)."""
    rnd = random.Random(0).random
    exp = math.exp
    perf = time.perf_counter_ns
    lat = [0] * steps
    start = perf()
    for step in range(steps):
        d = exp(-step / 5000.0)
        row = {
            "train/loss": 2.3 * d + 0.05 * rnd(),
            "train/acc": 0.98 - 0.88 * d + 0.01 * rnd(),
            "train/lr": 3e-4 * (1.0 - step / steps),
            "train/grad_norm": 1.0 + 0.5 * d + 0.2 * rnd(),
            "train/tokens_per_s": 51000.0 + 900.0 * rnd(),
            "val/loss": 2.4 * d + 0.08 * rnd(),
            "val/acc": 0.96 - 0.86 * d + 0.02 * rnd(),
            "sys/gpu_mem_gb": 38.5 + 0.3 * rnd(),
            "sys/step_time_s": 0.21 + 0.01 * rnd(),
            "epoch": step / 1000.0,
        }
        t0 = perf()
        log(row)
        lat[step] = perf() - t0
    return lat, perf() - start


def timer_floor_ns(n: int = 20000) -> int:
    """The median of an empty timed region: what every latency figure includes."""
    perf = time.perf_counter_ns
    out = [0] * n
    for i in range(n):
        t0 = perf()
        out[i] = perf() - t0
    return sorted(out)[n // 2]


def percentile(ordered: list[int], q: float) -> int:
    """Nearest-rank percentile of an ascending list."""
    return ordered[max(0, min(len(ordered) - 1, math.ceil(q * len(ordered)) - 1))]


# -- /proc: helper processes and their peak memory -----------------------------------------------------------
def descendants(root: int) -> list[int]:
    """Every live process below ``root`` (children, grandchildren, ...), from each process's PPid."""
    parent: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        parent[int(entry)] = int(stat.rsplit(")", 1)[1].split()[1])
    found: list[int] = []
    frontier = [root]
    while frontier:
        pid = frontier.pop()
        kids = [p for p, pp in parent.items() if pp == pid]
        found.extend(kids)
        frontier.extend(kids)
    return found


def status_kb(pid: int | str, field: str) -> int:
    """A ``kB`` field of /proc/<pid>/status (0 when the process is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


class Helpers:
    """The helper processes a tool spawns and their peak RSS (VmHWM), never sampled during the timed loop.

    VmHWM is a high-water mark, so one look at a live helper gives its peak so far; a helper that exits is
    sampled every few milliseconds while :meth:`watching` (around finish() and teardown, when helpers exit).
    """

    def __init__(self) -> None:
        self.peak_kb: dict[int, int] = {}
        self.names: dict[int, str] = {}

    @contextlib.contextmanager
    def watching(self, every: float = 0.005) -> Iterator[None]:
        stop = threading.Event()

        def sample() -> None:
            while not stop.wait(every):
                self.look()

        thread = threading.Thread(target=sample, daemon=True)
        self.look()
        thread.start()
        try:
            yield
        finally:
            stop.set()
            thread.join()

    def look(self) -> None:
        for pid in descendants(os.getpid()):
            hwm = status_kb(pid, "VmHWM")
            self.peak_kb[pid] = max(self.peak_kb.get(pid, 0), hwm)
            if pid not in self.names:
                try:
                    self.names[pid] = Path(f"/proc/{pid}/comm").read_text().strip()
                except OSError:
                    self.names[pid] = "?"


def thread_count() -> int:
    return len(os.listdir("/proc/self/task"))


# -- disk ----------------------------------------------------------------------------------------------------
def disk_usage(root: Path) -> tuple[int, int, dict[str, int]]:
    """(allocated bytes as du counts them, apparent bytes, apparent size of each file) under ``root``."""
    allocated = apparent = 0
    files: dict[str, int] = {}
    for folder, _, names in os.walk(root):
        allocated += os.lstat(folder).st_blocks * 512
        for name in names:
            path = Path(folder, name)
            st = path.lstat()
            allocated += st.st_blocks * 512
            apparent += st.st_size
            files[str(path.relative_to(root))] = st.st_size
    return allocated, apparent, files


def largest(files: dict[str, int], n: int = 5) -> dict[str, int]:
    return dict(sorted(files.items(), key=lambda kv: -kv[1])[:n])


# -- the worker: one tool, one repetition, in a fresh process ------------------------------------------------
def run_worker(tool: str, steps: int, data_dir: Path, result_path: Path) -> None:
    result: dict[str, Any] = {"tool": tool, "steps": steps, "notes": []}
    helpers = Helpers()
    config = workload_config()
    result["timer_floor_ns"] = timer_floor_ns()

    t0 = time.perf_counter()
    if tool == "runyard":
        import runyard as lib

        lib.init, lib.Settings  # noqa: B018 - the SDK loads on first use: count it as import, as the probe does
        imported = time.perf_counter()
        run = lib.init(project="bench", config=config, settings=lib.Settings(root_dir=str(data_dir), silent=True))
    else:
        import wandb as lib  # type: ignore[import-not-found,no-redef]

        imported = time.perf_counter()
        run = lib.init(project="bench", config=config, dir=str(data_dir))
    inited = time.perf_counter()
    result["import_in_worker_ms"] = (imported - t0) * 1e3
    result["init_ms"] = (inited - imported) * 1e3
    result["version"] = getattr(lib, "__version__", "?")
    helpers.look()
    result["threads_after_init"] = thread_count()

    lat, loop_ns = train_loop(run.log, steps)
    helpers.look()
    result["threads_after_loop"] = thread_count()

    with helpers.watching():
        t0 = time.perf_counter()
        run.finish()
        result["finish_ms"] = (time.perf_counter() - t0) * 1e3
    result["rss_self_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    ordered = sorted(lat)
    result["log_p50_us"] = percentile(ordered, 0.50) / 1e3
    result["log_p99_us"] = percentile(ordered, 0.99) / 1e3
    result["log_p999_us"] = percentile(ordered, 0.999) / 1e3
    result["log_max_us"] = ordered[-1] / 1e3
    result["log_max_at_step"] = lat.index(ordered[-1])
    result["log_mean_us"] = sum(lat) / len(lat) / 1e3
    result["log_over_1ms"] = sum(1 for x in lat if x > SLOW_CALL_NS)
    result["calls_per_s"] = steps / (loop_ns / 1e9)

    points = steps * METRICS_PER_STEP
    allocated, apparent, files = disk_usage(data_dir)
    result["bytes_per_point"] = allocated / points
    result["bytes_apparent"] = apparent
    result["largest_files"] = largest(files)
    if tool == "runyard":
        verify_runyard(data_dir, steps, result)
        allocated, apparent, files = disk_usage(data_dir)
        result["bytes_per_point_checkpointed"] = allocated / points
        result["largest_files_checkpointed"] = largest(files)
    else:
        verify_wandb(data_dir, steps, result)
        with helpers.watching():
            t0 = time.perf_counter()
            sys.modules["wandb"].teardown()  # stops wandb-core (it outlives finish() until the process exits)
            result["teardown_ms"] = (time.perf_counter() - t0) * 1e3

    result["helper_processes"] = len(helpers.peak_kb)
    result["helper_names"] = sorted(set(helpers.names.values()))
    # Linux reports the largest reaped child here, not a sum; a cross-check of the /proc figure above.
    result["rss_children_reaped_max_mb"] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    # A helper can grow after the last look, just before it exits: the largest reaped child's peak then
    # replaces the largest peak seen (a lower bound of the true sum either way).
    seen_max_mb = max(helpers.peak_kb.values(), default=0) / 1024
    missed_mb = max(0.0, result["rss_children_reaped_max_mb"] - seen_max_mb)
    result["rss_helpers_mb"] = sum(helpers.peak_kb.values()) / 1024 + missed_mb
    if missed_mb > 0.5:
        result["notes"].append(
            f"helper RSS raised by up to {missed_mb:.1f} MB from RUSAGE_CHILDREN (grew after the last look)"
        )
    result["rss_total_mb"] = result["rss_self_mb"] + result["rss_helpers_mb"]
    result_path.write_text(json.dumps(result))


def verify_runyard(data_dir: Path, steps: int, result: dict[str, Any]) -> None:
    """Check that the store holds every point, then checkpoint its WAL (after the as-is size was taken)."""
    import sqlite3  # here, not at the top: the wandb worker's RSS should not carry it

    db = data_dir / "runyard" / "runyard.db"  # root_dir holds runyard's data folder, as init(dir=) does
    result["durable"] = False
    if not db.exists():
        result["notes"].append(f"no store at {db.name}: the data is not in the store")
        leftovers = [f for f in result["largest_files"] if f.endswith(".rylog")]
        if leftovers:
            result["notes"].append(f"run log left behind for `runyard sync`: {leftovers[0]}")
        return
    con = sqlite3.connect(db)
    try:
        state, last_step = con.execute("SELECT state, last_step FROM runs").fetchone()
        result["store_state"] = state
        durable = state == "finished" and last_step == steps - 1
        if not durable:
            result["notes"].append(f"store says state={state}, last_step={last_step}; expected finished, {steps - 1}")
        try:
            (stored,) = con.execute(
                "SELECT SUM(b.count) FROM blocks b JOIN series s ON s.id = b.series_id "
                "WHERE s.key NOT LIKE '\\_%' ESCAPE '\\'"
            ).fetchone()
            if stored != steps * METRICS_PER_STEP:
                durable = False
                result["notes"].append(f"store holds {stored} points; expected {steps * METRICS_PER_STEP}")
        except sqlite3.Error as exc:
            result["notes"].append(f"could not count points in the store ({exc}); checked last_step only")
        result["durable"] = durable
        con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    except (sqlite3.Error, TypeError) as exc:
        result["notes"].append(f"could not read the store: {exc}")
    finally:
        con.close()


def verify_wandb(data_dir: Path, steps: int, result: dict[str, Any]) -> None:
    """Count the history records in wandb's transaction log (``run-*.wandb``)."""
    logs = sorted(data_dir.glob("wandb/*run-*/run-*.wandb"))
    result["durable"] = False
    if not logs:
        result["notes"].append("no run-*.wandb file after finish()")
        return
    try:
        from wandb.proto import wandb_internal_pb2  # type: ignore[import-not-found]

        history = 0
        for payload in wandb_log_records(logs[-1].read_bytes()):
            record = wandb_internal_pb2.Record()
            record.ParseFromString(payload)
            if record.WhichOneof("record_type") == "history":
                history += 1
    except Exception as exc:  # wandb internals differ between versions: report, do not fail the run
        result["notes"].append(f"could not read {logs[-1].name} ({type(exc).__name__}: {exc})")
        return
    result["durable"] = history == steps
    if history != steps:
        result["notes"].append(f"{logs[-1].name} holds {history} history records; expected {steps}")


def wandb_log_records(data: bytes) -> list[bytes]:
    """The payloads of a ``.wandb`` file: a 7-byte header, then LevelDB log framing in 32 KiB blocks.

    (wandb 0.31 reads these files in Go only; checksums are not verified here, only the framing.)
    """
    block, header = 32768, 7
    if data[:4] != b":W&B":
        raise ValueError("not a .wandb file")
    out: list[bytes] = []
    parts: list[bytes] = []
    pos = header
    while pos + header <= len(data):
        left = block - pos % block
        if left < header:
            pos += left  # block trailer padding
            continue
        length = int.from_bytes(data[pos + 4 : pos + 6], "little")
        kind = data[pos + 6]
        if kind == 0 and length == 0:
            pos += left  # zero padding up to the next block
            continue
        chunk = data[pos + header : pos + header + length]
        pos += header + length
        if kind == 1:  # FULL
            out.append(chunk)
        elif kind == 2:  # FIRST
            parts = [chunk]
        elif kind == 3:  # MIDDLE
            parts.append(chunk)
        elif kind == 4:  # LAST
            parts.append(chunk)
            out.append(b"".join(parts))
            parts = []
    return out


# -- the orchestrator ----------------------------------------------------------------------------------------
def ensure_wandb_venv() -> Path:
    """The venv's python, with wandb==WANDB_VERSION installed (created and installed when missing)."""
    python = VENV / "bin" / "python"
    if python.exists():
        probe = subprocess.run(
            [str(python), "-c", "import importlib.metadata as m; print(m.version('wandb'))"],
            capture_output=True,
            text=True,
        )
        if probe.returncode == 0 and probe.stdout.strip() == WANDB_VERSION:
            return python
        have = probe.stdout.strip() or "not installed"
        print(f"bench: {VENV} has wandb {have}; installing wandb=={WANDB_VERSION}")
    else:
        print(f"bench: creating {VENV} with `{sys.executable} -m venv`")
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    print(f"bench: `{python} -m pip install wandb=={WANDB_VERSION}` (once; bench/.work/ is git-ignored)")
    subprocess.run(
        [
            str(python),
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            f"wandb=={WANDB_VERSION}",
        ],
        check=True,
    )
    return python


@dataclass
class Tool:
    name: str
    python: Path

    def env(self, data_dir: Path, aux_dir: Path) -> dict[str, str]:
        # runyard reads WANDB_* too: neither tool sees the other's (or the caller's) settings.
        env = {k: v for k, v in os.environ.items() if not k.startswith(("WANDB_", "RUNYARD_"))}
        if self.name == "wandb":
            env.update(
                WANDB_MODE="offline",
                WANDB_SILENT="true",
                WANDB_DIR=str(data_dir),
                WANDB_CONFIG_DIR=str(aux_dir / "config"),
                WANDB_CACHE_DIR=str(aux_dir / "cache"),
                WANDB_DATA_DIR=str(aux_dir / "data"),
            )
        return env


def import_probe(tool: Tool, cwd: Path, env: dict[str, str]) -> float:
    """Milliseconds that ``import <tool>`` and resolving ``<tool>.init`` take in a fresh interpreter that has
    imported nothing else. ``init`` is included because runyard loads its SDK on first use of such a name
    (which keeps its ingester process lean): a bare ``import runyard`` alone would understate what a script
    pays before its first ``init()``."""
    name = tool.name
    code = f"import time\nt = time.perf_counter()\nimport {name}\n{name}.init\nprint((time.perf_counter() - t) * 1e3)\n"
    out = subprocess.run([str(tool.python), "-c", code], cwd=cwd, env=env, capture_output=True, text=True, timeout=120)
    if out.returncode != 0:
        raise RuntimeError(f"import {tool.name} failed:\n{out.stderr}")
    return float(out.stdout.strip().splitlines()[-1])


def one_rep(tool: Tool, steps: int) -> dict[str, Any]:
    WORK.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=f"{tool.name}-", dir=WORK))
    data_dir, aux_dir, cwd = scratch / "data", scratch / "aux", scratch / "cwd"
    for d in (data_dir, aux_dir, cwd):
        d.mkdir()
    env = tool.env(data_dir, aux_dir)
    try:
        import_ms = import_probe(tool, cwd, env)
        result_path = scratch / "result.json"
        cmd = [str(tool.python), str(Path(__file__).resolve()), "--worker", tool.name, "--steps", str(steps)]
        cmd += ["--data-dir", str(data_dir), "--result", str(result_path)]
        proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=900)
        if proc.returncode != 0 or not result_path.exists():
            raise RuntimeError(f"{tool.name} worker failed (exit {proc.returncode}):\n{proc.stderr[-4000:]}")
        result: dict[str, Any] = json.loads(result_path.read_text())
        result["import_ms"] = import_ms
        stderr = [line for line in proc.stderr.splitlines() if line.strip()]
        if stderr:
            result["notes"].append("stderr: " + " | ".join(stderr[:3])[:600])
        return result
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


@dataclass(frozen=True)
class Row:
    key: str
    label: str
    fmt: str
    target: float | None = None
    higher_is_better: bool = False


ROWS = (
    Row("import_ms", "import (ms)", "{:.1f}", 150),
    Row("init_ms", "init (ms)", "{:.1f}", 50),
    Row("log_p50_us", "log p50 (µs)", "{:.2f}", 5),
    Row("log_p99_us", "log p99 (µs)", "{:.2f}", 50),
    Row("log_p999_us", "log p99.9 (µs)", "{:.1f}"),
    Row("log_max_us", "log max, one call (µs)", "{:.0f}"),
    Row("log_over_1ms", "log calls > 1 ms", "{:.0f}"),
    Row("calls_per_s", "calls/s (whole loop)", "{:,.0f}", None, True),
    Row("finish_ms", "finish (ms)", "{:.1f}", 200),
    Row("bytes_per_point", "bytes/point on disk (du)", "{:.2f}", 20),
    Row("bytes_per_point_checkpointed", "bytes/point, WAL checkpointed", "{:.2f}", 20),
    Row("rss_self_mb", "peak RSS, process (MB)", "{:.1f}"),
    Row("rss_helpers_mb", "peak RSS, helper procs (MB)", "{:.1f}"),
    Row("rss_total_mb", "peak RSS, total (MB)", "{:.1f}", 60),
    Row("helper_processes", "helper processes", "{:.0f}"),
    Row("threads_after_loop", "threads in process", "{:.0f}"),
)


def median_of(results: list[dict[str, Any]], key: str) -> float | None:
    values = [r[key] for r in results if isinstance(r.get(key), (int, float))]
    return statistics.median(values) if values else None


def render(by_tool: dict[str, list[dict[str, Any]]], steps: int, reps: int) -> str:
    ry, wb = by_tool.get("runyard", []), by_tool.get("wandb", [])
    head = ["figure", "runyard", "wandb", "runyard/wandb", "target", "runyard"]
    body: list[list[str]] = []
    for row in ROWS:
        a, b = median_of(ry, row.key), median_of(wb, row.key)
        ratio = f"{a / b:.2f}x" if a is not None and b else "-"
        target = "-" if row.target is None else ("≥ " if row.higher_is_better else "≤ ") + f"{row.target:g}"
        verdict = "-"
        if row.target is not None and a is not None:
            ok = a >= row.target if row.higher_is_better else a <= row.target
            verdict = "PASS" if ok else "MISS"
        cell = [row.fmt.format(a) if a is not None else "-", row.fmt.format(b) if b is not None else "-"]
        body.append([row.label, *cell, ratio, target, verdict])
    widths = [max(len(r[i]) for r in [head, *body]) for i in range(len(head))]

    def line(cells: list[str]) -> str:
        return "  ".join(
            c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        )

    out = [
        f"log overhead: {steps:,} steps x {METRICS_PER_STEP} float scalars, 20-key config; "
        f"median of {reps} interleaved repetition(s)",
        line(head),
        line(["-" * w for w in widths]),
        *[line(r) for r in body],
    ]
    return "\n".join(out)


def render_details(by_tool: dict[str, list[dict[str, Any]]]) -> str:
    out: list[str] = []
    for tool, results in by_tool.items():
        if not results:
            continue
        first = results[0]
        out.append(f"{tool} {first.get('version', '?')}:")
        durable = [r.get("durable") for r in results]
        out.append(f"  every point verified on disk after finish: {durable}")
        out.append(
            f"  worst single log call over all reps: {max(r['log_max_us'] for r in results):.0f} µs "
            f"(at steps {[r['log_max_at_step'] for r in results]}); "
            f"calls > 1 ms per rep: {[r['log_over_1ms'] for r in results]}"
        )
        out.append(
            f"  timer floor (empty timed region): {median_of(results, 'timer_floor_ns'):.0f} ns; "
            f"log mean {median_of(results, 'log_mean_us'):.2f} µs"
        )
        out.append(
            f"  helper processes: {first.get('helper_names') or 'none'}; largest reaped child "
            f"(RUSAGE_CHILDREN): {median_of(results, 'rss_children_reaped_max_mb'):.1f} MB"
        )
        if "teardown_ms" in first:
            out.append(f"  wandb.teardown() after finish: {median_of(results, 'teardown_ms'):.0f} ms")
        out.append(f"  largest files after finish: {first.get('largest_files')}")
        if "largest_files_checkpointed" in first:
            out.append(f"  after a WAL checkpoint: {first['largest_files_checkpointed']}")
        per_rep = " | ".join(
            f"p50 {r['log_p50_us']:.2f}/p99 {r['log_p99_us']:.1f} µs, init {r['init_ms']:.0f} ms, "
            f"finish {r['finish_ms']:.0f} ms"
            for r in results
        )
        out.append(f"  per rep: {per_rep}")
        notes = sorted({n for r in results for n in r.get("notes", [])})
        out.extend(f"  note: {n}" for n in notes)
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--steps", type=int, default=20000, help="log() calls per run (default 20000)")
    parser.add_argument("--reps", type=int, default=3, help="repetitions per tool, interleaved (default 3)")
    parser.add_argument("--only", choices=TOOLS, help="run one tool only (e.g. --only runyard for a quick check)")
    parser.add_argument("--json", type=Path, help="also write every repetition's raw figures to this file")
    parser.add_argument("--worker", choices=TOOLS, help=argparse.SUPPRESS)
    parser.add_argument("--data-dir", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--result", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.worker:
        run_worker(args.worker, args.steps, args.data_dir, args.result)
        return 0

    names = [args.only] if args.only else list(TOOLS)
    tools = [Tool(n, ensure_wandb_venv() if n == "wandb" else Path(sys.executable)) for n in names]
    load = "/".join(f"{x:.2f}" for x in os.getloadavg())
    print(
        f"bench: {len(os.sched_getaffinity(0))} CPUs, load average {load}; runyard on {sys.executable}",
        flush=True,
    )
    WORK.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=WORK) as warm:
        for tool in tools:  # not counted: compiles .pyc and warms the page cache for the first repetition
            import_probe(tool, Path(warm), tool.env(Path(warm), Path(warm)))
    by_tool: dict[str, list[dict[str, Any]]] = {n: [] for n in names}
    for rep in range(args.reps):
        for tool in tools:
            result = one_rep(tool, args.steps)
            by_tool[tool.name].append(result)
            print(
                f"bench: rep {rep + 1}/{args.reps} {tool.name}: log p50 {result['log_p50_us']:.2f} µs, "
                f"p99 {result['log_p99_us']:.1f} µs, finish {result['finish_ms']:.0f} ms, "
                f"durable={result.get('durable')}",
                flush=True,
            )
    if args.json:
        args.json.write_text(json.dumps(by_tool, indent=2))
    load = "/".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"bench: load average at the end {load} (other work on the machine skews p99 and max)")
    print()
    print(render(by_tool, args.steps, args.reps))
    print()
    print(render_details(by_tool))
    return 0


if __name__ == "__main__":
    sys.exit(main())
