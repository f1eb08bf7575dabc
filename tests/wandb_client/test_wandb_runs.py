"""A wandb client's run as the store holds it: every history row, config, summary, metrics, console, system
metrics, files and the final state. The basic scenario runs on every installed client release.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from wandb_clients import ENTITY, LATEST, OLDER, VERSIONS, LiveServer, last_line, ok, wait_for


def check_basic(store: Any, project: str, run_id: str, *, version: str, state: str, exit_code: int) -> None:
    """What ``scenarios/basic.py`` logged, exactly."""
    run = store.get_run(ENTITY, project, run_id)
    assert run is not None
    assert (run.state, run.exit_code) == (state, exit_code)
    assert run.name == "basic-run"
    assert run.tags == ["baseline", "wandb"]
    assert run.notes == "logged by the real wandb client"
    assert (run.group, run.job_type) == ("grp", "train")
    assert run.config == {"lr": 0.1, "optimizer": {"name": "adam", "beta": 0.9}, "late": 3}
    assert run.username == "local"
    assert run.metadata["wandb_version"] == version
    assert run.metadata["python"].startswith("CPython")

    rows = list(store.history(ENTITY, project, run_id))
    assert [r["_step"] for r in rows] == list(range(20))
    for i, row in enumerate(rows):
        assert row["train/loss"] == pytest.approx(1 / (i + 1))
        assert row["acc"] == pytest.approx(i / 20)
        assert isinstance(row["_runtime"], float) and row["_timestamp"] > 1.6e9
        if i % 5 == 4:
            assert row["val/loss"] == pytest.approx(2 / (i + 1)) and row["epoch"] == i // 5
        else:
            assert "val/loss" not in row and "epoch" not in row
    assert run.last_step == 19

    # define_metric: kept with the run (the web app's x-axis reads step_metric) and honoured by the summary.
    # Releases before 0.31 send the glob's expansion ("val/loss") rather than the glob itself.
    metrics = {m["name"]: m for m in run.metrics}
    val = metrics.get("val/*") or metrics["val/loss"]
    assert val["step_metric"] == "epoch"
    assert val["summary"] == ["min"]
    assert "epoch" in metrics
    summary = run.summary
    assert summary["train/loss"] == pytest.approx(1 / 20)
    assert summary["acc"] == pytest.approx(19 / 20)
    assert summary["val/loss"] == {"min": pytest.approx(2 / 20)}
    assert summary["epoch"] == 3
    assert summary["best"] == 0.5
    assert summary["_step"] == 19
    assert "_wandb" not in summary

    console = [(c.stream, c.text) for c in store.console(ENTITY, project, run_id)]
    assert ("stdout", "hello stdout") in console
    assert ("stderr", "a warning on stderr") in console

    system = store.system_history(ENTITY, project, run_id)
    assert system, "the client samples system metrics at start"
    assert any(k.startswith("system/") for k in system[0])

    files = {f.name for f in store.files(ENTITY, project, run_id)}
    assert {"wandb-metadata.json", "requirements.txt", "config.yaml", "output.log", "wandb-summary.json"} <= files
    assert b"wandb==" in store.file_content(ENTITY, project, run_id, "requirements.txt")
    assert b"hello stdout" in store.file_content(ENTITY, project, run_id, "output.log")
    assert b"lr:" in store.file_content(ENTITY, project, run_id, "config.yaml")


@pytest.mark.parametrize("version", VERSIONS)
def test_basic_run(server: LiveServer, project: str, tmp_path: Path, version: str) -> None:
    result = ok(server.run_client(version, "basic", project, tmp_path=tmp_path))
    run_id = last_line(result, "RUN_ID")
    check_basic(server.store, project, run_id, version=version, state="finished", exit_code=0)


def test_basic_run_on_postgresql(pg_server: LiveServer, project: str, tmp_path: Path) -> None:
    result = ok(pg_server.run_client(LATEST, "basic", project, tmp_path=tmp_path))
    run_id = last_line(result, "RUN_ID")
    check_basic(pg_server.store, project, run_id, version=LATEST, state="finished", exit_code=0)


@pytest.mark.parametrize("version", [LATEST, OLDER[-1]])
def test_failing_run_keeps_its_exit_code(server: LiveServer, project: str, tmp_path: Path, version: str) -> None:
    result = server.run_client(version, "basic", project, "3", tmp_path=tmp_path)
    run_id = last_line(result, "RUN_ID")
    check_basic(server.store, project, run_id, version=version, state="failed", exit_code=3)


def test_long_run_streams_and_heartbeats(server: LiveServer, project: str, tmp_path: Path) -> None:
    proc = server.start_client(LATEST, "long", project, tmp_path=tmp_path)
    store = server.store
    assert proc.stdout is not None
    run_id = proc.stdout.readline().split()[-1]
    # Rows arrive while the run is still going (periodic file_stream), not only at the end.
    wait_for(lambda: len(list(store.history(ENTITY, project, run_id))) >= 10, what="rows of a live run")
    assert proc.poll() is None
    assert proc.stdout.readline().strip() == "IDLE"
    first = store.get_run(ENTITY, project, run_id)
    assert first.state == "running"
    # Nothing is logged while idle: only heartbeats move the run's heartbeat forward.
    wait_for(
        lambda: store.get_run(ENTITY, project, run_id).heartbeat_at > first.heartbeat_at + 1.5,
        timeout=10,
        what="a heartbeat while idle",
    )
    assert proc.wait(timeout=60) == 0
    run = store.get_run(ENTITY, project, run_id)
    assert run.state == "finished"
    rows = list(store.history(ENTITY, project, run_id))
    assert [r["_step"] for r in rows] == list(range(31))
    assert [r["loss"] for r in rows] == pytest.approx([1 / (i + 1) for i in range(30)] + [0.0])
    assert store.system_history(ENTITY, project, run_id)


def test_tqdm_bar_is_stored_once_in_its_final_state(server: LiveServer, project: str, tmp_path: Path) -> None:
    result = ok(server.run_client(LATEST, "tqdm_bar", project, tmp_path=tmp_path))
    run_id = last_line(result, "RUN_ID")
    lines = [(c.stream, c.text) for c in server.store.console(ENTITY, project, run_id)]
    texts = [text for _stream, text in lines]
    bars = [text for text in texts if text.startswith("training:")]
    assert len(bars) == 1, lines
    assert "100%" in bars[0] and "30/30" in bars[0]
    assert texts.index("before the bar") < texts.index(bars[0]) < texts.index("after the bar")
    assert [n.line_no for n in server.store.console(ENTITY, project, run_id)] == list(range(len(lines)))
    assert len(list(server.store.history(ENTITY, project, run_id))) == 30


def test_artifact_calls_leave_the_run_whole(
    server: LiveServer, project: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    result = ok(server.run_client(LATEST, "artifact", project, tmp_path=tmp_path))
    run_id = last_line(result, "RUN_ID")
    run = server.store.get_run(ENTITY, project, run_id)
    assert run.state == "finished"
    assert [r["x"] for r in server.store.history(ENTITY, project, run_id)] == [0, 1]
