"""Artifacts: what logging a large checkpoint and a many-file artifact costs, against ``cp`` on the same disk.

1. A checkpoint of ``--size-mib`` MiB (default 1024) of random bytes, logged with ``run.log_artifact``:
   * how long ``log_artifact`` blocks the calling (training) thread, and the longest stall of a loop ticking every
     millisecond on that thread while the upload runs (target ≤ 10 ms);
   * upload throughput (log to committed version, ``artifact.wait()``), against ``cp`` + ``sync`` of the same file
     on the same disk (target: within 2x);
   * a re-log of the unchanged file: bytes newly stored (target 0).
2. An artifact of ``--files`` small files (default 100,000): manifest built (hashed, stored) and committed
   (target ≤ 60 s), then downloaded and verified.

    python bench/artifacts.py            # full size
    python bench/artifacts.py --quick    # 64 MiB and 10,000 files

Scratch data goes to ``bench/.work/artifacts`` (removed afterwards unless ``--keep``).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import threading
import time
from pathlib import Path

WORK = Path(__file__).parent / ".work" / "artifacts"


def _random_file(path: Path, size: int) -> None:
    chunk = 8 * 1024 * 1024
    with open(path, "wb") as fh:
        left = size
        while left > 0:
            n = min(chunk, left)
            fh.write(os.urandom(n))
            left -= n
    os.sync()


def _cp(src: Path, dst: Path) -> float:
    started = time.perf_counter()
    subprocess.run(["cp", str(src), str(dst)], check=True)
    subprocess.run(["sync", str(dst)], check=True)  # as durable as a stored blob (fsynced)
    return time.perf_counter() - started


class _Ticker:
    """A loop on the calling thread's behalf ticking every millisecond: the longest gap is the worst stall."""

    def __init__(self) -> None:
        self.worst = 0.0
        self._stop = threading.Event()

    def run_until(self, done: threading.Event) -> None:
        last = time.perf_counter()
        while not done.is_set():
            time.sleep(0.001)
            now = time.perf_counter()
            self.worst = max(self.worst, now - last - 0.001)
            last = now


def checkpoint(size_mib: int) -> None:
    import runyard

    src = WORK / "ckpt.bin"
    size = size_mib * 1024 * 1024
    print(f"checkpoint: writing {size_mib} MiB of random bytes ...", flush=True)
    _random_file(src, size)
    cp_s = _cp(src, WORK / "ckpt-copy.bin")
    (WORK / "ckpt-copy.bin").unlink()

    with runyard.init(project="bench-artifacts", dir=str(WORK)) as run:
        done = threading.Event()
        ticker = _Ticker()
        started = time.perf_counter()
        artifact = run.log_artifact(src, name="ckpt", type="model")
        blocked = time.perf_counter() - started
        waiter = threading.Thread(target=lambda: (artifact.wait(), done.set()))
        waiter.start()
        ticker.run_until(done)  # this thread plays the training loop
        waiter.join()
        upload_s = time.perf_counter() - started
        first_new = artifact._pending.new_bytes  # type: ignore[union-attr]

        again_started = time.perf_counter()
        again = run.log_artifact(src, name="ckpt", type="model", aliases=["again"])
        blocked_again = time.perf_counter() - again_started
        again.wait()
        relog_s = time.perf_counter() - again_started
        relog_new = again._pending.new_bytes  # type: ignore[union-attr]

        with open(src, "r+b") as fh:  # the next checkpoint: new content, the store already open
            fh.write(os.urandom(4096))
        next_started = time.perf_counter()
        run.log_artifact(src, name="ckpt", type="model").wait()
        next_s = time.perf_counter() - next_started

    mib = size / 1024 / 1024
    print(f"checkpoint {mib:.0f} MiB")
    print(f"  log_artifact() blocked the caller     {blocked * 1000:8.2f} ms   (first call: loads the artifact code)")
    print(f"  ... a later call                      {blocked_again * 1000:8.2f} ms   (target <= 10 ms)")
    print(f"  worst stall of a 1 ms loop meanwhile  {ticker.worst * 1000:8.2f} ms   (target <= 10 ms)")
    print(f"  upload, log to committed version      {upload_s:8.2f} s    {mib / upload_s:7.1f} MiB/s")
    print(f"  the next checkpoint (store open)      {next_s:8.2f} s    {mib / next_s:7.1f} MiB/s")
    print(f"  runyard / cp time, next checkpoint    {next_s / cp_s:8.2f} x    (target <= 2x)")
    print(f"  peer: cp + sync of the same file      {cp_s:8.2f} s    {mib / cp_s:7.1f} MiB/s")
    print(f"  runyard / cp time                     {upload_s / cp_s:8.2f} x    (target <= 2x)")
    print(f"  bytes stored by the first log         {first_new:>12,}")
    print(f"  re-log of the unchanged file          {relog_s:8.2f} s, {relog_new:,} new bytes   (target 0)")
    print(f"  same version on re-log                {again.version == artifact.version} ({again.version})")


def many_files(count: int) -> None:
    import runyard

    folder = WORK / "small"
    print(f"small files: writing {count:,} files ...", flush=True)
    for i in range(count):
        sub = folder / f"{i // 1000:04d}"
        if i % 1000 == 0:
            sub.mkdir(parents=True, exist_ok=True)
        (sub / f"{i:07d}.txt").write_bytes(os.urandom(64) + str(i).encode())
    with runyard.init(project="bench-artifacts", dir=str(WORK)) as run:
        started = time.perf_counter()
        artifact = runyard.Artifact("many", type="dataset")
        artifact.add_dir(folder)
        added = time.perf_counter() - started
        run.log_artifact(artifact).wait()
        committed = time.perf_counter() - started
        used = run.use_artifact("many:latest")
        t0 = time.perf_counter()
        root = used.download(str(WORK / "download"))
        downloaded = time.perf_counter() - t0
        t0 = time.perf_counter()
        used.verify(root)
        verified = time.perf_counter() - t0
    print(f"{count:,} small files")
    print(f"  add_dir (listing, on the caller)      {added:8.2f} s")
    print(f"  manifest built and committed          {committed:8.2f} s   (target <= 60 s)")
    print(f"  download                              {downloaded:8.2f} s")
    print(f"  verify                                {verified:8.2f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--files", type=int, default=100_000)
    parser.add_argument("--quick", action="store_true", help="64 MiB and 10,000 files")
    parser.add_argument("--keep", action="store_true", help="keep bench/.work/artifacts afterwards")
    parser.add_argument("--only", choices=("checkpoint", "files"), default=None)
    args = parser.parse_args()
    if args.quick:
        args.size_mib, args.files = 64, 10_000
    shutil.rmtree(WORK, ignore_errors=True)
    WORK.mkdir(parents=True)
    os.environ["RUNYARD_SILENT"] = "true"
    os.environ.pop("RUNYARD_BASE_URL", None)
    os.environ.pop("RUNYARD_STORE_URL", None)
    try:
        if args.only in (None, "checkpoint"):
            checkpoint(args.size_mib)
        if args.only in (None, "files"):
            many_files(args.files)
    finally:
        if not args.keep:
            shutil.rmtree(WORK, ignore_errors=True)


if __name__ == "__main__":
    main()
