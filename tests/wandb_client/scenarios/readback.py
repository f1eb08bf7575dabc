"""Read runs back with ``wandb.Api()`` and print what it returned as one JSON line (``RESULT {...}``).

Usage: readback.py ENTITY/PROJECT RUN_ID
"""

import json
import sys
import tempfile

import wandb


def plain(summary):
    """A summary as plain dicts (nested values are the client's own mapping type)."""
    return {k: (plain(v) if hasattr(v, "keys") else v) for k, v in summary.items()}


path, run_id = sys.argv[1:3]
api = wandb.Api()
out = {}
out["runs_all"] = [r.id for r in api.runs(path, order="+created_at")]
out["runs_finished"] = [r.id for r in api.runs(path, filters={"state": "finished"})]
out["runs_lr"] = [r.id for r in api.runs(path, filters={"config.lr": {"$gte": 0.05}}, order="-config.lr")]
out["runs_tag"] = [r.id for r in api.runs(path, filters={"tags": {"$in": ["baseline"]}})]
out["runs_or"] = [
    r.id for r in api.runs(path, filters={"$or": [{"summary_metrics.acc": {"$gt": 0.9}}, {"display_name": "other"}]})
]
run = api.run(f"{path}/{run_id}")
out["run"] = {
    "id": run.id,
    "name": run.name,
    "state": run.state,
    "tags": run.tags,
    "notes": run.notes,
    "group": run.group,
    "job_type": run.job_type,
    "config": dict(run.config),
    "summary": plain(run.summary),
    "last_step": run.lastHistoryStep,
}
out["history"] = run.history(pandas=False)
out["history_keys"] = run.history(keys=["val/loss"], pandas=False)
out["system"] = run.history(stream="system", pandas=False)
out["scan"] = list(run.scan_history())
out["scan_keys"] = list(run.scan_history(keys=["epoch", "val/loss"]))
out["files"] = sorted(f.name for f in run.files())
folder = tempfile.mkdtemp()
run.file("requirements.txt").download(root=folder, replace=True)
with open(f"{folder}/requirements.txt") as f:
    out["requirements"] = f.read()
out["projects"] = [p.name for p in api.projects(path.split("/")[0])]
run.tags = [*run.tags, "edited"]
run.notes = "edited notes"
run.config["added"] = 7
run.update()
run.summary["extra"] = 2
run.summary.update()
again = api.run(f"{path}/{run_id}")
out["edited"] = {
    "tags": again.tags,
    "notes": again.notes,
    "config": dict(again.config),
    "summary": plain(again.summary),
}
print("RESULT " + json.dumps(out, default=str), flush=True)
