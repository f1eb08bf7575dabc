"""Log an artifact between history rows: artifacts are not stored yet, the run's other data must be.

Usage: artifact.py PROJECT
"""

import sys
from pathlib import Path

import wandb

run = wandb.init(project=sys.argv[1])
print(f"RUN_ID {run.id}", flush=True)
wandb.log({"x": 0})
Path("data.csv").write_text("a,b\n1,2\n")
art = wandb.Artifact("dataset", type="dataset")
art.add_file("data.csv")
run.log_artifact(art)
wandb.log({"x": 1})
wandb.finish()
