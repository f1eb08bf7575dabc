"""Log a few rows, then hang until killed (the test kills the process group: no exit reaches the server).

Usage: crash.py PROJECT
"""

import sys
import time

import wandb

run = wandb.init(project=sys.argv[1], settings=wandb.Settings(x_file_stream_transmit_interval=1))
print(f"RUN_ID {run.id}", flush=True)
for i in range(5):
    wandb.log({"x": i})
time.sleep(120)
