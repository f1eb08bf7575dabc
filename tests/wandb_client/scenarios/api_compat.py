"""Where real code looks: a live run without a name, nested summary edits (live and through ``wandb.Api``),
``run.files(names=...)``, ``wandb.restore`` of a file that exists and of one that does not, and ``delete()``.
Prints one JSON line (``RESULT {...}``).

Usage: api_compat.py PROJECT
"""

import json
import sys
import tempfile

import wandb

project = sys.argv[1]
out = {}
run = wandb.init(project=project, config={"lr": 0.1}, settings=wandb.Settings(x_disable_stats=True))
out["run_id"] = run.id
out["live_name"] = run.name
run.log({"best": {"acc": 0.5, "loss": 1.0}, "x": 1})
run.summary["best"]["acc"] = 0.75  # W&B stores an in-place change of a nested summary value
run.summary["nested"] = {"a": {"b": 1}}
run.summary["nested"]["a"]["b"] = 2
run.finish()

api = wandb.Api()
path = f"{run.entity}/{project}/{run.id}"
stored = api.run(path)
out["name"] = stored.name
out["live_summary"] = {"best": dict(stored.summary["best"]), "nested_b": stored.summary["nested"]["a"]["b"]}

stored.summary["best"]["acc"] = 0.95  # stored by update(), as W&B does
stored.update()
stored.summary["best"]["loss"] = 0.05  # and by summary.update()
stored.summary.update()
again = api.run(path)
out["edited_best"] = dict(again.summary["best"])

files = again.files(names=["requirements.txt", "no-such-file.txt"])
out["files_len"] = len(files)
out["files"] = [(f.name, f.size, f.md5) for f in files]
out["one_len"] = len(again.files(names=["requirements.txt"]))
out["all_len"] = len(again.files())
out["all_names"] = sorted(f.name for f in again.files())
folder = tempfile.mkdtemp()
with wandb.restore("requirements.txt", run_path=path, root=folder) as f:
    out["restored"] = f.read()
try:
    wandb.restore("no-such-file.txt", run_path=path, root=folder)
    out["missing"] = "no error"
except ValueError as exc:
    out["missing"] = f"ValueError: {exc}"

again.delete()
try:
    wandb.Api().run(path)  # a new Api: one caches the runs it read
    out["after_delete"] = "found"
except wandb.errors.CommError as exc:
    out["after_delete"] = f"CommError: {exc}"
print("RESULT " + json.dumps(out), flush=True)
