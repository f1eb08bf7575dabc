"""A run that streams for a while: periodic file_stream requests, an idle spell with heartbeats only.

Usage: long.py PROJECT
"""

import sys
import time

import wandb

settings = wandb.Settings(x_file_stream_transmit_interval=1, heartbeat_seconds=1, x_stats_sampling_interval=60)
run = wandb.init(project=sys.argv[1], settings=settings)
print(f"RUN_ID {run.id}", flush=True)
for i in range(30):
    wandb.log({"loss": 1 / (i + 1)})
    time.sleep(0.1)
print("IDLE", flush=True)
time.sleep(4)
wandb.log({"loss": 0.0})
wandb.finish()
