"""runyard's CLI and SDK sweeps through a runyard server process (after `runyard login`), across its restart."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import yaml
from remote_server import ServerProcess, add_key, clean_env

from runyard.store import Store

KEY = "e" * 40
SRC = str(Path(__file__).resolve().parents[2] / "src")
TRAIN = """
import runyard
run = runyard.init()
for step in range(3):
    run.log({"loss": run.config.a + 1 / (step + 1)})
run.finish()
"""


def _cli(tmp_path: Path, server: ServerProcess, *args: str) -> subprocess.CompletedProcess[str]:
    env = clean_env(
        PYTHONPATH=SRC,
        RUNYARD_DIR=str(tmp_path / "client"),
        RUNYARD_BASE_URL=server.url,
        RUNYARD_API_KEY=KEY,
        RUNYARD_DISABLE_STATS="true",
    )
    done = subprocess.run(
        [sys.executable, "-m", "runyard.cli", *args], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=240
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done


def test_cli_sweep_and_agents_through_a_server_that_restarts(tmp_path: Path) -> None:
    store_url = f"sqlite:///{tmp_path}/server/runyard.db"
    with Store.open(store_url) as store:
        add_key(store, KEY)
    (tmp_path / "train.py").write_text(TRAIN)
    config = {
        "program": "train.py",
        "method": "grid",
        "metric": {"name": "loss"},
        "parameters": {"a": {"values": [4, 2, 3, 1]}},
    }
    (tmp_path / "sweep.yaml").write_text(yaml.safe_dump(config))
    server = ServerProcess(store_url, tmp_path).start()
    try:
        out = _cli(tmp_path, server, "sweep", "sweep.yaml", "--project", "remote")
        sweep_id = next(x for x in out.stdout.splitlines() if "Created sweep with ID:" in x).split()[-1]
        _cli(tmp_path, server, "agent", "--count", "2", f"remote/{sweep_id}")
        server.kill()  # the controller's state is in the store: a new server process carries on exactly
        server.start()
        _cli(tmp_path, server, "agent", sweep_id)
        assert "is CANCELED" in _cli(tmp_path, server, "sweep", "--cancel", sweep_id).stdout
    finally:
        server.stop()
    with Store.open(store_url) as store:
        sweep = store.sweeps.find(sweep_id)
        runs = store.sweeps.runs(sweep)
        assert [r.params["a"] for r in runs] == [4, 2, 3, 1]
        assert len({r.agent_id for r in runs}) == 2
        for r in runs:
            assert r.run is not None and r.run.state == "finished" and r.run.project == "remote"
            assert r.run.config["a"] == r.params["a"]
        assert store.sweeps.best_run(sweep).params == {"a": 1}  # type: ignore[union-attr]
