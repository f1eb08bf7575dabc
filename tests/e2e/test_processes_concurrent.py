"""Real processes: children of a training script own their runs; eight processes write into one store at once.

In a file of its own (not test_processes) so that two test workers share the slowest process tests.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from process_scripts import ENTITY, run_script

from runyard.store import Store

CHILDREN = """
import multiprocessing as mp, sys, time, runyard

def child(i, finish):
    run = runyard.init(project="p", id=f"child-{{i}}", reinit="create_new")
    for s in range(50):
        run.log({{"c": s * i}})
    if finish:
        run.finish()

if __name__ == "__main__":
    ctx = mp.get_context("{method}")
    parent = runyard.init(project="p", id="parent")
    parent.log({{"p": 1}})
    procs = [ctx.Process(target=child, args=(1, True)), ctx.Process(target=child, args=(2, False))]
    for p in procs:
        p.start()
    for p in procs:
        p.join()
    assert all(p.exitcode == 0 for p in procs), [p.exitcode for p in procs]
    parent.log({{"p": 2}})
"""

WORKER = """
import runyard
with runyard.init(project="many", id="w{index}", config={{"index": {index}}}) as run:
    for s in range({steps}):
        run.log({{"a": s, "b": s * 0.5, "index": {index}}})
"""


@pytest.mark.parametrize("method", ["fork", "spawn"])
def test_children_own_their_runs(tmp_path: Path, store_url: str, method: str) -> None:
    proc = run_script(CHILDREN.format(method=method), tmp_path, store_url, env={"RUNYARD_CRASH_TIMEOUT": "1"})
    assert proc.returncode == 0, proc.stderr
    time.sleep(1.2)
    store = Store.open(store_url, crash_timeout=1)
    try:
        parent = store.get_run(ENTITY, "p", "parent")
        assert parent is not None and parent.state == "finished"
        assert [r["p"] for r in store.history(ENTITY, "p", "parent")] == [1, 2]
        finished = store.get_run(ENTITY, "p", "child-1")
        assert finished is not None and finished.state == "finished"
        assert [r["c"] for r in store.history(ENTITY, "p", "child-1")] == list(range(50))
        forgot = store.get_run(ENTITY, "p", "child-2")
        assert forgot is not None and forgot.state == "crashed"
        assert [r["c"] for r in store.history(ENTITY, "p", "child-2")] == [s * 2 for s in range(50)]
    finally:
        store.close()


def test_eight_processes_log_into_one_store(tmp_path: Path, store_url: str) -> None:
    env = {
        **os.environ,
        "RUNYARD_DIR": str(tmp_path),
        "RUNYARD_STORE_URL": store_url,
        "RUNYARD_SILENT": "1",
    }
    procs = []
    for i in range(8):
        script = tmp_path / f"w{i}.py"
        script.write_text(WORKER.format(index=i, steps=2000))
        procs.append(subprocess.Popen([sys.executable, str(script)], cwd=tmp_path, env=env, stderr=subprocess.PIPE))
    for p in procs:
        _, err = p.communicate(timeout=180)
        assert p.returncode == 0, err
    store = Store.open(store_url)
    try:
        for i in range(8):
            run = store.get_run(ENTITY, "many", f"w{i}")
            assert run is not None and run.state == "finished"
            assert run.config == {"index": i}
            rows = list(store.history(ENTITY, "many", f"w{i}"))
            assert [r["a"] for r in rows] == list(range(2000))
            assert all(r["index"] == i for r in rows)
    finally:
        store.close()
