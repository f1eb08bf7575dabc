"""Read an artifact another client logged, log its next version, and list what wandb.Api() sees.

Usage: artifact_api.py ENTITY PROJECT
Expects a ``shared`` dataset with a ``prod`` alias holding ``table.csv``.
"""

import sys
from pathlib import Path

import wandb

entity, project = sys.argv[1], sys.argv[2]
api = wandb.Api()
first = api.artifact(f"{entity}/{project}/shared:prod")
print(f"FIRST {first.version} {sorted(first.aliases)} {first.type}", flush=True)
root = first.download(root="dl0")
print(f"CONTENT {Path(root, 'table.csv').read_text()!r}", flush=True)

run = wandb.init(project=project)
print(f"RUN_ID {run.id}", flush=True)
run.use_artifact("shared:prod")
Path("new.txt").write_text("second version\n")
art = wandb.Artifact("shared", type="dataset")
art.add_file("new.txt")
run.log_artifact(art, aliases=["candidate"]).wait()
wandb.finish()

api = wandb.Api()
print(f"VERSIONS {sorted(a.version for a in api.artifacts('dataset', f'{entity}/{project}/shared'))}", flush=True)
print(f"TYPES {sorted(t.name for t in api.artifact_types(project=f'{entity}/{project}'))}", flush=True)
print(f"COLLECTIONS {[c.name for c in api.artifact_collections(f'{entity}/{project}', 'dataset')]}", flush=True)
print(f"COLLECTION {api.artifact_collection('dataset', f'{entity}/{project}/shared').name}", flush=True)
done = api.run(f"{entity}/{project}/{run.id}")
print(f"LOGGED {[a.name for a in done.logged_artifacts()]}", flush=True)
print(f"USED {[a.name for a in done.used_artifacts()]}", flush=True)
latest = api.artifact(f"{entity}/{project}/shared:latest")
print(f"LATEST {latest.version} {sorted(latest.aliases)}", flush=True)

# The same content runyard's SDK logged as v0: that version again, not a new one.
again = wandb.init(project=project)
Path("table.csv").write_text("k,v\n1,2\n")
same = wandb.Artifact("shared", type="dataset")
same.add_file("table.csv")
print(f"DEDUP {again.log_artifact(same).wait().version}", flush=True)
wandb.finish()

# A name keeps its type: logging "shared" as a model is refused with a message naming both.
clash = wandb.init(project=project)
wrong = wandb.Artifact("shared", type="model")
wrong.add_file("table.csv")
try:
    clash.log_artifact(wrong).wait()
    print("CLASH none", flush=True)
except Exception as exc:
    print(f"CLASH {type(exc).__name__}: {exc}".replace("\n", " "), flush=True)
wandb.finish()

# Lineage: who made v0 (runyard's SDK) and who used it (the wandb run above).
v0 = wandb.Api().artifact(f"{entity}/{project}/shared:v0")
print(f"MAKER {v0.logged_by().id}", flush=True)
print(f"USERS {[r.id for r in v0.used_by()]}", flush=True)

# Editing a version through wandb.Api: aliases and description.
edited = wandb.Api().artifact(f"{entity}/{project}/shared:v1")
edited.aliases.append("production")
edited.aliases.remove("candidate")
edited.description = "edited"
edited.save()
print(f"EDITED {sorted(wandb.Api().artifact(f'{entity}/{project}/shared:production').aliases)}", flush=True)
