"""What media panels cost over HTTP (and, with Chromium, to draw): images, histograms over time, big tables.

Workload (SQLite, the embedded store, in a temporary folder; ingested through ``Store.ingest`` as the wandb
protocol path stores the real client's media: W&B references in history, bytes as run files):

* ``img``: 10 runs x 1,000 steps of a 64x64 PNG each (10,000 files);
* ``weights``: one run, 100,000 steps x 64-bin histograms (as ``wandb.Histogram`` logs them);
* ``samples``: one table file of 1,000,000 rows (id, label, score), about 40 MB of JSON.

Figures, served by the real app under uvicorn on a loopback port and timed with httpx (medians of ``--reps``):

``image``      GET .../media/keys + GET .../media/at (10 runs, last step) + the 10 PNGs: time to first images'
               bytes (target: first images drawn <= 500 ms after navigation);
``histogram``  GET .../media/histogram, 1,000 buckets of the 100,000 steps (cold, then warm): read (target:
               read + draw <= 1 s);
``table``      GET .../media/table first page: the first read (indexes the file once), then the first page
               unsorted, sorted by a column (the first sort builds that column's index), and filtered
               (target: first page <= 300 ms).

With ``--browser`` (Debian's chromium and Playwright), also the time from navigation to the first images drawn
in the workspace, and from navigation to the histogram heat map painted. Peer: W&B's hosted app, which caps
logged tables at 10,000 rows and samples histograms (no published timings to compare with).

    python bench/media_panels.py                # everything
    python bench/media_panels.py --quick        # 10x smaller histogram and table
    python bench/media_panels.py --browser      # also draw times in Chromium
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import shutil
import socket
import statistics
import struct
import sys
import tempfile
import threading
import time
import zlib
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

import httpx

from runyard.records import KIND_EXIT, KIND_FILE, KIND_ROW, KIND_START
from runyard.store import Store

ENTITY, PROJECT = "bench", "media"


def _png(size: int, seed: int) -> bytes:
    raw = b"".join(
        b"\x00" + bytes(v for x in range(size) for v in ((x * 4 + seed) % 256, (y * 4) % 256, (seed * 13) % 256))
        for y in range(size)
    )

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    head = struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", head) + chunk(b"IDAT", zlib.compress(raw, 1)) + chunk(b"IEND", b"")


def _start(run_id: str) -> list[Any]:
    body = {
        "session": f"s-{run_id}", "run_id": run_id, "project": PROJECT, "entity": ENTITY, "name": run_id,
        "notes": None, "tags": [], "group": None, "job_type": None, "config": {}, "created_at": 1.0,
        "started_at": 1.0, "resumed": False, "start_step": 0, "runtime_offset": 0.0, "host": "h", "pid": 1,
        "username": "bench", "program": "bench.py", "mode": "online",
    }  # fmt: skip
    return [1, KIND_START, body]


def _finish(records: list[list[Any]]) -> None:
    records.append([len(records) + 1, KIND_EXIT, {"exit_code": 0, "state": "finished", "t": 9.0, "runtime": 8.0}])


def build(store: Store, runs: int, steps: int, hist_steps: int, table_rows: int) -> None:
    t0 = time.perf_counter()
    for r in range(runs):
        records = [_start(f"img{r}")]
        for step in range(steps):
            content = _png(64, r * 7919 + step)
            path = f"media/images/img_{step}_{hashlib.sha256(content).hexdigest()[:20]}.png"
            records.append([len(records) + 1, KIND_FILE, {"name": path, "content": content}])
            ref = {"_type": "image-file", "path": path, "size": len(content), "format": "png", "width": 64,
                   "height": 64, "caption": f"run {r} step {step}"}  # fmt: skip
            records.append([len(records) + 1, KIND_ROW, {"_step": step, "img": ref, "loss": 1 / (step + 1)}])
        _finish(records)
        for i in range(0, len(records), 2000):
            store.ingest(records[i : i + 2000], session=f"s-img{r}")
    print(f"built {runs} runs x {steps} images in {time.perf_counter() - t0:.1f} s", flush=True)

    t0 = time.perf_counter()
    edges = [-4 + 8 * i / 64 for i in range(65)]
    records = [_start("hist")]
    for step in range(hist_steps):
        c = 32 + 16 * math.sin(step / 5000)
        values = [int(500 * math.exp(-(((i - c) / 5) ** 2))) for i in range(64)]
        row = {"_step": step, "weights": {"_type": "histogram", "values": values, "bins": edges}}
        records.append([len(records) + 1, KIND_ROW, row])
    _finish(records)
    for i in range(0, len(records), 5000):
        store.ingest(records[i : i + 5000], session="s-hist")
    print(f"built {hist_steps} histogram steps in {time.perf_counter() - t0:.1f} s", flush=True)

    t0 = time.perf_counter()
    data = [[i, f"class-{i % 10}", ((i * 7919) % 100_000) / 100_000] for i in range(table_rows)]
    content = json.dumps({"columns": ["id", "label", "score"], "data": data}).encode()
    path = "media/table/samples_0.table.json"
    ref = {"_type": "table-file", "path": path, "size": len(content), "ncols": 3, "nrows": table_rows}
    records = [
        _start("table"),
        [2, KIND_FILE, {"name": path, "content": content}],
        [3, KIND_ROW, {"_step": 0, "samples": ref}],
    ]
    _finish(records)
    store.ingest(records)
    print(
        f"built a {table_rows}-row table ({len(content) / 1e6:.0f} MB) in {time.perf_counter() - t0:.1f} s", flush=True
    )


def serve(store: Store) -> tuple[str, Any]:
    import uvicorn

    from runyard.server import create_app

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(create_app(store), log_level="warning", access_log=False))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)
    return f"http://127.0.0.1:{sock.getsockname()[1]}", server


def timed(fn: Any, reps: int) -> list[float]:
    out = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t0) * 1000)
    return out


def show(name: str, ms: list[float], target: float | None = None) -> None:
    med = statistics.median(ms)
    verdict = "" if target is None else ("  PASS" if med <= target else "  MISS") + f" (target <= {target:.0f} ms)"
    print(f"{name:<44} median {med:8.1f} ms   min {min(ms):8.1f}   max {max(ms):8.1f}{verdict}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="10x smaller histogram and table")
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--browser", action="store_true", help="also time drawing in Chromium")
    args = parser.parse_args()
    hist_steps = 10_000 if args.quick else 100_000
    table_rows = 100_000 if args.quick else 1_000_000
    folder = Path(tempfile.mkdtemp(prefix="runyard-bench-media-"))
    try:
        store = Store.open(f"sqlite:///{folder / 'runyard.db'}")
        build(store, 10, 1000, hist_steps, table_rows)
        base, server = serve(store)
        api = base + "/api/v1"
        runs = ",".join(f"img{r}" for r in range(10))
        with httpx.Client(timeout=120) as http:

            def first_images() -> None:
                http.get(f"{api}/projects/{ENTITY}/{PROJECT}/media/keys", params={"runs": runs}).raise_for_status()
                at = http.get(f"{api}/projects/{ENTITY}/{PROJECT}/media/at", params={"key": "img", "runs": runs}).json()
                for item in at["items"]:
                    http.get(
                        f"{api}/runs/{ENTITY}/{PROJECT}/{item['run_id']}/files/{item['value']['path']}"
                    ).raise_for_status()

            print("\nimage panel, 10 runs x 1,000 steps (REST: keys + refs at the last step + 10 PNGs)")
            show("first images' bytes", timed(first_images, args.reps), 500)
            show(
                "slider move (refs at another step)",
                timed(
                    lambda: http.get(
                        f"{api}/projects/{ENTITY}/{PROJECT}/media/at", params={"key": "img", "runs": runs, "step": 500}
                    ).raise_for_status(),
                    args.reps,
                ),
            )

            print(f"\nhistogram over time, {hist_steps:,} steps x 64 bins, 1,000 buckets")

            def hist() -> None:
                http.get(
                    f"{api}/runs/{ENTITY}/{PROJECT}/hist/media/histogram", params={"key": "weights", "buckets": 1000}
                ).raise_for_status()

            show("read (first)", timed(hist, 1), 1000)
            show("read", timed(hist, args.reps), 1000)

            print(f"\ntable, {table_rows:,} rows")
            tpath = "media/table/samples_0.table.json"

            def page(**q: Any) -> None:
                http.get(
                    f"{api}/runs/{ENTITY}/{PROJECT}/table/media/table", params={"path": tpath, "limit": 50, **q}
                ).raise_for_status()

            show("first read (indexes the file once)", timed(page, 1))
            show("first page", timed(page, args.reps), 300)
            show(f"page at offset {table_rows // 2:,}", timed(lambda: page(offset=table_rows // 2), args.reps), 300)
            show("first sort by score (builds its index)", timed(lambda: page(sort="score", desc=True), 1))
            show("first page sorted by score", timed(lambda: page(sort="score", desc=True), args.reps), 300)
            show("first page filtered (text in any cell)", timed(lambda: page(q="class-3"), args.reps), 300)
            show(
                "first page, where score > 0.99",
                timed(lambda: page(where=json.dumps([["score", ">", 0.99]])), args.reps),
                300,
            )

        if args.browser:
            browser_figures(base, args.reps)
        server.should_exit = True
        store.close()
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def browser_figures(base: str, reps: int) -> None:
    executable = shutil.which("chromium")
    if executable is None:
        print("\n(no chromium: browser figures skipped)")
        return
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=executable, args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        images, heat = [], []
        for _ in range(reps):
            t0 = time.perf_counter()
            page.goto(f"{base}/{ENTITY}/{PROJECT}")
            page.wait_for_function(
                "() => [...document.querySelectorAll('[data-key=img] [data-testid=media-image]')]"
                ".some(i => i.complete && i.naturalWidth > 0)",
                timeout=60_000,
            )
            images.append((time.perf_counter() - t0) * 1000)
            t0 = time.perf_counter()
            page.goto(f"{base}/{ENTITY}/{PROJECT}/runs/hist?tab=charts")
            page.wait_for_function(
                "() => { const c = document.querySelector('[data-testid=hist-canvas]');"
                " return c && Number(c.dataset.rows) > 0 }",
                timeout=60_000,
            )
            heat.append((time.perf_counter() - t0) * 1000)
        print("\nin Chromium (navigation to drawn)")
        show("workspace: first images drawn", images, 500)
        show("run page: histogram heat map painted", heat, 1000)
        browser.close()


if __name__ == "__main__":
    main()
