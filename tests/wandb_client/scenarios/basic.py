"""init -> log -> finish with config, tags, notes, group, job type, define_metric, summary and console output.

Usage: basic.py PROJECT [EXIT_CODE]
"""

import sys
import time

import wandb

project = sys.argv[1]
exit_code = int(sys.argv[2]) if len(sys.argv) > 2 else 0
run = wandb.init(
    project=project,
    name="basic-run",
    config={"lr": 0.1, "optimizer": {"name": "adam", "beta": 0.9}},
    tags=["baseline", "wandb"],
    notes="logged by the real wandb client",
    group="grp",
    job_type="train",
    settings=wandb.Settings(x_stats_sampling_interval=0.25),
)
print(f"RUN_ID {run.id}", flush=True)
run.define_metric("epoch")
run.define_metric("val/*", step_metric="epoch", summary="min")
for i in range(20):
    row = {"train/loss": 1 / (i + 1), "acc": i / 20}
    if i % 5 == 4:
        row.update({"val/loss": 2 / (i + 1), "epoch": i // 5})
    wandb.log(row)
run.summary["best"] = 0.5
run.config.update({"late": 3})
print("hello stdout", flush=True)
time.sleep(0.6)  # a few system-metrics samples
print("a warning on stderr", file=sys.stderr, flush=True)
wandb.finish(exit_code=exit_code)
