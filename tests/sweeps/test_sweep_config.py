"""Sweep configs: W&B's schema, its distributions, and errors that name the key at fault."""

from __future__ import annotations

import math
import random
import statistics
from pathlib import Path

import pytest

from runyard.errors import SweepConfigError
from runyard.sweeps.command import expand_command
from runyard.sweeps.config import DISTRIBUTIONS, load_sweep_config, parse_sweep_config
from runyard.sweeps.sampling import sample
from runyard.sweeps.search import nested_config


def _cfg(params: dict, **top: object) -> dict:
    return {"method": "random", "metric": {"name": "loss", "goal": "minimize"}, "parameters": params, **top}


def test_a_yaml_config_with_every_kind_of_parameter(tmp_path: Path) -> None:
    path = tmp_path / "sweep.yaml"
    path.write_text(
        """
program: train.py
method: bayes
metric: {name: val_loss, goal: minimize, target: 0.1}
run_cap: 20
early_terminate: {type: hyperband, min_iter: 2, eta: 2}
parameters:
  lr: {distribution: log_uniform_values, min: 0.0001, max: 0.1}
  batch: {values: [16, 32, 64]}
  epochs: {value: 5}
  layers: {min: 1, max: 4}
  dropout: {min: 0.0, max: 0.5}
  optimizer:
    parameters:
      momentum: {distribution: q_uniform, min: 0.5, max: 0.9, q: 0.1}
      name: {values: [sgd, adam]}
command:
  - ${env}
  - ${interpreter}
  - ${program}
  - ${args_no_boolean_flags}
"""
    )
    cfg = load_sweep_config(path)
    kinds = {p.name: p.distribution for p in cfg.params}
    assert kinds == {
        "lr": "log_uniform_values",
        "batch": "categorical",
        "epochs": "constant",
        "layers": "int_uniform",
        "dropout": "uniform",
        "optimizer.momentum": "q_uniform",
        "optimizer.name": "categorical",
    }
    assert cfg.metric is not None and cfg.metric.target == 0.1 and cfg.run_cap == 20
    assert cfg.early_terminate is not None and cfg.early_terminate.bands == (2, 4, 8)
    assert cfg.command[-1] == "${args_no_boolean_flags}"


@pytest.mark.parametrize(
    ("config", "key"),
    [
        ({"parameters": {"x": {"values": [1]}}}, "method"),
        ({"method": "newton", "parameters": {"x": {"values": [1]}}}, "method"),
        ({"method": "grid"}, "parameters"),
        ({"method": "grid", "parameters": {"x": {"values": [1]}}, "metirc": {}}, "metirc"),
        ({"method": "bayes", "parameters": {"x": {"min": 0.0, "max": 1.0}}}, "metric"),
        (_cfg({"x": {"min": 0.0, "max": 1.0}}, metric={"goal": "minimize"}), "metric.name"),
        (_cfg({"x": {"min": 0.0, "max": 1.0}}, metric={"name": "l", "goal": "down"}), "metric.goal"),
        (_cfg({"x": {"min": 1.0, "max": 0.5}}), "parameters.x.max"),
        (_cfg({"x": {"min": 0.5}}), "parameters.x.max"),
        (_cfg({"x": {"distribution": "log_uniform_values", "min": 0.0, "max": 1.0}}), "parameters.x.min"),
        (_cfg({"x": {"distribution": "int_uniform", "min": 0.5, "max": 3}}), "parameters.x.min"),
        (_cfg({"x": {"distribution": "gamma", "min": 0, "max": 3}}), "parameters.x.distribution"),
        (_cfg({"x": {"distribution": "beta", "a": 1.0}}), "parameters.x.b"),
        (_cfg({"x": {"values": []}}), "parameters.x.values"),
        (_cfg({"x": {"values": [1, 2], "probabilities": [0.5, 0.6]}}), "parameters.x.probabilities"),
        (_cfg({"x": {"vals": [1, 2]}}), "parameters.x.vals"),
        (_cfg({"o": {"parameters": {"lr": {"min": 1.0, "max": 0.0}}}}), "parameters.o.lr.max"),
        ({"method": "grid", "parameters": {"x": {"min": 0.0, "max": 1.0}}}, "parameters.x"),
        (_cfg({"x": {"value": 1}}, early_terminate={"type": "hyperband"}), "early_terminate.min_iter"),
        (_cfg({"x": {"value": 1}}, early_terminate={"type": "median"}), "early_terminate.type"),
        (_cfg({"x": {"value": 1}}, early_terminate={"type": "hyperband", "max_iter": 27}), "early_terminate.s"),
        (_cfg({"x": {"value": 1}}, early_terminate={"type": "hyperband", "min_iter": 3, "eta": 1}), "eta"),
        (_cfg({"x": {"value": 1}}, command=["python", "${argz}"]), "command[1]"),
        (_cfg({"x": {"value": 1}}, run_cap=0), "run_cap"),
        (_cfg({"x": {"value": 1}}, metric=None, metrics=[{"name": "a"}, {"name": "a"}]), "metrics"),
    ],
)
def test_invalid_configs_name_the_key(config: dict, key: str) -> None:
    with pytest.raises(SweepConfigError) as err:
        parse_sweep_config(config)
    assert str(err.value).startswith("Invalid sweep config: ")
    assert key in str(err.value)


def test_a_missing_or_broken_file_says_so(tmp_path: Path) -> None:
    with pytest.raises(SweepConfigError, match="cannot read"):
        load_sweep_config(tmp_path / "nope.yaml")
    (tmp_path / "bad.yaml").write_text("method: [grid\n")
    with pytest.raises(SweepConfigError, match="not valid YAML"):
        load_sweep_config(tmp_path / "bad.yaml")


_SPECS = {
    "constant": ({"value": "x"}, lambda xs: set(xs) == {"x"}),
    "categorical": ({"values": [1, "a"], "probabilities": [0.8, 0.2]}, lambda xs: 0.75 < xs.count(1) / len(xs) < 0.85),
    "int_uniform": ({"min": 2, "max": 5}, lambda xs: set(xs) == {2, 3, 4, 5}),
    "uniform": (
        {"min": -1.0, "max": 1.0},
        lambda xs: min(xs) >= -1 and max(xs) <= 1 and abs(statistics.mean(xs)) < 0.1,
    ),
    "q_uniform": ({"min": 0.0, "max": 1.0, "q": 0.25}, lambda xs: set(xs) == {0.0, 0.25, 0.5, 0.75, 1.0}),
    "log_uniform": ({"min": math.log(1e-4), "max": math.log(1.0)}, lambda xs: min(xs) >= 1e-4 and max(xs) <= 1),
    "log_uniform_values": (
        {"min": 1e-4, "max": 1.0},
        lambda xs: 0.4 < sum(x < 1e-2 for x in xs) / len(xs) < 0.6,  # half the draws below the geometric middle
    ),
    "q_log_uniform": ({"min": 0.0, "max": math.log(100), "q": 1}, lambda xs: all(isinstance(x, int) for x in xs)),
    "q_log_uniform_values": ({"min": 1, "max": 1000, "q": 10}, lambda xs: all(x % 10 == 0 for x in xs)),
    "inv_log_uniform": ({"min": 0.0, "max": math.log(10)}, lambda xs: min(xs) >= 0.1 and max(xs) <= 1),
    "inv_log_uniform_values": ({"min": 1.0, "max": 10.0}, lambda xs: min(xs) >= 0.1 and max(xs) <= 1),
    "normal": (
        {"mu": 10.0, "sigma": 2.0},
        lambda xs: abs(statistics.mean(xs) - 10) < 0.3 and 1.7 < statistics.stdev(xs) < 2.3,
    ),
    "q_normal": ({"mu": 0.0, "sigma": 5.0, "q": 2}, lambda xs: all(x % 2 == 0 for x in xs)),
    "log_normal": ({"mu": 0.0, "sigma": 1.0}, lambda xs: min(xs) > 0 and 0.9 < statistics.median(xs) < 1.1),
    "q_log_normal": ({"mu": 3.0, "sigma": 1.0, "q": 5}, lambda xs: all(x % 5 == 0 for x in xs)),
    "beta": (
        {"a": 2.0, "b": 5.0},
        lambda xs: min(xs) >= 0 and max(xs) <= 1 and abs(statistics.mean(xs) - 2 / 7) < 0.03,
    ),
    "q_beta": ({"a": 2.0, "b": 2.0, "q": 0.5}, lambda xs: set(xs) <= {0.0, 0.5, 1.0}),
}


def test_every_w_and_b_distribution_is_covered() -> None:
    assert set(_SPECS) == set(DISTRIBUTIONS)


@pytest.mark.parametrize("dist", sorted(_SPECS))
def test_each_distribution_draws_as_documented(dist: str) -> None:
    spec, check = _SPECS[dist]
    cfg = parse_sweep_config(_cfg({"x": {"distribution": dist, **spec}}))
    rng = random.Random(7)
    draws = [sample(cfg.params[0], rng) for _ in range(2000)]
    assert check(draws), draws[:20]


def test_command_macros_expand_as_w_and_b_does(tmp_path: Path) -> None:
    params = nested_config({"lr": 0.1, "fast": True, "slow": False, "opt.name": "adam"})
    assert params == {"lr": 0.1, "fast": True, "slow": False, "opt": {"name": "adam"}}
    cmd = ["${env}", "${interpreter}", "${program}", "${args}", "${args_no_hyphens}", "${args_no_boolean_flags}"]
    argv = expand_command(cmd, program="train.py", params=params, json_file=tmp_path / "p.json")
    assert argv[0].endswith("env") and "python" in Path(argv[1]).name and argv[2] == "train.py"
    assert argv[3:7] == ["--lr=0.1", "--fast=True", "--slow=False", '--opt={"name": "adam"}']
    assert argv[7:11] == ["lr=0.1", "fast=True", "slow=False", 'opt={"name": "adam"}']
    assert argv[11:] == ["--lr=0.1", "--fast", '--opt={"name": "adam"}']
    hydra = ["${args_no_equals}", "${args_append_hydra}", "${args_override_hydra}"]
    argv = expand_command(hydra, program=None, params={"lr": 0.1}, json_file=tmp_path / "p.json")
    assert argv == ["--lr", "0.1", "+lr=0.1", "++lr=0.1"]
    argv = expand_command(
        ["${args_json}", "${args_json_file}"], program=None, params=params, json_file=tmp_path / "p.json"
    )
    assert argv[0] == (tmp_path / "p.json").read_text() and argv[1] == str(tmp_path / "p.json")
