"""The program of a sweep that `wandb agent` runs: logs a loss from its config, one value per step."""

import time

import wandb

run = wandb.init()
cfg = dict(run.config.get("cfg") or {})
for step in range(int(run.config.get("steps", 3))):
    run.log({"loss": float(cfg["a"]) + 1 / (step + 1)})
    time.sleep(float(cfg.get("pause", 0)))
run.finish()
