"""Sweep configs as W&B documents them: parse, check and normalise a YAML file or a dict.

A sweep config names the search ``method``, the ``metric`` to optimise, the ``parameters`` to search, and
optionally ``program``/``command`` (what ``runyard agent`` runs), ``early_terminate`` (hyperband) and
``run_cap``. :func:`parse_sweep_config` returns a :class:`SweepConfig` or raises
:class:`~runyard.errors.SweepConfigError` naming the key at fault, as ``wandb sweep`` does.

Beyond W&B: ``method: tpe`` (Optuna's TPE), and ``metrics:`` (a list of ``{name, goal}``) for multi-objective
sweeps, whose result is a Pareto front.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from runyard.errors import SweepConfigError

__all__ = [
    "DISTRIBUTIONS",
    "METHODS",
    "Hyperband",
    "Objective",
    "Param",
    "SweepConfig",
    "load_sweep_config",
    "parse_sweep_config",
]

METHODS = ("grid", "random", "bayes", "tpe")
GOALS = ("minimize", "maximize")

# distribution -> the keys it needs (besides "distribution"); W&B's names and fields.
DISTRIBUTIONS: dict[str, tuple[str, ...]] = {
    "constant": ("value",),
    "categorical": ("values",),
    "int_uniform": ("min", "max"),
    "uniform": ("min", "max"),
    "q_uniform": ("min", "max"),
    "log_uniform": ("min", "max"),
    "log_uniform_values": ("min", "max"),
    "q_log_uniform": ("min", "max"),
    "q_log_uniform_values": ("min", "max"),
    "inv_log_uniform": ("min", "max"),
    "inv_log_uniform_values": ("min", "max"),
    "normal": ("mu", "sigma"),
    "q_normal": ("mu", "sigma"),
    "log_normal": ("mu", "sigma"),
    "q_log_normal": ("mu", "sigma"),
    "beta": ("a", "b"),
    "q_beta": ("a", "b"),
}
_PARAM_KEYS = frozenset(
    {"distribution", "value", "values", "probabilities", "min", "max", "mu", "sigma", "q", "a", "b", "parameters"}
)
_TOP_KEYS = frozenset(
    {
        "program",
        "method",
        "metric",
        "metrics",
        "parameters",
        "early_terminate",
        "command",
        "run_cap",
        "name",
        "description",
        "project",
        "entity",
        "controller",
        "job",
        "image_uri",
        "seed",
    }
)
_MACROS = (
    "${env}",
    "${interpreter}",
    "${program}",
    "${args}",
    "${args_no_hyphens}",
    "${args_json}",
    "${args_json_file}",
    "${args_no_boolean_flags}",
    "${args_no_equals}",
    "${args_append_hydra}",
    "${args_override_hydra}",
)
DEFAULT_COMMAND = ("${env}", "${interpreter}", "${program}", "${args}")


@dataclass(frozen=True)
class Objective:
    """A metric the sweep optimises: its summary key, ``minimize`` or ``maximize``, and an optional target."""

    name: str
    goal: str = "minimize"
    target: float | None = None

    def better(self, a: float, b: float) -> bool:
        """Whether value ``a`` is strictly better than ``b`` under the goal."""
        return a < b if self.goal == "minimize" else a > b

    def reached(self, value: float) -> bool:
        """Whether ``value`` meets the target (a sweep with a target finishes once a run meets it)."""
        if self.target is None:
            return False
        return value <= self.target if self.goal == "minimize" else value >= self.target


@dataclass(frozen=True)
class Param:
    """One searched parameter: its dotted path in the run's config and its distribution."""

    path: tuple[str, ...]
    distribution: str
    value: Any = None
    values: tuple[Any, ...] = ()
    probabilities: tuple[float, ...] | None = None
    min: float = 0.0
    max: float = 0.0
    mu: float = 0.0
    sigma: float = 1.0
    a: float = 1.0
    b: float = 1.0
    q: float = 1.0

    @property
    def name(self) -> str:
        return ".".join(self.path)


@dataclass(frozen=True)
class Hyperband:
    """``early_terminate: {type: hyperband}``: the iterations at which runs are compared, and ``eta``."""

    bands: tuple[int, ...]
    eta: float = 3.0
    strict: bool = False


@dataclass(frozen=True)
class SweepConfig:
    """A checked sweep config. ``raw`` is the config as given (what the store keeps and shows)."""

    method: str
    params: tuple[Param, ...]
    objectives: tuple[Objective, ...]
    program: str | None = None
    command: tuple[str, ...] = DEFAULT_COMMAND
    run_cap: int | None = None
    early_terminate: Hyperband | None = None
    seed: int | None = None
    name: str | None = None
    raw: dict[str, Any] = field(default_factory=dict)

    @property
    def metric(self) -> Objective | None:
        """The single objective (the first of a multi-objective sweep), or None when the sweep has no metric."""
        return self.objectives[0] if self.objectives else None

    @property
    def multi_objective(self) -> bool:
        return len(self.objectives) > 1


def load_sweep_config(source: str | os.PathLike[str] | Mapping[str, Any]) -> SweepConfig:
    """Read a sweep config from a YAML/JSON file path or a dict and check it."""
    if isinstance(source, Mapping):
        return parse_sweep_config(source)
    import yaml

    path = os.fspath(source)
    try:
        with open(path, encoding="utf-8") as fh:
            loaded = yaml.safe_load(fh)
    except OSError as exc:
        raise SweepConfigError(f"cannot read the sweep config {path!r}: {exc.strerror or exc}") from exc
    except yaml.YAMLError as exc:
        raise SweepConfigError(f"the sweep config {path!r} is not valid YAML: {exc}") from exc
    if not isinstance(loaded, Mapping):
        raise SweepConfigError(f"the sweep config {path!r} must be a mapping with keys method, parameters, ...")
    return parse_sweep_config(loaded)


def _fail(key: str, message: str) -> SweepConfigError:
    return SweepConfigError(f"Invalid sweep config: {key}: {message}")


def parse_sweep_config(config: Mapping[str, Any]) -> SweepConfig:
    """Check a sweep config (a dict as W&B's ``wandb.sweep`` takes) and return it normalised.

    Raises:
        runyard.errors.SweepConfigError: the config is invalid; the message names the key and what is wrong.
    """
    if not isinstance(config, Mapping):
        raise SweepConfigError(f"Invalid sweep config: expected a mapping, got {type(config).__name__}")
    unknown = sorted(str(k) for k in config if k not in _TOP_KEYS)
    if unknown:
        raise _fail(unknown[0], f"unknown key; a sweep config has keys {', '.join(sorted(_TOP_KEYS))}")
    method = config.get("method")
    if method is None:
        raise _fail("method", f"required; one of {', '.join(METHODS)}")
    if method not in METHODS:
        raise _fail("method", f"{method!r} is not one of {', '.join(METHODS)}")
    objectives = _objectives(config)
    if "parameters" not in config:
        raise _fail("parameters", "required: a mapping of parameter names to their values or distribution")
    params = tuple(_params(config["parameters"], ()))
    if not params:
        raise _fail("parameters", "needs at least one parameter")
    if method in ("bayes", "tpe") and not objectives:
        raise _fail("metric", f"method {method!r} needs a metric to optimise: metric: {{name: ..., goal: ...}}")
    if method == "grid":
        for p in params:
            if p.distribution not in ("constant", "categorical", "int_uniform", "q_uniform"):
                raise _fail(
                    f"parameters.{p.name}",
                    f"grid search needs discrete values, but the distribution is {p.distribution}; "
                    "give values: [...] or use method random, bayes or tpe",
                )
    program = config.get("program")
    if program is not None and not isinstance(program, str):
        raise _fail("program", f"must be a string (the script to run), got {type(program).__name__}")
    command = _command(config.get("command"))
    if "${program}" in command and program is None and "command" in config:
        raise _fail("program", "the command uses ${program}, so the sweep needs a program")
    run_cap = config.get("run_cap")
    if run_cap is not None and (isinstance(run_cap, bool) or not isinstance(run_cap, int) or run_cap < 1):
        raise _fail("run_cap", f"must be a positive integer, got {run_cap!r}")
    seed = config.get("seed")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
        raise _fail("seed", f"must be an integer, got {seed!r}")
    early = _hyperband(config.get("early_terminate"))
    if early is not None and not objectives:
        raise _fail("early_terminate", "hyperband compares runs by their metric: the sweep needs a metric")
    name = config.get("name")
    return SweepConfig(
        method=str(method),
        params=params,
        objectives=objectives,
        program=program,
        command=command,
        run_cap=run_cap,
        early_terminate=early,
        seed=seed,
        name=str(name) if name is not None else None,
        raw=_plain(config),
    )


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def _objectives(config: Mapping[str, Any]) -> tuple[Objective, ...]:
    if "metric" in config and "metrics" in config:
        raise _fail("metrics", "give either metric (one objective) or metrics (several), not both")
    if config.get("metric") is not None:
        return (_objective(config["metric"], "metric"),)
    metrics = config.get("metrics")
    if metrics is None:
        return ()
    if not isinstance(metrics, Sequence) or isinstance(metrics, str) or not metrics:
        raise _fail("metrics", "must be a non-empty list of {name: ..., goal: ...}")
    found = tuple(_objective(m, f"metrics[{i}]") for i, m in enumerate(metrics))
    names = [o.name for o in found]
    if len(set(names)) != len(names):
        raise _fail("metrics", f"names a metric twice: {names}")
    return found


def _objective(metric: Any, key: str) -> Objective:
    if not isinstance(metric, Mapping):
        raise _fail(key, "must be a mapping like {name: val_loss, goal: minimize}")
    unknown = sorted(str(k) for k in metric if k not in ("name", "goal", "target", "impute", "imputewhilerunning"))
    if unknown:
        raise _fail(f"{key}.{unknown[0]}", "unknown key; a metric has name, goal and target")
    name = metric.get("name")
    if not isinstance(name, str) or not name:
        raise _fail(f"{key}.name", "required: the summary key to optimise, e.g. val_loss")
    goal = metric.get("goal", "minimize")
    if goal not in GOALS:
        raise _fail(f"{key}.goal", f"{goal!r} is not one of minimize, maximize")
    target = metric.get("target")
    if target is not None and (isinstance(target, bool) or not isinstance(target, (int, float))):
        raise _fail(f"{key}.target", f"must be a number, got {target!r}")
    return Objective(name, goal, None if target is None else float(target))


def _number(spec: Mapping[str, Any], key: str, where: str) -> float:
    value = spec[key]
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise _fail(f"{where}.{key}", f"must be a finite number, got {value!r}")
    return float(value)


def _params(parameters: Any, prefix: tuple[str, ...]) -> list[Param]:
    where = ".".join(("parameters", *prefix)) if prefix else "parameters"
    if not isinstance(parameters, Mapping):
        raise _fail(where, "must be a mapping of parameter names to {values: [...]}, {min: .., max: ..}, ...")
    out: list[Param] = []
    for raw_name, spec in parameters.items():
        name = str(raw_name)
        path = (*prefix, name)
        at = ".".join(("parameters", *path))
        if not isinstance(spec, Mapping):
            raise _fail(at, f"must be a mapping such as {{values: [...]}} or {{value: ...}}, got {spec!r}")
        unknown = sorted(str(k) for k in spec if k not in _PARAM_KEYS)
        if unknown:
            raise _fail(f"{at}.{unknown[0]}", f"unknown key; a parameter has {', '.join(sorted(_PARAM_KEYS))}")
        if "parameters" in spec:
            if len(spec) != 1:
                raise _fail(at, "a nested parameter holds only parameters: {...}")
            out.extend(_params(spec["parameters"], path))
            continue
        out.append(_param(spec, path, at))
    return out


def _infer(spec: Mapping[str, Any], at: str) -> str:
    if "distribution" in spec:
        dist = spec["distribution"]
        if dist not in DISTRIBUTIONS:
            raise _fail(f"{at}.distribution", f"{dist!r} is not one of {', '.join(DISTRIBUTIONS)}")
        return str(dist)
    if "value" in spec:
        return "constant"
    if "values" in spec:
        return "categorical"
    if "min" in spec and "max" in spec:
        lo, hi = spec["min"], spec["max"]
        both_int = all(isinstance(v, int) and not isinstance(v, bool) for v in (lo, hi))
        return "int_uniform" if both_int else "uniform"
    if "mu" in spec or "sigma" in spec:
        return "normal"
    if "min" in spec or "max" in spec:
        missing = "max" if "min" in spec else "min"
        raise _fail(f"{at}.{missing}", "required: a range needs both min and max")
    raise _fail(at, "needs value, values, min and max, or a distribution")


def _param(spec: Mapping[str, Any], path: tuple[str, ...], at: str) -> Param:
    dist = _infer(spec, at)
    needed = DISTRIBUTIONS[dist]
    for key in needed:
        if key not in spec and not (dist.endswith("normal") and key in ("mu", "sigma")):
            raise _fail(f"{at}.{key}", f"required by distribution {dist}")
    fields: dict[str, Any] = {}
    if dist == "constant":
        fields["value"] = _plain(spec["value"])
    elif dist == "categorical":
        values = spec["values"]
        if not isinstance(values, Sequence) or isinstance(values, str) or not values:
            raise _fail(f"{at}.values", f"must be a non-empty list, got {values!r}")
        fields["values"] = tuple(_plain(v) for v in values)
        probs = spec.get("probabilities")
        if probs is not None:
            if not isinstance(probs, Sequence) or len(probs) != len(values):
                raise _fail(f"{at}.probabilities", "needs one probability per value")
            if any(isinstance(p, bool) or not isinstance(p, (int, float)) or p < 0 for p in probs):
                raise _fail(f"{at}.probabilities", "must be non-negative numbers")
            if abs(sum(probs) - 1.0) > 1e-6:
                raise _fail(f"{at}.probabilities", f"must sum to 1, they sum to {sum(probs)}")
            fields["probabilities"] = tuple(float(p) for p in probs)
    elif "min" in needed:
        lo, hi = _number(spec, "min", at), _number(spec, "max", at)
        if dist == "int_uniform":
            for key in ("min", "max"):
                if isinstance(spec[key], bool) or not isinstance(spec[key], int):
                    raise _fail(f"{at}.{key}", f"int_uniform needs integers, got {spec[key]!r}")
        if not lo < hi:
            raise _fail(f"{at}.max", f"max ({spec['max']}) must be greater than min ({spec['min']})")
        if dist.endswith("_values") and lo <= 0:
            raise _fail(f"{at}.min", f"{dist} samples between the values min and max, which must be > 0")
        fields.update(min=lo, max=hi)
    elif "mu" in needed:
        fields["mu"] = _number(spec, "mu", at) if "mu" in spec else 0.0
        fields["sigma"] = _number(spec, "sigma", at) if "sigma" in spec else 1.0
        if fields["sigma"] <= 0:
            raise _fail(f"{at}.sigma", "must be greater than 0")
    elif dist in ("beta", "q_beta"):
        fields["a"], fields["b"] = _number(spec, "a", at), _number(spec, "b", at)
        for key in ("a", "b"):
            if fields[key] <= 0:
                raise _fail(f"{at}.{key}", "must be greater than 0")
    if "q" in spec:
        if not dist.startswith("q_"):
            raise _fail(f"{at}.q", f"only q_ distributions round to q; {dist} does not")
        fields["q"] = _number(spec, "q", at)
        if fields["q"] <= 0:
            raise _fail(f"{at}.q", "must be greater than 0")
    return Param(path=path, distribution=dist, **fields)


def _command(command: Any) -> tuple[str, ...]:
    if command is None:
        return DEFAULT_COMMAND
    if isinstance(command, str) or not isinstance(command, Sequence):
        raise _fail("command", "must be a list of strings, e.g. [${env}, ${interpreter}, ${program}, ${args}]")
    out = []
    for i, part in enumerate(command):
        if not isinstance(part, (str, int, float)) or isinstance(part, bool):
            raise _fail(f"command[{i}]", f"must be a string, got {part!r}")
        text = str(part)
        if text.startswith("${") and text.endswith("}") and text not in _MACROS:
            raise _fail(f"command[{i}]", f"unknown macro {text}; the macros are {', '.join(_MACROS)}")
        out.append(text)
    if not out:
        raise _fail("command", "must not be empty")
    return tuple(out)


def _hyperband(spec: Any) -> Hyperband | None:
    if spec is None:
        return None
    where = "early_terminate"
    if not isinstance(spec, Mapping):
        raise _fail(where, "must be a mapping like {type: hyperband, min_iter: 3}")
    if spec.get("type") != "hyperband":
        raise _fail(f"{where}.type", f"{spec.get('type')!r} is not supported; the type is hyperband")
    unknown = sorted(str(k) for k in spec if k not in ("type", "min_iter", "max_iter", "s", "eta", "strict"))
    if unknown:
        raise _fail(f"{where}.{unknown[0]}", "unknown key; hyperband has min_iter, or max_iter and s, and eta")
    eta = spec.get("eta", 3)
    if isinstance(eta, bool) or not isinstance(eta, (int, float)) or eta <= 1:
        raise _fail(f"{where}.eta", f"must be a number greater than 1, got {eta!r}")

    def positive_int(key: str) -> int:
        value = spec[key]
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise _fail(f"{where}.{key}", f"must be a positive integer, got {value!r}")
        return value

    if "min_iter" in spec:
        if "max_iter" in spec:
            raise _fail(f"{where}.max_iter", "give min_iter, or max_iter and s, not both")
        min_iter = positive_int("min_iter")
        # W&B: bands at min_iter * eta**k; as many as a run of a few hundred iterations meets.
        s = positive_int("s") if "s" in spec else 3
        bands = tuple(round(min_iter * eta**k) for k in range(s))
    elif "max_iter" in spec:
        if "s" not in spec:
            raise _fail(f"{where}.s", "required with max_iter: the number of brackets")
        max_iter, s = positive_int("max_iter"), positive_int("s")
        bands = tuple(sorted({max(1, round(max_iter / eta**k)) for k in range(1, s + 1)}))
    else:
        raise _fail(f"{where}.min_iter", "required: min_iter, or max_iter and s")
    return Hyperband(bands=bands, eta=float(eta), strict=bool(spec.get("strict", False)))
