"""Read a media run back with ``wandb.Api()``: history and scan_history of media keys, config's custom chart
specs, and the bytes of a media file. Prints one JSON line (``RESULT {...}``).

Usage: media_readback.py ENTITY/PROJECT RUN_ID
"""

import json
import sys
import tempfile

import wandb

path, run_id = sys.argv[1:3]
run = wandb.Api().run(f"{path}/{run_id}")
out = {}
out["history_img"] = run.history(keys=["img"], pandas=False)
out["history_all_keys"] = sorted({k for row in run.history(pandas=False, samples=1000) for k in row})
out["scan_weights"] = list(run.scan_history(keys=["weights"]))
out["scan_keys"] = sorted({k for row in run.scan_history() for k in row})
out["visualize"] = sorted((run.rawconfig.get("_wandb") or {}).get("visualize", {}))
first = out["history_img"][0]["img"]["path"]
folder = tempfile.mkdtemp()
run.file(first).download(root=folder, replace=True)
with open(f"{folder}/{first}", "rb") as f:
    out["img_bytes"] = f.read().hex()
out["img_path"] = first
print("RESULT " + json.dumps(out, default=str), flush=True)
