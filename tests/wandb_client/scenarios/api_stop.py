"""Stop a run through the public API: ``wandb.Api().run(path).stop()``.

Usage: api_stop.py ENTITY/PROJECT/RUN_ID
"""

import sys

import wandb

print("STOPPED", wandb.Api().run(sys.argv[1]).stop(), flush=True)
