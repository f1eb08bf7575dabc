"""A training process killed while its artifact is on the way: never half a version; what was logged is kept."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import runyard
from runyard.errors import NotFoundError
from runyard.store import Store

_SCRIPT = textwrap.dedent(
    """
    import os, sys, time
    import runyard

    run = runyard.init(project="crash", id="r1")
    artifact = runyard.Artifact("ckpt", type="model")
    artifact.add_file(sys.argv[1])
    if sys.argv[2] == "before-record":
        run._lock.acquire()  # the manifest record cannot be written: killed once the files are stored
    logged = run.log_artifact(artifact)
    if sys.argv[2] == "before-record":
        while logged._pending.done_bytes < 2_000_000:
            time.sleep(0.01)
    else:
        logged._pending.finished.wait()  # files stored and the manifest record written: then killed
    os._exit(9)  # no finish(), no atexit: as a SIGKILL would
    """
)


def _kill_while_logging(root: Path, when: str) -> None:
    weights = root / "w.bin"
    weights.write_bytes(os.urandom(2_000_000))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RUNYARD_", "WANDB_"))}
    env.update(RUNYARD_DIR=str(root), RUNYARD_SILENT="true", PYTHONPATH=os.pathsep.join(sys.path))
    done = subprocess.run([sys.executable, "-c", _SCRIPT, str(weights), when], env=env, cwd=root, timeout=120)
    assert done.returncode == 9


def test_killed_before_the_manifest_leaves_no_version(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _kill_while_logging(tmp_path, "before-record")
    monkeypatch.setenv("RUNYARD_DIR", str(tmp_path))
    with runyard.Api() as api:  # ingests what the run log holds
        assert api.run("crash/r1").id == "r1"
        with pytest.raises(NotFoundError, match="no artifact 'ckpt'"):
            api.artifact("crash/ckpt:latest")
    # The stored file is unreferenced: gc keeps it through its grace period, then takes it.
    with Store.open(f"sqlite:///{tmp_path}/runyard/runyard.db") as store:
        assert store.blobs is not None
        assert [s for _, s, _ in store.blobs.list_blobs() if s == 2_000_000] == [2_000_000]
        assert store.artifacts.gc().deleted == 0
        assert store.artifacts.gc(grace_s=0).bytes_freed >= 2_000_000
        assert [s for _, s, _ in store.blobs.list_blobs() if s == 2_000_000] == []


def test_killed_after_the_manifest_keeps_the_version(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _kill_while_logging(tmp_path, "after-record")
    monkeypatch.setenv("RUNYARD_DIR", str(tmp_path))
    with runyard.Api() as api:
        artifact = api.artifact("crash/ckpt:latest")
        assert artifact.version == "v0" and artifact.logged_by() == "r1"
        folder = Path(artifact.download(str(tmp_path / "dl")))
        assert (folder / "w.bin").read_bytes() == (tmp_path / "w.bin").read_bytes()


def test_save_code_logs_the_main_script(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    script = tmp_path / "train.py"
    script.write_text("import runyard\nrun = runyard.init(project='code', id='c1', save_code=True)\nrun.finish()\n")
    (tmp_path / "helper.py").write_text("x = 1\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RUNYARD_", "WANDB_"))}
    env.update(RUNYARD_DIR=str(tmp_path), RUNYARD_SILENT="true", PYTHONPATH=os.pathsep.join(sys.path))
    done = subprocess.run([sys.executable, str(script)], env=env, cwd=tmp_path, timeout=120, capture_output=True)
    assert done.returncode == 0, done.stderr
    monkeypatch.setenv("RUNYARD_DIR", str(tmp_path))
    with runyard.Api() as api:
        [code] = api.run("code/c1").logged_artifacts()
        assert code.type == "code" and [e.path for e in code.files()] == ["train.py"]
