"""Log one large file (sparse: zeros) as an artifact, the size the client uploads in parts on W&B.

Usage: artifact_large.py PROJECT SIZE_BYTES
"""

import sys

import wandb

project, size = sys.argv[1], int(sys.argv[2])
with open("big.bin", "wb") as fh:
    fh.truncate(size)
run = wandb.init(project=project)
print(f"RUN_ID {run.id}", flush=True)
art = wandb.Artifact("large", type="model")
art.add_file("big.bin")
print(f"VERSION {run.log_artifact(art).wait().version}", flush=True)
wandb.finish()
