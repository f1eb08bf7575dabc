"""Log an artifact of a small and a multi-MB file, use it from a second run, download and check it.

Usage: artifact_log.py PROJECT
Prints RUN_ID (the logging run), USER_ID (the using run), VERSION, ALIASES and DOWNLOADED (the files' sizes).
"""

import os
import sys
from pathlib import Path

import wandb

project = sys.argv[1]
Path("data.csv").write_text("a,b\n1,2\n")
big = os.urandom(6 * 1024 * 1024 + 123)
Path("weights.bin").write_bytes(big)

run = wandb.init(project=project)
print(f"RUN_ID {run.id}", flush=True)
wandb.log({"x": 0})
art = wandb.Artifact("model", type="model", description="a model", metadata={"epochs": 3})
art.add_file("data.csv")
art.add_file("weights.bin", name="sub/weights.bin")
Path("elsewhere").mkdir()
Path("elsewhere/ref.txt").write_text("kept where it is\n")
art.add_reference(Path("elsewhere/ref.txt").resolve().as_uri(), name="ref.txt")
logged = run.log_artifact(art, aliases=["best"])
logged.wait()
print(f"VERSION {logged.version}", flush=True)
print(f"ALIASES {sorted(logged.aliases)}", flush=True)
wandb.log({"x": 1})
wandb.finish()

user = wandb.init(project=project)
print(f"USER_ID {user.id}", flush=True)
used = user.use_artifact("model:latest")
# multipart=True: the parts are ranged GETs (what the client does for files of 2 GiB and more).
root = used.download(root="downloaded", multipart=True)
got = {str(p.relative_to(root)): p.stat().st_size for p in Path(root).rglob("*") if p.is_file()}
assert Path(root, "sub/weights.bin").read_bytes() == big
assert Path(root, "data.csv").read_text() == "a,b\n1,2\n"
print(f"DOWNLOADED {sorted(got.items())}", flush=True)
wandb.finish()

# An incremental version: a draft of v0 with one file more; the unchanged files are not uploaded again.
third = wandb.init(project=project)
draft = wandb.Api().artifact(f"{third.entity}/{project}/model:latest").new_draft()
Path("extra.txt").write_text("more\n")
draft.add_file("extra.txt")
incremental = third.log_artifact(draft)
incremental.wait()
print(f"INCREMENTAL {incremental.version}", flush=True)
wandb.finish()
