"""What ``log()`` accepts and how it is stored, and ``run.config`` with W&B's rules."""

from __future__ import annotations

import argparse
import dataclasses
import math
import subprocess
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import runyard
from runyard.errors import ConfigError

INF = float("inf")

# -- values --------------------------------------------------------------------------------------------------


def test_plain_values_are_stored_as_logged(stored):
    run = runyard.init()
    run.log({"i": 1, "f": 0.5, "b": True, "s": "warmup", "n": None, "mixed": 1})
    run.log({"i": 2, "f": float("nan"), "b": False, "s": "train", "n": None, "mixed": 2.5})
    run.log({"i": 3, "f": INF, "b": True, "s": "", "n": None, "mixed": float("nan")})
    run.log({"i": -(2**40), "f": -INF, "b": False, "s": "ünïcode", "n": None, "mixed": -INF})
    run.finish()

    rows = stored.history(run)
    assert [r["_step"] for r in rows] == [0, 1, 2, 3]
    ints = [r["i"] for r in rows]
    assert ints == [1, 2, 3, -(2**40)]
    assert all(type(v) is int for v in ints)
    floats = [r["f"] for r in rows]
    assert floats[0] == 0.5
    assert math.isnan(floats[1])
    assert floats[2] == INF
    assert floats[3] == -INF
    assert all(type(v) is float for v in floats)
    assert [r["b"] for r in rows] == [True, False, True, False]
    assert all(type(r["b"]) is bool for r in rows)
    assert [r["s"] for r in rows] == ["warmup", "train", "", "ünïcode"]
    assert all("n" in r and r["n"] is None for r in rows)
    mixed = [r["mixed"] for r in rows]
    assert mixed[0] == 1 and type(mixed[0]) is int
    assert mixed[1] == 2.5
    assert math.isnan(mixed[2])
    assert mixed[3] == -INF

    summary = stored.run(run).summary
    assert summary["i"] == -(2**40)
    assert summary["f"] == -INF
    assert summary["b"] is False
    assert summary["s"] == "ünïcode"
    assert summary["mixed"] == -INF


def test_non_finite_summary_values_round_trip(stored):
    run = runyard.init()
    run.log({"nan": float("nan"), "pinf": INF, "ninf": -INF})
    run.finish()
    summary = stored.run(run).summary
    assert math.isnan(summary["nan"])
    assert summary["pinf"] == INF
    assert summary["ninf"] == -INF
    assert math.isnan(run.summary["nan"])


def test_numpy_values_become_python_values(stored):
    run = runyard.init()
    run.log(
        {
            "f32": np.float32(0.1),
            "f64": np.float64(2.5),
            "i64": np.int64(7),
            "u8": np.uint8(255),
            "npbool": np.bool_(True),
            "npnan": np.float64("nan"),
            "vec": np.array([1, 2, 3]),
            "mat": np.zeros((2, 2), dtype=np.float32),
        }
    )
    run.finish()
    [row] = stored.history(run)
    assert row["f32"] == float(np.float32(0.1))
    assert type(row["f32"]) is float
    assert row["f64"] == 2.5 and type(row["f64"]) is float
    assert row["i64"] == 7 and type(row["i64"]) is int
    assert row["u8"] == 255 and type(row["u8"]) is int
    assert row["npbool"] is True
    assert math.isnan(row["npnan"])
    assert row["vec"] == [1, 2, 3]
    assert row["mat"] == [[0.0, 0.0], [0.0, 0.0]]
    assert run.summary["f32"] == float(np.float32(0.1))
    assert type(run.summary["f32"]) is float
    assert stored.run(run).summary["vec"] == [1, 2, 3]


def test_lists_and_tuples_of_numbers_are_kept(stored):
    run = runyard.init()
    run.log(
        {
            "lst": [1, 2.5, 3],
            "tup": (4, 5),
            "empty": [],
            "nested": [[1, 2], [3, 4]],
            "words": ["a", "b"],
            "mixed": [1, None, True, "x"],
        }
    )
    run.finish()
    [row] = stored.history(run)
    assert row["words"] == ["a", "b"]
    assert row["mixed"] == [1, None, True, "x"]
    assert row["lst"] == [1, 2.5, 3]
    assert row["tup"] == [4, 5]
    assert row["empty"] == []
    assert row["nested"] == [[1, 2], [3, 4]]
    assert stored.run(run).summary["tup"] == [4, 5]


def test_nested_dicts_flatten_in_history_and_nest_in_summary(stored):
    run = runyard.init()
    run.log({"train": {"loss": 0.5, "acc": 0.75}, "lr": 0.1})
    run.log({"train": {"loss": 0.25, "deep": {"x": 1}}})
    assert run.summary["train"] == {"loss": 0.25, "acc": 0.75, "deep": {"x": 1}}
    run.finish()

    rows = stored.user_rows(run)
    assert rows == [
        {"_step": 0, "train.loss": 0.5, "train.acc": 0.75, "lr": 0.1},
        {"_step": 1, "train.loss": 0.25, "train.deep.x": 1},
    ]
    keys = stored.store(run).history_keys(run.entity, run.project, run.id)
    assert {"train.loss", "train.acc", "train.deep.x", "lr"} <= set(keys)
    assert "train" not in keys
    summary = stored.run(run).summary
    assert summary["train"] == {"loss": 0.25, "acc": 0.75, "deep": {"x": 1}}
    assert "train.loss" not in summary
    assert summary["lr"] == 0.1


def test_nested_rows_merge_with_commit_false(stored):
    run = runyard.init()
    run.log({"val": {"loss": 1.0}}, commit=False)
    run.log({"val": {"acc": 0.5}})
    run.finish()
    assert stored.user_rows(run) == [{"_step": 0, "val.loss": 1.0, "val.acc": 0.5}]
    assert stored.run(run).summary["val"] == {"loss": 1.0, "acc": 0.5}


@pytest.mark.parametrize(
    ("value", "key", "type_name"),
    [
        (object(), "bad", "object"),
        ({1, 2}, "bad", "set"),
        ([1, object()], "bad", "object"),
        ({"inner": {3}}, "bad.inner", "set"),
        (np.array([object()], dtype=object), "bad", "numpy.ndarray"),
    ],
    ids=["object", "set", "list-with-object", "nested-set", "object-array"],
)
def test_unsupported_value_raises_and_stores_nothing_of_the_call(stored, value, key, type_name):
    run = runyard.init()
    run.log({"ok": 1})
    run.log({"p": 1}, commit=False)
    with pytest.raises(TypeError) as caught:
        run.log({"fine": 2, "bad": value})
    message = str(caught.value)
    assert repr(key) in message or key in message
    assert type_name in message
    assert run.step == 1
    assert "fine" not in run.summary
    assert "bad" not in run.summary
    run.log({"ok": 2})
    run.finish()

    assert stored.user_rows(run) == [{"_step": 0, "ok": 1}, {"_step": 1, "p": 1, "ok": 2}]
    summary = stored.run(run).summary
    assert "fine" not in summary
    assert "bad" not in summary


def test_unsupported_value_through_module_log(stored):
    run = runyard.init()
    runyard.log({"ok": 1})
    with pytest.raises(TypeError, match=r"obj.*object"):
        runyard.log({"obj": object()})
    run.finish()
    assert stored.user_rows(run) == [{"_step": 0, "ok": 1}]


def test_torch_tensors(stored):
    torch = pytest.importorskip("torch")
    run = runyard.init()
    weights = torch.ones(3, requires_grad=True)
    run.log(
        {
            "scalar": torch.tensor(1.5),
            "int_scalar": torch.tensor(3),
            "vec": torch.tensor([1.0, 2.0]),
            "mat": torch.tensor([[1, 2], [3, 4]]),
            "grad": weights * 2,
            "nan": torch.tensor(float("nan")),
        }
    )
    run.finish()
    [row] = stored.history(run)
    assert row["scalar"] == 1.5 and type(row["scalar"]) is float
    assert row["int_scalar"] == 3 and type(row["int_scalar"]) is int
    assert row["vec"] == [1.0, 2.0]
    assert row["mat"] == [[1, 2], [3, 4]]
    assert row["grad"] == [2.0, 2.0, 2.0]
    assert math.isnan(row["nan"])
    assert stored.run(run).summary["scalar"] == 1.5


def test_import_runyard_imports_no_numpy_torch_or_sqlalchemy(tmp_path, child_env):
    code = (
        "import runyard, sys; "
        "assert 'numpy' not in sys.modules and 'torch' not in sys.modules and 'sqlalchemy' not in sys.modules"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, env=child_env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr


def test_offline_logging_imports_no_numpy_or_torch(tmp_path, child_env):
    code = (
        "import sys, runyard\n"
        "run = runyard.init(mode='offline', config={'lr': 0.1})\n"
        "run.log({'loss': 0.5, 'nested': {'a': 1}, 'lst': [1, 2]})\n"
        "run.summary['best'] = 0.5\n"
        "run.finish()\n"
        "assert 'numpy' not in sys.modules, 'numpy'\n"
        "assert 'torch' not in sys.modules, 'torch'\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, env=child_env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr


# -- config: access and the allow_val_change rule ------------------------------------------------------------


def test_config_dict_and_attribute_access(stored):
    run = runyard.init(config={"lr": 0.1, "layers": [64, 32], "optim": {"name": "adam", "beta": 0.9}})
    assert run.config["lr"] == 0.1
    assert run.config.lr == 0.1
    assert runyard.config.lr == 0.1
    assert runyard.config is run.config
    assert run.config.optim == {"name": "adam", "beta": 0.9}
    assert run.config.get("missing", 7) == 7
    assert "lr" in run.config
    assert "missing" not in run.config
    with pytest.raises(KeyError):
        run.config["missing"]
    with pytest.raises(AttributeError):
        run.config.missing  # noqa: B018

    run.config.epochs = 10
    run.config["batch_size"] = 32
    run.config.update({"dropout": 0.2})
    run.config.update(seed=3)
    runyard.config.update({"warmup": 5})
    runyard.config.momentum = 0.5
    expected = {
        "lr": 0.1,
        "layers": [64, 32],
        "optim": {"name": "adam", "beta": 0.9},
        "epochs": 10,
        "batch_size": 32,
        "dropout": 0.2,
        "seed": 3,
        "warmup": 5,
        "momentum": 0.5,
    }
    assert dict(run.config) == expected
    assert run.config.as_dict() == expected
    run.finish()
    assert stored.run(run).config == expected


def test_changing_a_config_value_needs_allow_val_change(stored):
    run = runyard.init(config={"lr": 0.1, "name": "a"})
    with pytest.raises(ConfigError, match="allow_val_change"):
        run.config.update({"lr": 0.2})
    with pytest.raises(ConfigError, match="allow_val_change"):
        run.config.lr = 0.3
    with pytest.raises(ConfigError, match="allow_val_change"):
        run.config["name"] = "b"
    with pytest.raises(ConfigError, match="allow_val_change"):
        runyard.config.update({"lr": 0.4})
    assert isinstance(ConfigError("x"), runyard.Error)
    assert run.config.lr == 0.1

    run.config.update({"lr": 0.1, "name": "a"})  # the same values again are fine
    run.config.lr = 0.1
    run.config.update({"lr": 0.5}, allow_val_change=True)
    assert run.config.lr == 0.5
    run.finish()
    assert stored.run(run).config == {"lr": 0.5, "name": "a"}


def test_failed_config_update_changes_nothing(stored):
    run = runyard.init(config={"lr": 0.1})
    with pytest.raises(ConfigError):
        run.config.update({"new_key": 1, "lr": 0.2})
    assert "new_key" not in run.config
    run.finish()
    assert stored.run(run).config == {"lr": 0.1}


def test_init_allow_val_change(stored):
    run = runyard.init(config={"lr": 0.1}, allow_val_change=True)
    run.config.lr = 0.2
    run.config.update({"lr": 0.3})
    assert run.config.lr == 0.3
    run.finish()
    assert stored.run(run).config == {"lr": 0.3}


# -- config sources ------------------------------------------------------------------------------------------


@dataclasses.dataclass
class HyperParams:
    lr: float = 0.01
    batch_size: int = 64
    arch: str = "resnet"


class ToDictConfig:
    def __init__(self) -> None:
        self.hidden = "not this"

    def to_dict(self) -> dict[str, Any]:
        return {"lr": 0.02, "depth": 4}


class FrozenMapping(Mapping[str, Any]):
    def __init__(self, data: dict[str, Any]) -> None:
        self._data = dict(data)

    def __getitem__(self, key: str) -> Any:
        return self._data[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)


def _namespace() -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    parser.add_argument("--lr", type=float, default=0.1)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--use-amp", action="store_true")
    return parser.parse_args(["--lr", "0.003", "--epochs", "5", "--use-amp"])


def _pydantic_model() -> Any:
    pydantic = pytest.importorskip("pydantic")

    class TrainConfig(pydantic.BaseModel):
        lr: float = 0.05
        optimizer: str = "sgd"
        layers: tuple[int, ...] = (8, 4)

    return TrainConfig()


SOURCES = {
    "dict": (lambda tmp: {"lr": 0.1, "nested": {"a": 1}}, {"lr": 0.1, "nested": {"a": 1}}),
    "namespace": (lambda tmp: _namespace(), {"lr": 0.003, "epochs": 5, "use_amp": True}),
    "dataclass": (lambda tmp: HyperParams(), {"lr": 0.01, "batch_size": 64, "arch": "resnet"}),
    "pydantic": (lambda tmp: _pydantic_model(), {"lr": 0.05, "optimizer": "sgd", "layers": [8, 4]}),
    "to_dict": (lambda tmp: ToDictConfig(), {"lr": 0.02, "depth": 4}),
    "mapping": (lambda tmp: FrozenMapping({"lr": 0.3, "seed": 1}), {"lr": 0.3, "seed": 1}),
}


@pytest.mark.parametrize("source", sorted(SOURCES))
def test_config_sources_in_init(stored, tmp_path, source):
    make, expected = SOURCES[source]
    run = runyard.init(config=make(tmp_path))
    assert dict(run.config) == expected
    run.finish()
    assert stored.run(run).config == expected


@pytest.mark.parametrize("source", sorted(SOURCES))
def test_config_sources_in_update(stored, tmp_path, source):
    make, expected = SOURCES[source]
    run = runyard.init()
    run.config.update(make(tmp_path))
    assert dict(run.config) == expected
    run.finish()
    assert stored.run(run).config == expected


PLAIN_YAML = """\
lr: 0.001
batch_size: 16
optimizer:
  name: adam
  betas: [0.9, 0.999]
"""

WANDB_YAML = """\
wandb_version: 1

lr:
  desc: learning rate
  value: 0.001
batch_size:
  desc: null
  value: 16
optimizer:
  value:
    name: adam
    betas: [0.9, 0.999]
"""

YAML_EXPECTED = {"lr": 0.001, "batch_size": 16, "optimizer": {"name": "adam", "betas": [0.9, 0.999]}}


@pytest.mark.parametrize("text", [PLAIN_YAML, WANDB_YAML], ids=["plain", "wandb-form"])
@pytest.mark.parametrize("as_path", [False, True], ids=["str", "Path"])
def test_config_from_yaml_file(stored, tmp_path, text, as_path):
    path = tmp_path / "config-defaults.yaml"
    path.write_text(text, encoding="utf-8")
    run = runyard.init(config=path if as_path else str(path))
    assert dict(run.config) == YAML_EXPECTED
    run.finish()
    assert stored.run(run).config == YAML_EXPECTED


def test_config_update_from_yaml_file(stored, tmp_path):
    path = tmp_path / "extra.yaml"
    path.write_text(WANDB_YAML, encoding="utf-8")
    run = runyard.init(config={"seed": 0})
    run.config.update(str(path))
    run.finish()
    assert stored.run(run).config == {"seed": 0, **YAML_EXPECTED}


def test_leading_dashes_are_stripped_from_config_keys(stored):
    run = runyard.init(config={"--lr": 0.1, "-v": True})
    run.config.update({"--batch-size": 8})
    assert run.config["lr"] == 0.1
    assert run.config["v"] is True
    assert run.config["batch-size"] == 8
    assert "--lr" not in run.config
    run.finish()
    assert stored.run(run).config == {"lr": 0.1, "v": True, "batch-size": 8}


def test_config_exclude_keys(stored):
    run = runyard.init(config={"lr": 0.1, "secret": "hunter2", "epochs": 3}, config_exclude_keys=["secret"])
    assert dict(run.config) == {"lr": 0.1, "epochs": 3}
    run.finish()
    assert stored.run(run).config == {"lr": 0.1, "epochs": 3}


def test_config_include_keys(stored):
    run = runyard.init(config={"lr": 0.1, "secret": "hunter2", "epochs": 3}, config_include_keys=["lr", "epochs"])
    assert dict(run.config) == {"lr": 0.1, "epochs": 3}
    run.finish()
    assert stored.run(run).config == {"lr": 0.1, "epochs": 3}


def test_config_include_and_exclude_keys_together_are_refused():
    with pytest.raises(runyard.Error, match="config_include_keys"):
        runyard.init(config={"a": 1}, config_include_keys=["a"], config_exclude_keys=["b"])
    assert runyard.run is None


def test_config_setdefaults(stored):
    run = runyard.init(config={"lr": 0.1})
    run.config.setdefaults({"lr": 0.5, "epochs": 3})
    assert dict(run.config) == {"lr": 0.1, "epochs": 3}
    run.finish()
    assert stored.run(run).config == {"lr": 0.1, "epochs": 3}


def test_assigning_runyard_config_after_init_records_it(stored):
    run = runyard.init(config={"lr": 0.1})
    runyard.config = {"epochs": 5, "arch": "mlp"}
    assert run.config["epochs"] == 5
    assert runyard.config.arch == "mlp"
    run.finish()
    assert stored.run(run).config == {"lr": 0.1, "epochs": 5, "arch": "mlp"}


def test_runyard_config_before_init_says_to_call_init():
    with pytest.raises(runyard.Error, match="init"):
        runyard.config = {"lr": 0.1}
    with pytest.raises(runyard.Error, match="init"):
        runyard.config["lr"]
    with pytest.raises(runyard.Error, match="init"):
        runyard.config.update({"lr": 0.1})
    with pytest.raises(runyard.Error, match="init"):
        runyard.config.lr = 0.1
    with pytest.raises(runyard.Error, match="init"):
        runyard.summary["x"] = 1
    assert runyard.run is None


def test_config_after_finish_goes_back_to_pre_init():
    run = runyard.init(config={"lr": 0.1})
    run.finish()
    with pytest.raises(runyard.Error, match="init"):
        runyard.config["lr"]
    assert run.config["lr"] == 0.1


def test_config_values_are_stored_as_plain_values(stored, tmp_path):
    run = runyard.init(
        config={"path": Path("data") / "train", "np": np.float32(0.5), "arr": np.arange(3), "tup": (1, 2)}
    )
    assert run.config["np"] == 0.5
    assert run.config["arr"] == [0, 1, 2]
    assert run.config["tup"] == [1, 2]
    run.finish()
    config = stored.run(run).config
    assert config["np"] == 0.5
    assert config["arr"] == [0, 1, 2]
    assert config["tup"] == [1, 2]
    assert config["path"] == str(Path("data") / "train")
