"""Console output with a tqdm progress bar redrawn in place (``\\r``) across several file_stream requests.

Usage: tqdm_bar.py PROJECT
"""

import sys
import time

import wandb
from tqdm import tqdm

run = wandb.init(project=sys.argv[1], settings=wandb.Settings(x_file_stream_transmit_interval=1))
print(f"RUN_ID {run.id}", flush=True)
print("before the bar", flush=True)
for i in tqdm(range(30), desc="training", file=sys.stderr, ascii=True, mininterval=0):
    wandb.log({"i": i})
    time.sleep(0.1)
print("after the bar", flush=True)
wandb.finish()
