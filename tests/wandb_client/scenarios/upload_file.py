"""Add a file to a run after it ended: ``wandb.Api().run(path).upload_file(path)``.

Usage: upload_file.py ENTITY/PROJECT/RUN_ID FILE_NAME CONTENT
"""

import pathlib
import sys

import wandb

path, name, content = sys.argv[1:4]
pathlib.Path(name).write_text(content)
uploaded = wandb.Api().run(path).upload_file(name)
print("UPLOADED", uploaded.name, flush=True)
