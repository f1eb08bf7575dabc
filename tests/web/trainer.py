"""A small training script the browser tests run as a real process (``python trainer.py MODE``).

``finished``: logs a run with config, notes, tags, history, a summary value, stdout and a stderr line,
then finishes. ``live``: prints four numbered lines every 0.2 s (and logs a metric) until stopped, or for 60 s.
``chatty``: prints 20,000 numbered lines at once, then finishes.
``RUNYARD_DIR`` (set by the tests) says where the store is; the run id is printed on stderr as ``RUN_ID=...``.
"""

from __future__ import annotations

import sys
import time

import runyard as wandb

LONG_LOG = 20_000
CONFIG = {"lr": 0.001, "batch_size": 64, "optimizer": {"name": "adam", "betas": [0.9, 0.999]}, "model": "resnet-18"}


def finished() -> None:
    run = wandb.init(
        project="vision",
        name="bright-river-1",
        config=CONFIG,
        notes="Baseline on the small split.",
        tags=["baseline", "resnet"],
        settings=wandb.Settings(stats_sampling_interval=1),
    )
    print(f"RUN_ID={run.id}", file=sys.stderr, flush=True)
    print("epoch 1 starting", flush=True)
    for step in range(30):
        run.log({"train/loss": 1.0 / (step + 1), "train/acc": step / 30, "val/loss": 1.2 / (step + 1)})
    print("warning: learning rate looks high", file=sys.stderr, flush=True)
    print("epoch 1 done: loss=0.0333", flush=True)
    run.summary["best_acc"] = 0.97
    time.sleep(1.2)  # a second system-metrics sample
    run.finish()


def live() -> None:
    run = wandb.init(project="vision", name="live-tail", settings=wandb.Settings(stats_sampling_interval=1))
    print(f"RUN_ID={run.id}", file=sys.stderr, flush=True)
    deadline = time.monotonic() + 60
    i = 0
    while time.monotonic() < deadline:
        for _ in range(4):
            print(f"tick {i}", flush=True)
            i += 1
        run.log({"tick": i})
        time.sleep(0.2)
    run.finish()


def chatty() -> None:
    run = wandb.init(project="vision", name="chatty", settings=wandb.Settings(disable_stats=True))
    print(f"RUN_ID={run.id}", file=sys.stderr, flush=True)
    sys.stdout.write("".join(f"line {i}\n" for i in range(LONG_LOG)))
    sys.stdout.flush()
    run.finish()


if __name__ == "__main__":
    {"finished": finished, "live": live, "chatty": chatty}[sys.argv[1]]()
