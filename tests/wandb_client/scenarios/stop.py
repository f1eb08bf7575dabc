"""Log until stopped from outside (the web app's stop, or ``wandb.Api().run(path).stop()``).

Usage: stop.py PROJECT
"""

import sys
import time

import wandb

run = wandb.init(project=sys.argv[1], settings=wandb.Settings(x_file_stream_transmit_interval=1))
print(f"RUN_ID {run.id}", flush=True)
try:
    for i in range(600):
        wandb.log({"x": i})
        time.sleep(0.1)
except KeyboardInterrupt:
    print("KEYBOARD_INTERRUPT", flush=True)
    raise
print("NOT_STOPPED", flush=True)
