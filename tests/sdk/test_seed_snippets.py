"""The code snippets of the W&B "Runs" guide, verbatim, with ``import runyard as wandb``.

Each snippet is copied character for character from the guide; the only change is its ``import wandb`` line.
They run in this process (against the test's isolated root) and as scripts in a child process, where the
``atexit`` hook has to finish the run the script leaves open.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import runyard

# "Create a Run"
CREATE_RUN = """import wandb

run = wandb.init(project='my-project-name')
"""

# "There is only ever at most one active wandb.Run in any process"
ACTIVE_RUN = """import wandb

assert wandb.run is None

wandb.init()

assert wandb.run is not None
"""

# "End a Run"
END_RUN = """import wandb

wandb.init()
wandb.finish()

assert wandb.run is None

with wandb.init() as run:
 pass # log data here

assert wandb.run is None
"""


def as_runyard(snippet: str) -> str:
    """The snippet with its one ``import wandb`` line replaced by ``import runyard as wandb``."""
    assert snippet.count("import wandb\n") == 1
    return snippet.replace("import wandb\n", "import runyard as wandb\n")


def run_snippet(snippet: str) -> dict[str, Any]:
    namespace: dict[str, Any] = {"__name__": "__snippet__"}
    exec(compile(as_runyard(snippet), "<snippet>", "exec"), namespace)
    return namespace


def test_active_run_snippet(stored, entity):
    run_snippet(ACTIVE_RUN)
    run = runyard.run
    assert isinstance(run, runyard.Run)
    assert run.project == "Uncategorized"
    run.finish()
    assert runyard.run is None
    record = stored.run(run)
    assert record.project == "Uncategorized"
    assert record.entity == entity
    assert record.state == "finished"


def test_end_run_snippet(stored, entity, isolated_root):
    namespace = run_snippet(END_RUN)
    assert runyard.run is None
    with_run = namespace["run"]
    assert isinstance(with_run, runyard.Run)
    runs = stored.store(isolated_root).list_runs(entity, "Uncategorized")
    assert len(runs) == 2
    assert {r.state for r in runs} == {"finished"}
    assert {r.exit_code for r in runs} == {0}
    assert with_run.id in {r.run_id for r in runs}


def test_create_run_snippet(stored, entity):
    namespace = run_snippet(CREATE_RUN)
    run = namespace["run"]
    assert runyard.run is run
    assert run.project == "my-project-name"
    assert run.path == f"{entity}/my-project-name/{run.id}"
    run.finish()
    record = stored.run(run)
    assert record.project == "my-project-name"
    assert record.state == "finished"


def test_no_project_is_uncategorized(stored, entity):
    run = runyard.init()
    assert run.project == "Uncategorized"
    run.log({"x": 1})
    run.finish()
    assert stored.run(run).project == "Uncategorized"
    assert [r.run_id for r in stored.store(run).list_runs(entity, "Uncategorized")] == [run.id]


# -- as scripts: the atexit hook finishes what the script leaves open ----------------------------------------


def run_script(tmp_path: Path, name: str, source: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    script = tmp_path / name
    script.write_text(source, encoding="utf-8")
    return subprocess.run(
        [sys.executable, str(script)], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60
    )


def test_snippets_as_scripts_are_finished_at_exit(tmp_path, child_env, stored, entity):
    # END_RUN first: ACTIVE_RUN asserts there is no active run yet, and leaves one open for atexit.
    done = run_script(tmp_path, "guide_runs.py", as_runyard(END_RUN) + as_runyard(ACTIVE_RUN), child_env)
    assert done.returncode == 0, done.stderr
    done = run_script(tmp_path, "create_run.py", as_runyard(CREATE_RUN), child_env)
    assert done.returncode == 0, done.stderr

    if "RUNYARD_STORE_URL" not in child_env:  # the default store: a SQLite file in ./runyard
        assert (tmp_path / "runyard" / "runyard.db").is_file()
    store = stored.store(tmp_path / "runyard")
    uncategorized = store.list_runs(entity, "Uncategorized")
    assert len(uncategorized) == 3
    assert {r.state for r in uncategorized} == {"finished"}
    assert {r.exit_code for r in uncategorized} == {0}
    [created] = store.list_runs(entity, "my-project-name")
    assert created.state == "finished"
    assert created.exit_code == 0
    assert created.program == "create_run.py"


def test_script_with_uncaught_exception_is_failed_with_its_data(tmp_path, child_env, stored, entity):
    source = (
        "import runyard as wandb\n"
        "run = wandb.init(project='crashing', id='boom1')\n"
        "for i in range(3):\n"
        "    wandb.log({'loss': 1.0 / (i + 1)})\n"
        "raise RuntimeError('diverged')\n"
    )
    done = run_script(tmp_path, "crash.py", source, child_env)
    assert done.returncode == 1
    assert "diverged" in done.stderr
    record = stored.store(tmp_path / "runyard").get_run(entity, "crashing", "boom1")
    assert record is not None
    assert record.state == "failed"
    assert record.exit_code == 1
    rows = list(stored.store(tmp_path / "runyard").history(entity, "crashing", "boom1"))
    assert [r["_step"] for r in rows] == [0, 1, 2]
    assert [r["loss"] for r in rows] == pytest.approx([1.0, 0.5, 1 / 3])
