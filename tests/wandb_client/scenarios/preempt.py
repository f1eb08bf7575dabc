"""Mark the run as about to be preempted, then finish.

Usage: preempt.py PROJECT
"""

import sys
import time

import wandb

run = wandb.init(project=sys.argv[1], settings=wandb.Settings(x_file_stream_transmit_interval=1))
print(f"RUN_ID {run.id}", flush=True)
wandb.log({"x": 1})
run.mark_preempting()
time.sleep(1.0)
wandb.log({"x": 2})
wandb.finish()
