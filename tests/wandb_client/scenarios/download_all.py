"""Download every file of a run into a folder, as ``wandb.Api()`` users do; print what each became.

Usage: download_all.py ENTITY/PROJECT/RUN_ID ROOT
"""

import json
import sys

import wandb

path, root = sys.argv[1:3]
outcome = {}
for f in wandb.Api().run(path).files():
    try:
        f.download(root=root, replace=True).close()
        outcome[f.name] = "downloaded"
    except Exception as exc:  # a client that refuses a name says so; anything is better than writing outside
        outcome[f.name] = f"refused: {type(exc).__name__}"
print("RESULT", json.dumps(outcome), flush=True)
