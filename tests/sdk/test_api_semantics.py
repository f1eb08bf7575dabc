"""W&B run semantics, checked against what the store holds: steps, summary, define_metric, run properties,
init parameters and environment, modes, resume, the ``with`` block and the module-level functions."""

from __future__ import annotations

import getpass
import os
import subprocess
import sys
import time
import uuid
import warnings
from pathlib import Path

import pytest

import runyard
from runyard.errors import ResumeError

# -- steps ---------------------------------------------------------------------------------------------------


def test_log_without_step_numbers_rows_from_zero(stored):
    run = runyard.init()
    assert run.step == 0
    for i in range(3):
        runyard.log({"loss": i / 10})
        assert run.step == i + 1
    run.finish()
    assert stored.user_rows(run) == [
        {"_step": 0, "loss": 0.0},
        {"_step": 1, "loss": 0.1},
        {"_step": 2, "loss": 0.2},
    ]
    assert stored.run(run).last_step == 2


def test_rows_carry_step_runtime_and_timestamp(stored):
    before = time.time()
    run = runyard.init()
    for i in range(3):
        run.log({"x": i})
    run.finish()
    after = time.time()
    rows = stored.history(run)
    assert len(rows) == 3
    for row in rows:
        assert set(row) == {"_step", "_runtime", "_timestamp", "x"}
        assert type(row["_step"]) is int
        assert isinstance(row["_runtime"], float)
        assert 0.0 <= row["_runtime"] <= after - before + 1
        assert before - 1 <= row["_timestamp"] <= after + 1
    runtimes = [r["_runtime"] for r in rows]
    assert runtimes == sorted(runtimes)
    summary = stored.run(run).summary
    assert summary["_step"] == 2
    assert summary["_runtime"] == rows[-1]["_runtime"]
    assert summary["_timestamp"] == rows[-1]["_timestamp"]


def test_commit_false_merges_into_one_row(stored):
    run = runyard.init()
    run.log({"a": 1}, commit=False)
    assert run.step == 0
    run.log({"b": 2}, commit=False)
    run.log({"c": 3})
    assert run.step == 1
    run.log({"a": 4})
    run.finish()
    assert stored.user_rows(run) == [{"_step": 0, "a": 1, "b": 2, "c": 3}, {"_step": 1, "a": 4}]


def test_commit_false_overrides_a_key_within_the_row(stored):
    run = runyard.init()
    run.log({"a": 1}, commit=False)
    run.log({"a": 2})
    run.finish()
    assert stored.user_rows(run) == [{"_step": 0, "a": 2}]


def test_pending_row_is_committed_at_finish(stored):
    run = runyard.init()
    run.log({"a": 1})
    run.log({"b": 2}, commit=False)
    run.finish()
    assert stored.user_rows(run) == [{"_step": 0, "a": 1}, {"_step": 1, "b": 2}]
    assert stored.run(run).summary["b"] == 2


def test_explicit_larger_step_flushes_the_pending_row(stored):
    run = runyard.init()
    run.log({"a": 1}, commit=False)
    run.log({"b": 2}, step=5)
    assert run.step == 5
    run.log({"c": 3}, step=5)
    run.finish()
    assert stored.user_rows(run) == [{"_step": 0, "a": 1}, {"_step": 5, "b": 2, "c": 3}]
    assert stored.run(run).last_step == 5


def test_explicit_step_waits_for_a_larger_step_or_finish(stored):
    run = runyard.init()
    run.log({"a": 1}, step=2)
    run.log({"b": 1}, step=2)
    assert run.step == 2
    stored.settle(run)
    assert stored.history(run) == []

    run.log({"a": 2}, step=3)
    stored.settle(run)
    assert stored.user_rows(run) == [{"_step": 2, "a": 1, "b": 1}]

    run.log({"z": 0}, step=7, commit=True)  # commit=True commits at once
    assert run.step == 8
    stored.settle(run)
    assert [r["_step"] for r in stored.history(run)] == [2, 3, 7]

    run.log({"a": 9}, step=9)
    run.finish()
    assert stored.user_rows(run) == [
        {"_step": 2, "a": 1, "b": 1},
        {"_step": 3, "a": 2},
        {"_step": 7, "z": 0},
        {"_step": 9, "a": 9},
    ]


def test_log_without_step_after_explicit_step_commits_at_that_step(stored):
    run = runyard.init()
    run.log({"a": 1}, step=4)
    run.log({"b": 2})
    assert run.step == 5
    run.log({"c": 3})
    run.finish()
    assert stored.user_rows(run) == [{"_step": 4, "a": 1, "b": 2}, {"_step": 5, "c": 3}]


def test_documented_step_forms_are_equivalent(stored):
    """The three equivalent forms from the ``Run.log`` docstring store the same history."""
    implicit = runyard.init()
    implicit.log({"train-loss": 0.5, "accuracy": 0.8})
    implicit.log({"train-loss": 0.4, "accuracy": 0.9})
    implicit.finish()

    commit_false = runyard.init()
    commit_false.log({"train-loss": 0.5}, commit=False)
    commit_false.log({"accuracy": 0.8})
    commit_false.log({"train-loss": 0.4}, commit=False)
    commit_false.log({"accuracy": 0.9})
    commit_false.finish()

    explicit = runyard.init()
    current_step = 0
    explicit.log({"train-loss": 0.5}, step=current_step)
    explicit.log({"accuracy": 0.8}, step=current_step)
    current_step += 1
    explicit.log({"train-loss": 0.4}, step=current_step)
    explicit.log({"accuracy": 0.9}, step=current_step)
    explicit.finish()

    expected = [
        {"_step": 0, "train-loss": 0.5, "accuracy": 0.8},
        {"_step": 1, "train-loss": 0.4, "accuracy": 0.9},
    ]
    for run in (implicit, commit_false, explicit):
        assert stored.user_rows(run) == expected
        summary = stored.run(run).summary
        assert summary["train-loss"] == 0.4
        assert summary["accuracy"] == 0.9
        assert summary["_step"] == 1


def test_smaller_step_is_dropped_with_a_warning(stored):
    run = runyard.init()
    for i in range(3):
        run.log({"x": i})
    with pytest.warns(UserWarning, match="less than the current step"):
        run.log({"late": 1, "x": 100}, step=1)
    with pytest.warns(UserWarning, match="less than the current step"):
        runyard.log({"late": 2}, step=0, commit=True)
    assert run.step == 3
    assert "late" not in run.summary
    assert run.summary["x"] == 2
    run.log({"x": 3})
    run.finish()
    assert stored.user_rows(run) == [{"_step": i, "x": i} for i in range(4)]
    summary = stored.run(run).summary
    assert "late" not in summary
    assert summary["x"] == 3


def test_smaller_step_after_explicit_step_is_dropped(stored):
    run = runyard.init()
    run.log({"a": 1}, step=10)
    with pytest.warns(UserWarning, match="less than the current step"):
        run.log({"b": 1}, step=9)
    run.finish()
    assert stored.user_rows(run) == [{"_step": 10, "a": 1}]


# -- summary -------------------------------------------------------------------------------------------------


def test_summary_holds_the_last_logged_value(stored):
    run = runyard.init()
    for loss in (3.0, 1.0, 2.0):
        run.log({"loss": loss, "epoch": int(loss)})
    assert run.summary["loss"] == 2.0
    assert run.summary.loss == 2.0
    assert run.summary["_step"] == 2
    run.finish()
    summary = stored.run(run).summary
    assert summary["loss"] == 2.0
    assert summary["epoch"] == 2
    assert summary["_step"] == 2


def test_explicit_summary_writes_override_until_logged_again(stored):
    run = runyard.init()
    run.log({"loss": 0.5, "acc": 0.1})
    run.summary["loss"] = 0.25
    run.summary.update({"acc": 0.9, "best_epoch": 3})
    run.summary.note = "hello"
    assert run.summary["loss"] == 0.25
    stored.settle(run)
    summary = stored.run(run).summary
    assert summary["loss"] == 0.25
    assert summary["acc"] == 0.9
    assert summary["best_epoch"] == 3
    assert summary["note"] == "hello"

    run.log({"loss": 0.75})
    assert run.summary["loss"] == 0.75
    run.finish()
    summary = stored.run(run).summary
    assert summary["loss"] == 0.75
    assert summary["acc"] == 0.9
    assert summary["best_epoch"] == 3
    # the history keeps what was logged; explicit summary writes are not history
    assert [r["loss"] for r in stored.history(run)] == [0.5, 0.75]
    assert "best_epoch" not in stored.store(run).history_keys(run.entity, run.project, run.id)


def test_summary_module_attribute_follows_the_active_run(stored):
    run = runyard.init()
    assert runyard.summary is run.summary
    runyard.summary["best"] = 1.5
    runyard.summary.update({"other": 2})
    assert run.summary["best"] == 1.5
    run.finish()
    with pytest.raises(runyard.Error, match="init"):
        runyard.summary["best"]
    summary = stored.run(run).summary
    assert summary["best"] == 1.5
    assert summary["other"] == 2


def test_summary_delete(stored):
    run = runyard.init()
    run.summary["tmp"] = 1
    run.summary["keep"] = 2
    del run.summary["tmp"]
    assert "tmp" not in run.summary
    run.finish()
    summary = stored.run(run).summary
    assert "tmp" not in summary
    assert summary["keep"] == 2


def _metrics_by_name(record):
    return {m["name"]: m for m in record.metrics}


def test_define_metric_summary_aggregates(stored):
    run = runyard.init()
    run.define_metric("loss", summary="min")
    run.define_metric("acc", summary="max")
    run.define_metric("lr", summary="mean")
    run.define_metric("epoch", summary="first")
    runyard.define_metric("val", summary="last")
    run.define_metric("both", summary="min,max")
    run.define_metric("secret", summary="none")
    run.define_metric("copied", summary="copy")
    columns = {
        "loss": [3, 1, 2],
        "acc": [0.1, 0.9, 0.5],
        "lr": [1.0, 2.0, 3.0],
        "epoch": [5, 6, 7],
        "val": [5, 6, 7],
        "both": [4, 2, 8],
        "secret": [1, 2, 3],
        "plain": [1, 2, 3],
        "copied": [9, 8, 7],
    }
    for i in range(3):
        run.log({key: values[i] for key, values in columns.items()})
    expected = {
        "loss": {"min": 1},
        "acc": {"max": 0.9},
        "lr": {"mean": 2.0},
        "epoch": {"first": 5},
        "val": {"last": 7},
        "both": {"min": 2, "max": 8},
        "plain": 3,
        "copied": 7,
    }
    for key, value in expected.items():
        assert run.summary[key] == value, key
    assert "secret" not in run.summary
    run.finish()

    record = stored.run(run)
    for key, value in expected.items():
        assert record.summary[key] == value, key
    assert "secret" not in record.summary
    assert [r["secret"] for r in stored.history(run)] == [1, 2, 3]  # "none" hides it from the summary only
    metrics = _metrics_by_name(record)
    assert metrics["loss"]["summary"] == ["min"]
    assert sorted(metrics["both"]["summary"]) == ["max", "min"]
    assert metrics["secret"]["summary"] == ["none"]
    assert metrics["lr"]["summary"] == ["mean"]


def test_define_metric_best_uses_the_goal(stored):
    # W&B: "best" is used together with the goal parameter (deprecated, still accepted).
    run = runyard.init()
    run.define_metric("loss", summary="best", goal="minimize")
    run.define_metric("acc", summary="best", goal="maximize")
    for loss, acc in ((2.0, 0.5), (1.0, 0.9), (3.0, 0.7)):
        run.log({"loss": loss, "acc": acc})
    assert run.summary["loss"] == {"best": 1.0}
    assert run.summary["acc"] == {"best": 0.9}
    run.finish()
    summary = stored.run(run).summary
    assert summary["loss"] == {"best": 1.0}
    assert summary["acc"] == {"best": 0.9}


def test_define_metric_rejects_what_wandb_rejects():
    run = runyard.init()
    with pytest.raises(runyard.Error):
        run.define_metric("")
    with pytest.raises(runyard.Error):
        run.define_metric("a*b")
    with pytest.raises(runyard.Error):
        run.define_metric("loss", summary="median")
    with pytest.raises(runyard.Error):
        run.define_metric("loss", goal="sideways")
    run.define_metric("loss", summary="MIN")  # W&B lower-cases summary ops
    run.finish()


def test_define_metric_globs(stored):
    run = runyard.init()
    run.define_metric("train/*", summary="max")
    run.define_metric("train/loss", summary="min")  # an exact name beats the glob
    for a, loss, other in ((1, 5, 1), (3, 4, 2), (2, 6, 3)):
        run.log({"train/a": a, "train/loss": loss, "other": other})
    assert run.summary["train/a"] == {"max": 3}
    assert run.summary["train/loss"] == {"min": 4}
    assert run.summary["other"] == 3
    run.finish()
    record = stored.run(run)
    assert record.summary["train/a"] == {"max": 3}
    assert record.summary["train/loss"] == {"min": 4}
    assert record.summary["other"] == 3
    assert {"train/*", "train/loss"} <= set(_metrics_by_name(record))


def test_define_metric_star_glob_leaves_underscore_keys_alone(stored):
    run = runyard.init()
    run.define_metric("*", summary="min")
    for x in (2, 1, 3):
        run.log({"x": x, "y": -x})
    run.finish()
    summary = stored.run(run).summary
    assert summary["x"] == {"min": 1}
    assert summary["y"] == {"min": -3}
    assert summary["_step"] == 2
    assert run.summary["x"] == {"min": 1}


def test_define_metric_step_metric_and_step_sync(stored):
    run = runyard.init()
    run.define_metric("epoch")
    metric = run.define_metric("val_acc", step_metric="epoch")
    assert metric.step_metric == "epoch"
    assert metric.step_sync is True
    run.define_metric("val/*", step_metric="epoch")
    run.define_metric("nosync", step_metric="epoch", step_sync=False)
    run.log({"val_acc": 0.1})  # no epoch logged yet: nothing to copy
    run.log({"epoch": 1, "train_loss": 0.5})
    run.log({"val_acc": 0.7, "val/loss": 0.3, "nosync": 1})
    run.log({"epoch": 2})
    run.log({"val_acc": 0.8})
    run.log({"epoch": 5, "val_acc": 0.9})  # a row with its own step value keeps it
    run.finish()

    rows = stored.user_rows(run)
    assert rows == [
        {"_step": 0, "val_acc": 0.1},
        {"_step": 1, "epoch": 1, "train_loss": 0.5},
        {"_step": 2, "val_acc": 0.7, "val/loss": 0.3, "nosync": 1, "epoch": 1},
        {"_step": 3, "epoch": 2},
        {"_step": 4, "val_acc": 0.8, "epoch": 2},
        {"_step": 5, "epoch": 5, "val_acc": 0.9},
    ]
    metrics = _metrics_by_name(stored.run(run))
    assert metrics["val_acc"]["step_metric"] == "epoch"
    assert metrics["val_acc"]["step_sync"] is True
    assert metrics["val/*"]["step_metric"] == "epoch"
    assert metrics["nosync"]["step_sync"] is False


def test_step_sync_without_the_sync_key_in_the_row(stored):
    run = runyard.init()
    run.define_metric("nosync", step_metric="epoch", step_sync=False)
    run.log({"epoch": 1})
    run.log({"nosync": 1})
    run.finish()
    assert stored.user_rows(run) == [{"_step": 0, "epoch": 1}, {"_step": 1, "nosync": 1}]


def test_define_metric_overwrite_false_merges(stored):
    run = runyard.init()
    run.define_metric("loss", summary="min", goal="minimize")
    merged = run.define_metric("loss", summary="max", overwrite=False)
    assert set(merged.summary) == {"min", "max"}
    assert merged.goal == "minimize"
    run.define_metric("acc", summary="min", step_metric="epoch")
    replaced = run.define_metric("acc", summary="max", overwrite=True)
    assert replaced.summary == ("max",)
    assert replaced.step_metric is None
    for loss, acc in ((2, 0.1), (1, 0.2), (3, 0.3)):
        run.log({"loss": loss, "acc": acc})
    assert run.summary["loss"] == {"min": 1, "max": 3}
    assert run.summary["acc"] == {"max": 0.3}
    run.finish()

    record = stored.run(run)
    assert record.summary["loss"] == {"min": 1, "max": 3}
    assert record.summary["acc"] == {"max": 0.3}
    metrics = _metrics_by_name(record)
    assert sorted(metrics["loss"]["summary"]) == ["max", "min"]
    assert metrics["loss"]["goal"] == "minimize"
    assert metrics["acc"]["summary"] == ["max"]
    assert metrics["acc"]["step_metric"] is None


def test_define_metric_on_nested_keys(stored):
    run = runyard.init()
    run.define_metric("train.loss", summary="min")
    for loss in (2.0, 1.0, 1.5):
        run.log({"train": {"loss": loss, "acc": loss / 2}})
    run.finish()
    summary = stored.run(run).summary
    assert summary["train"] == {"loss": {"min": 1.0}, "acc": 0.75}
    assert run.summary["train"] == {"loss": {"min": 1.0}, "acc": 0.75}


# -- run properties ------------------------------------------------------------------------------------------


def test_run_properties(stored, entity):
    before = time.time()
    run = runyard.init(
        project="props",
        id="prop123",
        name="first-name",
        notes="first notes",
        tags=["a", "b"],
        group="grp",
        job_type="train",
        config={"lr": 0.1},
    )
    assert runyard.run is run
    assert run.id == "prop123"
    assert run.name == "first-name"
    assert run.notes == "first notes"
    assert tuple(run.tags) == ("a", "b")
    assert run.group == "grp"
    assert run.job_type == "train"
    assert run.project == "props"
    assert run.entity == entity == getpass.getuser()
    assert run.path == f"{entity}/props/prop123"
    assert run.url is None  # no server has served the store yet (tests/server/test_server_cli.py: with one)
    assert os.path.isdir(run.dir)
    assert before - 1 <= run.start_time <= time.time() + 1
    assert run.step == 0
    assert run.config is runyard.config
    assert run.config["lr"] == 0.1
    assert run.summary is runyard.summary
    run.log({"x": 1})
    assert run.step == 1

    run.name = "second-name"
    run.notes = "second notes"
    run.tags = ["c", "d", "e"]
    assert run.name == "second-name"
    assert run.notes == "second notes"
    assert tuple(run.tags) == ("c", "d", "e")
    marked = time.time()
    run.mark_preempting()
    run.finish()

    record = stored.run(run)
    assert record.preempting_at == pytest.approx(marked, abs=1)
    assert record.state == "finished"  # as in W&B, the mark does not change the state
    assert record.run_id == "prop123"
    assert record.entity == entity
    assert record.project == "props"
    assert record.name == "second-name"
    assert record.notes == "second notes"
    assert record.tags == ["c", "d", "e"]
    assert record.group == "grp"
    assert record.job_type == "train"
    assert record.config == {"lr": 0.1}
    assert record.created_at == pytest.approx(run.start_time, abs=1)


def test_run_gets_a_generated_id_and_name(stored):
    run = runyard.init()
    assert run.id and "/" not in run.id
    assert run.name
    other_id = run.id
    run.finish()
    assert stored.run(run).name == run.name
    second = runyard.init()
    assert second.id != other_id
    second.finish()


def test_run_dir_keeps_files_after_finish():
    run = runyard.init()
    path = Path(run.dir) / "notes.txt"
    path.write_text("kept")
    run.finish()
    assert path.read_text() == "kept"


# -- init parameters and environment -------------------------------------------------------------------------


def test_init_accepts_every_wandb_parameter(stored, tmp_path):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        run = runyard.init(
            job_type="train",
            dir=str(tmp_path / "elsewhere"),
            config={"lr": 0.1, "drop": 1},
            project="allparams",
            entity="team-x",
            reinit="finish_previous",
            tags=["t1"],
            group="g",
            name="n",
            notes="some notes",
            magic=False,
            config_exclude_keys=["drop"],
            config_include_keys=None,
            anonymous="never",
            mode="online",
            allow_val_change=False,
            resume=None,
            force=False,
            tensorboard=False,
            sync_tensorboard=False,
            monitor_gym=False,
            save_code=False,
            id="allparams1",
            fork_from=None,
            resume_from=None,
            settings=runyard.Settings(silent=True),
        )
        run.log({"x": 1})
        run.finish()
    assert [w for w in caught if issubclass(w.category, UserWarning)] == []
    assert run.settings.dir == (tmp_path / "elsewhere").absolute()
    assert run.settings.data_dir == (tmp_path / "elsewhere" / "runyard").absolute()
    if run.settings.store_url.startswith("sqlite"):
        assert (tmp_path / "elsewhere" / "runyard" / "runyard.db").is_file()
    record = stored.run(run)
    assert record.entity == "team-x"
    assert record.project == "allparams"
    assert record.name == "n"
    assert record.notes == "some notes"
    assert record.tags == ["t1"]
    assert record.group == "g"
    assert record.job_type == "train"
    assert record.config == {"lr": 0.1}
    assert record.state == "finished"


def test_unknown_init_keyword_warns_once(stored):
    name = f"foo_{uuid.uuid4().hex[:8]}"  # warnings are once per process: a name no other test used
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        run = runyard.init(**{name: 1})
        run.finish()
        runyard.init(**{name: 2}).finish()
    user_warnings = [w for w in caught if issubclass(w.category, UserWarning)]
    assert len(user_warnings) == 1
    assert f"{name}=1" in str(user_warnings[0].message)
    assert user_warnings[0].filename == __file__
    assert stored.run(run).state == "finished"


def test_env_project_runyard_before_wandb(monkeypatch, stored):
    monkeypatch.setenv("WANDB_PROJECT", "from-wandb")
    run = runyard.init()
    assert run.project == "from-wandb"
    run.finish()
    monkeypatch.setenv("RUNYARD_PROJECT", "from-runyard")
    run = runyard.init()
    assert run.project == "from-runyard"
    run.finish()
    assert stored.run(run).project == "from-runyard"
    run = runyard.init(project="explicit")
    assert run.project == "explicit"
    run.finish()


def test_env_run_parameters(monkeypatch, stored):
    monkeypatch.setenv("RUNYARD_NAME", "env-name")
    monkeypatch.setenv("RUNYARD_NOTES", "env notes")
    monkeypatch.setenv("RUNYARD_TAGS", "a,b")
    monkeypatch.setenv("RUNYARD_RUN_ID", "envid1")
    monkeypatch.setenv("RUNYARD_RUN_GROUP", "env-group")
    monkeypatch.setenv("RUNYARD_JOB_TYPE", "eval")
    run = runyard.init()
    assert run.id == "envid1"
    assert run.name == "env-name"
    assert run.notes == "env notes"
    assert tuple(run.tags) == ("a", "b")
    assert run.group == "env-group"
    assert run.job_type == "eval"
    run.finish()
    record = stored.run(run)
    assert record.run_id == "envid1"
    assert record.name == "env-name"
    assert record.notes == "env notes"
    assert record.tags == ["a", "b"]
    assert record.group == "env-group"
    assert record.job_type == "eval"


def test_env_entity(monkeypatch, stored):
    monkeypatch.setenv("WANDB_ENTITY", "wandb-team")
    run = runyard.init()
    assert run.entity == "wandb-team"
    run.finish()
    monkeypatch.setenv("RUNYARD_ENTITY", "runyard-team")
    run = runyard.init()
    assert run.entity == "runyard-team"
    assert run.path == f"runyard-team/Uncategorized/{run.id}"
    run.finish()
    assert stored.run(run).entity == "runyard-team"


def test_env_wandb_run_parameters(monkeypatch):
    monkeypatch.setenv("WANDB_NAME", "wandb-name")
    monkeypatch.setenv("WANDB_RUN_GROUP", "wandb-group")
    monkeypatch.setenv("WANDB_TAGS", "x,y")
    run = runyard.init(name="explicit-name")
    assert run.name == "explicit-name"
    assert run.group == "wandb-group"
    assert tuple(run.tags) == ("x", "y")
    run.finish()


def test_env_resume_with_run_id(monkeypatch, stored):
    first = runyard.init(id="envres1")
    first.log({"x": 1})
    first.finish()
    monkeypatch.setenv("WANDB_RUN_ID", "envres1")
    monkeypatch.setenv("WANDB_RESUME", "allow")
    second = runyard.init()
    assert second.id == "envres1"
    assert second.resumed
    second.log({"x": 2})
    second.finish()
    assert stored.user_rows(second) == [{"_step": 0, "x": 1}, {"_step": 1, "x": 2}]


def test_env_mode_disabled(monkeypatch, isolated_root):
    monkeypatch.setenv("RUNYARD_MODE", "disabled")
    run = runyard.init(project="p")
    assert run.disabled
    run.log({"x": 1})
    run.finish()
    assert not isolated_root.exists()


def test_env_wandb_mode_disabled(monkeypatch, isolated_root):
    monkeypatch.setenv("WANDB_MODE", "disabled")
    with runyard.init() as run:
        assert run.disabled
        run.log({"x": 1})
    assert not isolated_root.exists()


def test_wandb_only_settings_are_accepted(stored):
    run = runyard.init(settings=runyard.Settings(start_method="thread", _disable_stats=True, console="off"))
    run.log({"x": 1})
    run.finish()
    run = runyard.init(settings={"start_method": "fork", "silent": True})
    run.finish()
    assert stored.run(run).state == "finished"


def test_wandb_silent(monkeypatch, capsys):
    monkeypatch.delenv("RUNYARD_SILENT")
    run = runyard.init()
    run.finish()
    assert "runyard" in capsys.readouterr().err  # not silent: init and finish say where the run went

    monkeypatch.setenv("WANDB_SILENT", "true")
    run = runyard.init()
    run.log({"x": 1})
    run.finish()
    captured = capsys.readouterr()
    assert captured.err == ""
    assert captured.out == ""


def test_reinit_default_returns_the_active_run(stored):
    first = runyard.init(config={"lr": 0.1})
    assert runyard.init() is first
    assert runyard.init(reinit=False) is first
    assert runyard.init(reinit="return_previous") is first
    assert runyard.run is first
    first.finish()
    assert stored.run(first).state == "finished"
    assert len(stored.store(first).list_runs(first.entity, first.project)) == 1


@pytest.mark.parametrize("reinit", ["finish_previous", True])
def test_reinit_finish_previous(stored, reinit):
    first = runyard.init()
    first.log({"x": 1})
    second = runyard.init(reinit=reinit)
    assert second is not first
    assert runyard.run is second
    assert stored.run(first).state == "finished"
    assert stored.user_rows(first) == [{"_step": 0, "x": 1}]
    with pytest.raises(runyard.Error):
        first.log({"x": 2})
    second.finish()
    assert stored.run(second).state == "finished"


def test_reinit_create_new_keeps_the_previous_run_active(stored):
    first = runyard.init()
    second = runyard.init(reinit="create_new")
    try:
        assert second is not first
        assert second.id != first.id
        assert runyard.run is first
        runyard.log({"a": 1})  # goes to the active run
        second.log({"b": 2})
        second.finish()
        assert runyard.run is first
        stored.settle(first)
        assert stored.run(first).state == "running"
    finally:
        second.finish()
    first.finish()
    assert stored.user_rows(first) == [{"_step": 0, "a": 1}]
    assert stored.user_rows(second) == [{"_step": 0, "b": 2}]
    assert stored.run(first).state == "finished"
    assert stored.run(second).state == "finished"


# -- modes ---------------------------------------------------------------------------------------------------


def test_disabled_mode_accepts_every_call_and_writes_nothing(tmp_path, isolated_root):
    run = runyard.init(mode="disabled", project="p", config={"lr": 0.1}, tags=["t"])
    assert runyard.run is run
    assert run.disabled
    run.log({"x": 1})
    runyard.log({"x": 2}, step=5)
    runyard.log({"y": {"z": 1}}, commit=False)
    run.config.update({"epochs": 3})
    run.config.batch = 16
    runyard.config.update({"seed": 0})
    runyard.config = {"extra": 1}
    run.summary["best"] = 1.0
    run.summary.update({"other": 2})
    runyard.summary["third"] = 3
    run.define_metric("x", summary="max")
    runyard.define_metric("y.*", step_metric="x")
    run.name = "renamed"
    run.notes = "notes"
    run.tags = ["u"]
    run.mark_preempting()
    assert run.config["epochs"] == 3
    assert run.config.lr == 0.1
    _ = run.dir, run.url, run.path, run.step, run.id
    runyard.finish()
    assert runyard.run is None
    assert not isolated_root.exists()
    assert not (tmp_path / "runyard").exists()


def test_disabled_mode_with_block_and_settings(isolated_root):
    with runyard.init(settings=runyard.Settings(mode="disabled")) as run:
        run.log({"x": 1})
    assert runyard.run is None
    with runyard.init(mode="disabled") as run:
        run.log({"x": 1})
    assert not isolated_root.exists()


def _sync(root: Path, *paths: Path, force: bool = False) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "runyard.cli", "sync", *map(str, paths), "--dir", str(root.parent)]
    if force:
        command.append("--force")
    done = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    return done


def test_offline_mode_needs_sync(stored, isolated_root, entity):
    run = runyard.init(mode="offline", project="off", id="off1", config={"lr": 0.1}, tags=["offline"])
    assert run.offline
    run.define_metric("loss", summary="min")
    for i in range(5):
        run.log({"loss": 1 / (i + 1), "nested": {"a": i}})
    run.summary["best"] = 0.2
    run.name = "offline-name"
    run.finish()
    db = isolated_root / "runyard.db"
    assert not db.exists() or stored.store(isolated_root).get_run(entity, "off", "off1") is None
    assert run.run_log_path is not None and run.run_log_path.is_file()

    _sync(isolated_root, isolated_root / "runs")
    record = stored.store(isolated_root).get_run(entity, "off", "off1")
    assert record is not None
    assert record.state == "finished"
    assert record.exit_code == 0
    assert record.name == "offline-name"
    assert record.tags == ["offline"]
    assert record.config == {"lr": 0.1}
    assert record.summary["best"] == 0.2
    assert record.summary["loss"] == {"min": 0.2}
    assert record.summary["nested"] == {"a": 4}
    assert record.last_step == 4
    rows = stored.user_rows(run)
    assert rows == [{"_step": i, "loss": 1 / (i + 1), "nested.a": i} for i in range(5)]

    _sync(isolated_root, isolated_root / "runs")
    _sync(isolated_root, isolated_root / "runs", force=True)
    _sync(isolated_root, run.run_log_path, force=True)
    assert stored.user_rows(run) == rows
    assert len(stored.store(isolated_root).list_runs(entity, "off")) == 1


# -- resume --------------------------------------------------------------------------------------------------


def test_resume_must_on_a_missing_run_raises(stored, isolated_root, entity):
    with pytest.raises(ResumeError):
        runyard.init(id="missing1", resume="must")
    assert issubclass(ResumeError, runyard.Error)
    assert runyard.run is None
    with pytest.raises(ResumeError):
        runyard.init(resume="must")  # no id to resume
    db = isolated_root / "runyard.db"
    assert not db.exists() or stored.store(isolated_root).get_run(entity, "Uncategorized", "missing1") is None


def test_resume_never_on_an_existing_run_raises(stored):
    first = runyard.init(id="dup1")
    first.log({"x": 1})
    first.finish()
    with pytest.raises(ResumeError):
        runyard.init(id="dup1", resume="never")
    assert runyard.run is None
    assert stored.user_rows(first) == [{"_step": 0, "x": 1}]
    assert stored.run(first).state == "finished"


def test_resume_allow_on_a_missing_run_creates_it(stored):
    run = runyard.init(id="fresh1", resume="allow")
    assert not run.resumed
    assert run.step == 0
    run.log({"x": 1})
    run.finish()
    assert stored.user_rows(run) == [{"_step": 0, "x": 1}]


def test_resume_allow_continues_the_run(stored):
    first = runyard.init(id="res1", project="resume", config={"lr": 0.1}, name="keep-me", tags=["t"])
    first.define_metric("m", summary="mean")
    for i in range(3):
        first.log({"loss": float(i), "m": i + 1})
    first.summary["best"] = 9
    first.finish()

    second = runyard.init(id="res1", project="resume", resume="allow")
    assert second.resumed
    assert second.id == "res1"
    assert second.step == 3
    assert second.name == "keep-me"
    assert tuple(second.tags) == ("t",)
    assert second.config["lr"] == 0.1
    assert second.summary["loss"] == 2.0
    assert second.summary["best"] == 9
    assert second.summary["m"] == {"mean": 2.0}
    second.log({"loss": 10.0, "m": 6})
    assert second.summary["m"] == {"mean": 3.0}
    second.config.update({"epochs": 2})
    second.finish()

    record = stored.run(second)
    assert record.state == "finished"
    assert record.last_step == 3
    assert record.config == {"lr": 0.1, "epochs": 2}
    assert record.summary["loss"] == 10.0
    assert record.summary["best"] == 9
    assert record.summary["m"] == {"mean": 3.0}
    assert record.name == "keep-me"
    assert stored.user_rows(second) == [
        {"_step": 0, "loss": 0.0, "m": 1},
        {"_step": 1, "loss": 1.0, "m": 2},
        {"_step": 2, "loss": 2.0, "m": 3},
        {"_step": 3, "loss": 10.0, "m": 6},
    ]
    runtimes = [r["_runtime"] for r in stored.history(second)]
    assert runtimes == sorted(runtimes)
    assert len(stored.store(second).list_runs(second.entity, "resume")) == 1


def test_resume_must_continues_a_finished_run(stored):
    first = runyard.init(id="res2")
    first.log({"x": 1})
    first.finish()
    assert stored.run(first).state == "finished"

    second = runyard.init(id="res2", resume="must")
    assert second.resumed
    assert second.step == 1
    stored.settle(second)
    assert stored.run(second).state == "running"
    second.log({"x": 2})
    second.finish()
    record = stored.run(second)
    assert record.state == "finished"
    assert record.exit_code == 0
    assert stored.user_rows(second) == [{"_step": 0, "x": 1}, {"_step": 1, "x": 2}]


def test_resume_after_explicit_steps_continues_after_the_last_step(stored):
    first = runyard.init(id="res3")
    first.log({"x": 1}, step=40)
    first.finish()
    second = runyard.init(id="res3", resume="allow")
    assert second.step == 41
    second.log({"x": 2})
    with pytest.warns(UserWarning, match="less than the current step"):
        second.log({"x": 3}, step=10)
    second.finish()
    assert stored.user_rows(second) == [{"_step": 40, "x": 1}, {"_step": 41, "x": 2}]


def test_resume_auto_continues_a_run_that_did_not_finish(stored):
    first = runyard.init(resume="auto", project="auto")
    first.log({"x": 1})
    first.finish(exit_code=1)  # the run failed: the next resume="auto" run picks it up
    second = runyard.init(resume="auto", project="auto")
    assert second.id == first.id
    assert second.resumed
    assert second.step == 1
    second.log({"x": 2})
    second.finish()
    assert stored.user_rows(second) == [{"_step": 0, "x": 1}, {"_step": 1, "x": 2}]
    assert stored.run(second).state == "finished"
    third = runyard.init(resume=True, project="auto")  # the last run finished: start a new one
    assert third.id != first.id
    assert not third.resumed
    third.finish()


# -- the with block and exit states --------------------------------------------------------------------------


def test_with_block_finishes_the_run(stored):
    with runyard.init() as run:
        run.log({"x": 1})
        assert runyard.run is run
    assert runyard.run is None
    record = stored.run(run)
    assert record.state == "finished"
    assert record.exit_code == 0


def test_exception_in_with_block_fails_the_run_and_propagates(stored):
    with pytest.raises(ValueError, match="boom"), runyard.init() as run:
        run.log({"x": 1})
        raise ValueError("boom")
    assert runyard.run is None
    record = stored.run(run)
    assert record.state == "failed"
    assert record.exit_code == 1
    assert stored.user_rows(run) == [{"_step": 0, "x": 1}]


def test_keyboard_interrupt_in_with_block_kills_the_run(stored):
    with pytest.raises(KeyboardInterrupt), runyard.init() as run:
        run.log({"x": 1}, commit=False)
        raise KeyboardInterrupt
    assert runyard.run is None
    record = stored.run(run)
    assert record.state == "killed"
    assert stored.user_rows(run) == [{"_step": 0, "x": 1}]


def test_finish_with_exit_code_fails_the_run(stored):
    run = runyard.init()
    runyard.finish(exit_code=3)
    assert runyard.run is None
    record = stored.run(run)
    assert record.state == "failed"
    assert record.exit_code == 3


def test_finish_twice_is_harmless(stored):
    run = runyard.init()
    run.finish()
    run.finish()
    runyard.finish()
    assert stored.run(run).state == "finished"


# -- module functions ----------------------------------------------------------------------------------------


def test_module_functions_before_init_say_to_call_init():
    with pytest.raises(runyard.Error, match="init"):
        runyard.log({"x": 1})
    with pytest.raises(runyard.Error, match="init"):
        runyard.define_metric("x", summary="max")
    runyard.finish()  # nothing to finish: a no-op, as in W&B
    assert runyard.run is None


def test_log_after_finish_says_to_call_init():
    run = runyard.init()
    run.finish()
    with pytest.raises(runyard.Error, match="init"):
        runyard.log({"x": 1})


def test_login_returns_true():
    assert runyard.login() is True
    assert runyard.login(key="0" * 40, relogin=True) is True


def test_watch_refuses_what_is_not_a_torch_model_and_the_run_goes_on(stored):
    # watch() itself is tested with torch in tests/media/test_watch.py
    run = runyard.init()

    class Model:
        def parameters(self):
            return iter(())

    with pytest.raises(TypeError, match="torch model"):
        runyard.watch(Model())
    with pytest.raises(TypeError, match="torch model"):
        run.watch(object())
    runyard.unwatch(Model())
    run.unwatch()
    run.log({"x": 1})
    run.finish()
    assert stored.run(run).state == "finished"
