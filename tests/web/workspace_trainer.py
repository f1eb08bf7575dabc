"""A training loop the workspace's browser tests run as a real process: ``python workspace_trainer.py PROJECT``.

Logs ``train/loss`` every 0.1 s for up to 90 s, until stopped (the workspace's Stop makes the run's ingester
interrupt it: KeyboardInterrupt, and the run ends ``killed``). ``RUNYARD_DIR`` says where the store is; the run
id is printed on stderr as ``RUN_ID=...``.
"""

from __future__ import annotations

import sys
import time

import runyard as wandb


def main(project: str) -> None:
    run = wandb.init(project=project, name="live-run", config={"lr": 0.1}, tags=["live"])
    print(f"RUN_ID={run.id}", file=sys.stderr, flush=True)
    deadline = time.monotonic() + 90
    step = 0
    while time.monotonic() < deadline:
        run.log({"train/loss": 1.0 / (step + 1), "train/step_time": 0.1})
        step += 1
        time.sleep(0.1)
    run.finish()


if __name__ == "__main__":
    main(sys.argv[1])
