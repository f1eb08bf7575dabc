"""Reading runs back: ``runyard.Api()`` is ``wandb.Api()`` over the runyard store.

::

    import runyard as wandb

    api = wandb.Api()
    finished = {"state": "finished", "config.lr": {"$lt": 1e-3}}
    runs = api.runs("my-team/mnist", filters=finished, order="-summary_metrics.acc")
    for run in runs:
        print(run.name, run.summary["acc"])
        df = run.history(keys=["loss"])          # sampled, keeping every bucket's min and max
        rows = list(run.scan_history(keys=["loss"]))  # every row

The package sits above the store (``api`` → ``store``); nothing in the SDK or the store imports it. Importing it
imports neither SQLAlchemy nor pandas: the store is opened by :class:`Api` and pandas only by ``history()``.
"""

from __future__ import annotations

from runyard.api.api import Api, Project
from runyard.api.files import File
from runyard.api.history import HistoryScan
from runyard.api.runs import Run, Runs, Summary

__all__ = ["Api", "File", "HistoryScan", "Project", "Run", "Runs", "Summary"]
