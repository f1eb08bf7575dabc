"""Log five steps to a run of a given id, resuming it as asked.

Usage: resume.py PROJECT RUN_ID RESUME(must|allow|never) KEY
"""

import sys

import wandb

project, run_id, mode, key = sys.argv[1:5]
run = wandb.init(project=project, id=run_id, resume=None if mode == "never" else mode, config={key: 1})
print(f"RUN_ID {run.id}", flush=True)
print(f"CONFIG {sorted(run.config.keys())}", flush=True)
print(f"SUMMARY {dict(run.summary).get('n')}", flush=True)
for n in range(5):
    wandb.log({"n": n})
wandb.finish()
