"""wandb.sweep, wandb.agent (function mode) and wandb.Api().sweep() against a runyard server."""

import sys

import wandb

project = sys.argv[1]
sweep_id = wandb.sweep(
    {
        "method": "grid",
        "metric": {"name": "loss", "goal": "minimize"},
        "parameters": {"a": {"values": [3, 1, 2]}, "b": {"value": "x"}},
    },
    project=project,
)
print("SWEEP", sweep_id, flush=True)


def train():
    with wandb.init() as run:
        run.config.update({"a": 99}, allow_val_change=True)  # a sweep key: the client keeps the sweep's value
        run.log({"loss": float(run.config.a)})


wandb.agent(sweep_id, function=train, count=3)
api = wandb.Api()
sweep = api.sweep(f"{project}/{sweep_id}")
print("STATE", sweep.state)
print("RUNS", sorted(r.config["a"] for r in sweep.runs))
print("BEST", sweep.best_run().config["a"])
