"""The wandb names real scripts use, each behaving as in wandb or as a documented no-op with one warning:
``errors``, ``util.generate_id``, ``termlog``/``termwarn``/``termerror``, ``require``, ``setup``, ``teardown``,
``mark_preempting``, ``AlertLevel``/``alert``, the ``init()`` arguments runyard does not act on, and nested
summary values changed in place.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import uuid
import warnings

import pytest

import runyard
import runyard as wandb
from runyard import errors


def _user_warnings(caught: list[warnings.WarningMessage]) -> list[str]:
    return [str(w.message) for w in caught if issubclass(w.category, UserWarning)]


# -- errors and util -------------------------------------------------------------------------------------------


def test_wandb_error_names_exist_and_catch_what_runyard_raises(isolated_root):
    assert issubclass(errors.CommError, errors.Error)
    assert issubclass(errors.AuthenticationError, errors.CommError)
    assert issubclass(errors.UnsupportedError, errors.UsageError)
    assert errors.CommError("no server", ValueError("x")).message == "no server"
    assert isinstance(errors.CommError("x", KeyError("k")).exc, KeyError)
    # W&B's Api().run() of a missing run raises CommError; code catching it keeps working with runyard.
    runyard.init(project="errs").finish()
    with pytest.raises(wandb.errors.CommError, match="Could not find run") as raised:
        wandb.Api().run("errs/nope")
    assert isinstance(raised.value, errors.NotFoundError)
    assert raised.value.message.startswith("Could not find run")


def test_util_generate_id_makes_wandb_style_ids():
    ids = {wandb.util.generate_id() for _ in range(200)}
    assert len(ids) == 200
    assert all(len(i) == 8 and set(i) <= set("abcdefghijklmnopqrstuvwxyz0123456789") for i in ids)
    from runyard.util import generate_id

    assert len(generate_id(16)) == 16
    with pytest.raises(ValueError, match="positive"):
        generate_id(0)


def test_a_generated_id_resumes_a_run(stored):
    run_id = wandb.util.generate_id()
    first = wandb.init(project="gen", id=run_id)
    first.log({"x": 1})
    first.finish()
    second = wandb.init(project="gen", id=run_id, resume="must")
    second.log({"x": 2})
    second.finish()
    assert [row["x"] for row in stored.history(second)] == [1, 2]


# -- terminal messages -----------------------------------------------------------------------------------------


def test_termlog_termwarn_termerror_print_to_stderr(monkeypatch, capsys):
    monkeypatch.delenv("RUNYARD_SILENT")
    wandb.termlog("hello")
    wandb.termwarn("careful\nsecond line")
    wandb.termerror("broken")
    wandb.termlog("no prefix", prefix=False, newline=False)
    text = f"said once {uuid.uuid4().hex}"
    wandb.termlog(text, repeat=False)
    wandb.termlog(text, repeat=False)
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == (
        "runyard: hello\n"
        "runyard: WARNING careful\n"
        "runyard: WARNING second line\n"
        "runyard: ERROR broken\n"
        "no prefix"
        f"runyard: {text}\n"
    )
    wandb.termsetup(None, None)


def test_term_messages_follow_silent(monkeypatch, capsys):
    monkeypatch.setenv("RUNYARD_SILENT", "true")
    wandb.termlog("hidden")
    wandb.termerror("hidden too")
    assert capsys.readouterr().err == ""
    monkeypatch.delenv("RUNYARD_SILENT")
    run = wandb.init(settings={"silent": True})
    capsys.readouterr()
    wandb.termwarn("the active run is silent")
    run.finish()
    assert capsys.readouterr().err == ""


# -- require, setup, teardown ----------------------------------------------------------------------------------


def test_require_accepts_wandbs_features_and_refuses_unknown_ones(monkeypatch, capsys):
    monkeypatch.delenv("RUNYARD_SILENT")
    wandb.require("service")
    wandb.require("core")
    wandb.require(experiment=["service", "core@beta"])
    wandb.require()
    assert capsys.readouterr().err == ""
    with pytest.raises(errors.UnsupportedError, match="unsupported requirement: nonsense"):
        wandb.require("nonsense")
    assert "WARNING require() unsupported requirement: nonsense" in capsys.readouterr().err


def test_setup_gives_defaults_that_init_settings_override(stored):
    wandb.setup(settings={"keep_run_log": True, "disable_stats": True})
    try:
        run = wandb.init(project="setup")
        assert run.settings.keep_run_log and run.settings.disable_stats
        run.finish()
        assert run.run_log_path is not None and run.run_log_path.exists()  # kept, as setup() said
        run = wandb.init(project="setup", settings=wandb.Settings(keep_run_log=False))
        assert not run.settings.keep_run_log and run.settings.disable_stats
        run.finish()
    finally:
        wandb.teardown()
    run = wandb.init(project="setup")
    assert not run.settings.keep_run_log  # teardown() forgot the defaults
    run.finish()


def test_teardown_finishes_every_run_of_the_process(stored):
    first = wandb.init(project="td")
    second = wandb.init(project="td", reinit="create_new")
    first.log({"x": 1})
    second.log({"y": 2})
    wandb.teardown()
    assert wandb.run is None
    assert stored.run(first).state == "finished" and stored.run(second).state == "finished"
    assert stored.history(second)[0]["y"] == 2
    wandb.teardown()  # nothing left: a no-op
    third = wandb.init(project="td")
    wandb.teardown(exit_code=3)
    assert (stored.run(third).state, stored.run(third).exit_code) == ("failed", 3)


# -- mark_preempting and alerts --------------------------------------------------------------------------------


def test_module_mark_preempting_marks_the_active_run(stored):
    with pytest.raises(runyard.Error, match=r"runyard.init\(\) before runyard.mark_preempting"):
        wandb.mark_preempting()
    run = wandb.init(project="preempt")
    marked = time.time()
    wandb.mark_preempting()
    run.finish()
    record = stored.run(run)
    assert record.preempting_at == pytest.approx(marked, abs=1)
    assert record.state == "finished"


def test_alert_is_a_documented_no_op_that_warns_once(stored):
    assert [level.value for level in wandb.AlertLevel] == ["INFO", "WARN", "ERROR"]
    with pytest.raises(runyard.Error, match="init"):
        wandb.alert(title="t", text="x")
    run = wandb.init(project="alerts")
    with pytest.raises(ValueError, match="level"):
        run.alert("t", "x", level="LOUD")
    with pytest.raises(TypeError, match="wait_duration"):
        run.alert("t", "x", wait_duration="soon")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        wandb.alert(title="diverged", text="loss is NaN", level=wandb.AlertLevel.ERROR, wait_duration=60)
        run.alert("again", "x", level="WARN")
    run.log({"x": 1})
    run.finish()
    said = _user_warnings(caught)
    # The first alert of the process warns (earlier tests of this process may have had it already).
    assert len(said) <= 1 and all("alerts are not supported yet" in text for text in said)
    assert stored.run(run).state == "finished"


_CHILD = """
import json, sys, warnings
import runyard as wandb
warnings.simplefilter("always")
out = {}
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    for _ in range(2):
        run = wandb.init(project="args", sync_tensorboard=True, save_code=True, monitor_gym=True,
                         tensorboard=False, anonymous="allow", force=True, fork_from=None, resume_from=None)
        run.alert("a", "b")
        run.finish()
out["warnings"] = [str(w.message) for w in caught]
for name in ("fork_from", "resume_from"):
    try:
        wandb.init(project="args", **{name: "abc123?_step=10"})
        out[name] = "started"
    except wandb.errors.UnsupportedError as exc:
        out[name] = str(exc)
out["active"] = wandb.run is not None
runs = wandb.Api().runs("args")
out["runs"] = len(runs)
print("RESULT " + json.dumps(out))
"""


def test_init_arguments_without_effect_warn_once_and_fork_from_is_refused(tmp_path, child_env, stored):
    """In a fresh process (warnings are once per process): each ignored argument warns once, naming what does
    not happen; fork_from and resume_from are refused before any run starts."""
    env = {**child_env, "RUNYARD_DIR": str(tmp_path / "runyard"), "RUNYARD_SILENT": "1"}
    done = subprocess.run(
        [sys.executable, "-c", _CHILD], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout.split("RESULT ", 1)[1])
    said = out["warnings"]
    # sync_tensorboard, monitor_gym, and the alert; once each (save_code saves the main script: tests/artifacts)
    assert len(said) == 3, said
    assert sum("sync_tensorboard=True" in text and "TensorBoard" in text for text in said) == 1
    assert sum("monitor_gym=True" in text for text in said) == 1
    assert sum("alerts are not supported yet" in text for text in said) == 1
    assert "fork_from is not supported yet" in out["fork_from"] and "resume='must'" in out["fork_from"]
    assert "resume_from" in out["resume_from"] and "not supported yet" in out["resume_from"]
    assert out["active"] is False
    assert out["runs"] == 2  # the two runs that started; fork_from and resume_from made none


# -- nested summary values ------------------------------------------------------------------------------------


def test_nested_summary_changed_in_place_is_stored(stored):
    run = wandb.init(project="nested")
    run.log({"best": {"acc": 0.5, "loss": 1.0}, "x": 1})
    run.summary["best"]["acc"] = 0.95
    assert run.summary["best"] == {"acc": 0.95, "loss": 1.0}
    run.summary["deep"] = {"a": {"b": 1, "c": 2}}
    run.summary["deep"]["a"]["b"] = 5
    del run.summary["deep"]["a"]["c"]
    run.summary["deep"]["a"].update({"d": 4})
    assert run.summary["deep"]["a"].setdefault("e", 6) == 6
    assert run.summary["deep"]["a"].pop("e") == 6
    wandb.summary["best"]["note"] = "kept"
    json.dumps(run.summary.as_dict())  # nested values are plain JSON
    assert json.loads(json.dumps(run.summary["deep"])) == {"a": {"b": 5, "d": 4}}
    run.finish()
    summary = stored.run(run).summary
    assert summary["best"] == {"acc": 0.95, "loss": 1.0, "note": "kept"}
    assert summary["deep"] == {"a": {"b": 5, "d": 4}}


def test_nested_summary_edit_through_the_api_is_stored_by_update(stored):
    run = wandb.init(project="nested-api")
    run.log({"best": {"acc": 0.5, "loss": 1.0}})
    run.finish()
    with wandb.Api() as api:
        read = api.run(f"nested-api/{run.id}")
        read.summary["best"]["acc"] = 0.9  # W&B: stored by update() or summary.update()
        read.update()
        assert api.run(f"nested-api/{run.id}").summary["best"] == {"acc": 0.9, "loss": 1.0}
        read.summary["best"]["loss"] = 0.1
        read.summary.update()
    assert stored.run(run).summary["best"] == {"acc": 0.9, "loss": 0.1}
