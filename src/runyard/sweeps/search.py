"""The sweep controller's search: the next parameters to try, from the config and the runs so far.

Pure functions of their inputs: the store keeps every assignment and every finished run, and calls
:func:`suggest` inside the transaction that records the new assignment, so that a controller that restarts
suggests exactly what it would have, and parallel agents never get the same grid point.

- ``grid``: the points of the cartesian product in order, each index at most once (:func:`grid_point`).
- ``random``: independent draws of each distribution (:mod:`runyard.sweeps.sampling`).
- ``bayes``: a Gaussian process with expected improvement, as W&B's engine (scikit-learn's GP).
- ``tpe``: Optuna's Tree-structured Parzen Estimator; multi-objective sweeps (``metrics:``) use Optuna's
  multi-objective TPE for both bayes and tpe.

bayes and tpe need the ``runyard[sweeps]`` extra (Optuna, scikit-learn).
"""

from __future__ import annotations

import datetime
import hashlib
import math
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from runyard.errors import UsageError
from runyard.sweeps.config import Param, SweepConfig
from runyard.sweeps.sampling import grid_values, quantize, sample

__all__ = [
    "Observation",
    "Suggestion",
    "grid_point",
    "grid_size",
    "nested_config",
    "pareto_front",
    "suggest",
]

# Bayes fits its GP on at most this many runs (the best half and a seeded draw of the rest): the fit is cubic in
# the number of runs, and a few hundred describe the landscape as well as a thousand.
GP_MAX_POINTS = 64
GP_CANDIDATES = 600
_EPOCH = datetime.datetime(2000, 1, 1)  # trials rebuilt from runs: Optuna wants a time, the samplers ignore it
RANDOM_STARTUP = 10  # bayes and tpe sample at random until this many runs have finished


@dataclass(frozen=True)
class Observation:
    """A run of the sweep as the search sees it: its parameters and its objective values (None: no metric)."""

    params: Mapping[str, Any]
    values: tuple[float, ...] | None


@dataclass(frozen=True)
class Suggestion:
    """The parameters of the next run (flat, by dotted name), and for grid search its point's index."""

    params: dict[str, Any]
    grid_index: int | None = None


def nested_config(params: Mapping[str, Any]) -> dict[str, Any]:
    """The run config of flat dotted parameters: ``{"opt.lr": 0.1}`` becomes ``{"opt": {"lr": 0.1}}``."""
    out: dict[str, Any] = {}
    for name, value in params.items():
        node = out
        parts = name.split(".")
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value
    return out


def _rng(seed: int | None, index: int, salt: str) -> random.Random:
    # Unseeded sweeps still draw reproducibly per sweep: the salt is the sweep's id.
    digest = hashlib.blake2b(f"{seed}:{salt}:{index}".encode(), digest_size=8).digest()
    return random.Random(int.from_bytes(digest, "big"))


def grid_size(config: SweepConfig) -> int:
    """How many points the grid of ``config`` has."""
    return math.prod(len(grid_values(p)) for p in config.params)


def grid_point(config: SweepConfig, index: int) -> dict[str, Any]:
    """Point ``index`` of the grid, in W&B's order (the last parameter varies fastest)."""
    out: dict[str, Any] = {}
    for p in reversed(config.params):
        values = grid_values(p)
        index, i = divmod(index, len(values))
        out[p.name] = values[i]
    return {p.name: out[p.name] for p in config.params}


def suggest(
    config: SweepConfig,
    *,
    index: int,
    observations: Sequence[Observation] = (),
    taken_grid: set[int] | frozenset[int] = frozenset(),
    salt: str = "",
) -> Suggestion | None:
    """The parameters of assignment number ``index`` of the sweep; None when a grid has no point left.

    Args:
        config: the sweep's config.
        index: how many assignments the sweep made before this one (seeds the draw).
        observations: the sweep's finished runs, oldest first (bayes, tpe).
        taken_grid: the grid indices already assigned (grid).
        salt: mixed into the seed (the sweep's id), so that two unseeded sweeps differ.
    """
    if config.method == "grid":
        size = grid_size(config)
        for i in range(size):
            if i not in taken_grid:
                return Suggestion(grid_point(config, i), i)
        return None
    rng = _rng(config.seed, index, salt)
    scored = [o for o in observations if o.values is not None and all(math.isfinite(v) for v in o.values)]
    if config.method == "random" or len(scored) < RANDOM_STARTUP:
        return Suggestion({p.name: sample(p, rng) for p in config.params})
    seed = rng.randrange(2**31)
    if config.method == "tpe" or config.multi_objective:
        return Suggestion(_tpe(config, scored, seed))
    return Suggestion(_gp_ei(config, scored, seed))


# -- the parameters' internal space: what the models see ------------------------------------------------------

_LOG = {"log_uniform", "q_log_uniform", "log_uniform_values", "q_log_uniform_values"}
_INV = {"inv_log_uniform", "inv_log_uniform_values"}


def _bounds(p: Param) -> tuple[float, float, bool]:
    """The model's range of ``p`` and whether it is searched on a log scale."""
    d = p.distribution
    if d in ("int_uniform", "uniform", "q_uniform"):
        return p.min, p.max, False
    if d in ("log_uniform", "q_log_uniform", "inv_log_uniform"):
        return math.exp(p.min), math.exp(p.max), True
    if d in ("log_uniform_values", "q_log_uniform_values", "inv_log_uniform_values"):
        return p.min, p.max, True
    if d in ("normal", "q_normal", "log_normal", "q_log_normal"):
        # An unbounded normal becomes its central 99.99 %.
        return p.mu - 4 * p.sigma, p.mu + 4 * p.sigma, False
    if d in ("beta", "q_beta"):
        return 0.0, 1.0, False
    raise ValueError(d)


def _to_internal(p: Param, value: Any) -> float:
    lo, hi, _ = _bounds(p)
    x = float(value)
    if p.distribution in _INV:
        x = 1.0 / x if x else hi
    elif p.distribution in ("log_normal", "q_log_normal"):
        x = math.log(x) if x > 0 else lo
    return min(max(x, lo), hi)


def _from_internal(p: Param, x: float) -> Any:
    d = p.distribution
    if d == "int_uniform":
        return round(x)
    if d in _INV:
        return 1.0 / x
    if d in ("log_normal", "q_log_normal"):
        x = math.exp(x)
    if d.startswith("q_"):
        return quantize(x, p.q)
    return x


def _searched(config: SweepConfig) -> list[Param]:
    return [p for p in config.params if p.distribution != "constant"]


def _constants(config: SweepConfig) -> dict[str, Any]:
    return {p.name: p.value for p in config.params if p.distribution == "constant"}


def _category(p: Param, value: Any) -> int | None:
    for i, v in enumerate(p.values):
        if v == value and type(v) is type(value):
            return i
    for i, v in enumerate(p.values):
        if v == value:
            return i
    return None


def _ordered(config: SweepConfig, params: Mapping[str, Any]) -> dict[str, Any]:
    return {p.name: params[p.name] for p in config.params}


# -- tpe (Optuna) -----------------------------------------------------------------------------------------------


def _optuna() -> Any:
    try:
        import optuna
    except ImportError as exc:
        raise UsageError(
            "methods bayes and tpe need runyard's sweeps extra (Optuna, scikit-learn): pip install -e '.[sweeps]' "
            "in a clone, or pip install optuna scikit-learn"
        ) from exc
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna


def _tpe(config: SweepConfig, scored: Sequence[Observation], seed: int) -> dict[str, Any]:
    import warnings

    optuna = _optuna()
    from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution
    from optuna.trial import TrialState

    searched = _searched(config)
    dists: dict[str, Any] = {}
    for p in searched:
        if p.distribution == "categorical":
            dists[p.name] = CategoricalDistribution(list(range(len(p.values))))
        elif p.distribution == "int_uniform":
            dists[p.name] = IntDistribution(int(p.min), int(p.max))
        else:
            lo, hi, log = _bounds(p)
            dists[p.name] = FloatDistribution(lo, hi, log=log)
    directions = [o.goal for o in config.objectives]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # multivariate TPE is "experimental" in Optuna's words
        sampler = optuna.samplers.TPESampler(seed=seed, multivariate=True, n_startup_trials=RANDOM_STARTUP)
        storage = optuna.storages.InMemoryStorage()
        study = optuna.create_study(storage=storage, directions=directions, sampler=sampler)
        trials = []
        for number, obs in enumerate(scored):
            internal: dict[str, Any] = {}
            for p in searched:
                value = obs.params.get(p.name)
                if value is None:
                    break
                if p.distribution == "categorical":
                    cat = _category(p, value)
                    if cat is None:
                        break
                    internal[p.name] = cat
                elif p.distribution == "int_uniform":
                    internal[p.name] = min(max(int(value), int(p.min)), int(p.max))
                else:
                    internal[p.name] = _to_internal(p, value)
            else:
                trials.append(_frozen(number, internal, dists, obs.values or (), TrialState.COMPLETE))
        _add_trials(study, storage, trials)
        trial = study.ask(dists)
    out = _constants(config)
    for p in searched:
        x = trial.params[p.name]
        out[p.name] = p.values[x] if p.distribution == "categorical" else _from_internal(p, x)
    return _ordered(config, out)


def _add_trials(study: Any, storage: Any, trials: list[Any]) -> None:
    """Put the rebuilt trials into the study's in-memory storage.

    ``Study.add_trials`` deep-copies and validates every trial, 80 % of a suggestion's time with a thousand
    runs; these trials are built here, valid, and used once. Should Optuna's storage change shape, the
    documented path is taken instead.
    """
    needed = ("_lock", "_studies", "_max_trial_id", "_trial_id_to_study_id_and_number", "_update_cache")
    if not all(hasattr(storage, name) for name in needed) or not hasattr(study, "_study_id"):
        study.add_trials(trials)
        return
    with storage._lock:
        info = storage._studies[study._study_id]
        for trial in trials:
            storage._max_trial_id += 1
            trial.number = len(info.trials)
            trial._trial_id = storage._max_trial_id
            storage._trial_id_to_study_id_and_number[trial._trial_id] = (study._study_id, trial.number)
            info.trials.append(trial)
            storage._update_cache(trial._trial_id, study._study_id)


def _frozen(number: int, params: dict[str, Any], dists: dict[str, Any], values: Sequence[float], state: Any) -> Any:
    from optuna.trial import FrozenTrial

    # FrozenTrial directly: create_trial() copies and checks each distribution once more.
    return FrozenTrial(
        number=number,
        state=state,
        value=None,
        values=list(values),
        datetime_start=_EPOCH,
        datetime_complete=_EPOCH,
        params=params,
        distributions=dists,
        user_attrs={},
        system_attrs={},
        intermediate_values={},
        trial_id=number,
    )


# -- bayes: a Gaussian process with expected improvement ------------------------------------------------------


def _encode(config: SweepConfig, params: Mapping[str, Any]) -> list[float] | None:
    """The point in [0, 1]^d (categories one-hot) of a run's parameters; None when one is outside the space."""
    row: list[float] = []
    for p in _searched(config):
        value = params.get(p.name)
        if value is None:
            return None
        if p.distribution == "categorical":
            cat = _category(p, value)
            if cat is None:
                return None
            row.extend(1.0 if i == cat else 0.0 for i in range(len(p.values)))
            continue
        lo, hi, log = _bounds(p)
        x = _to_internal(p, value)
        if log:
            lo, hi, x = math.log(lo), math.log(hi), math.log(x)
        row.append((x - lo) / (hi - lo))
    return row


def _decode(config: SweepConfig, row: Sequence[float]) -> dict[str, Any]:
    out = _constants(config)
    i = 0
    for p in _searched(config):
        if p.distribution == "categorical":
            n = len(p.values)
            chunk = row[i : i + n]
            out[p.name] = p.values[max(range(n), key=lambda k: chunk[k])]
            i += n
            continue
        lo, hi, log = _bounds(p)
        u = min(max(float(row[i]), 0.0), 1.0)
        i += 1
        x = math.exp(math.log(lo) + u * (math.log(hi) - math.log(lo))) if log else lo + u * (hi - lo)
        out[p.name] = _from_internal(p, x)
    return _ordered(config, out)


def _gp_ei(config: SweepConfig, scored: Sequence[Observation], seed: int) -> dict[str, Any]:
    import warnings

    try:
        import numpy as np
        from scipy.stats import norm
        from sklearn.exceptions import ConvergenceWarning
        from sklearn.gaussian_process import GaussianProcessRegressor
        from sklearn.gaussian_process.kernels import ConstantKernel, Matern, WhiteKernel
    except ImportError as exc:
        raise UsageError(
            "method bayes needs runyard's sweeps extra (Optuna, scikit-learn): pip install -e '.[sweeps]' in a "
            "clone, or pip install optuna scikit-learn"
        ) from exc
    objective = config.objectives[0]
    sign = 1.0 if objective.goal == "minimize" else -1.0
    rows, ys = [], []
    for obs in scored:
        row = _encode(config, obs.params)
        if row is not None and obs.values is not None:
            rows.append(row)
            ys.append(sign * obs.values[0])
    rng = np.random.default_rng(seed)
    x_all, y_all = np.asarray(rows, dtype=float), np.asarray(ys, dtype=float)
    if len(y_all) > GP_MAX_POINTS:
        order = np.argsort(y_all, kind="stable")
        best = order[: GP_MAX_POINTS // 2]
        rest = rng.choice(order[GP_MAX_POINTS // 2 :], GP_MAX_POINTS - len(best), replace=False)
        keep = np.concatenate([best, rest])
        x_fit, y_fit = x_all[keep], y_all[keep]
    else:
        x_fit, y_fit = x_all, y_all
    dim = x_all.shape[1]
    kernel = ConstantKernel(1.0, (1e-3, 1e3)) * Matern(
        length_scale=np.full(dim, 0.3), length_scale_bounds=(1e-3, 1e2), nu=2.5
    ) + WhiteKernel(1e-4, (1e-8, 1e-1))
    gp = GaussianProcessRegressor(
        kernel=kernel, normalize_y=True, optimizer=_fit_kernel, random_state=int(rng.integers(2**31))
    )
    from threadpoolctl import threadpool_limits

    # One BLAS thread: the matrices are small (100 x 100), and threads contending for busy cores cost ten times
    # what the arithmetic does.
    with warnings.catch_warnings(), threadpool_limits(1):
        warnings.simplefilter("ignore", ConvergenceWarning)
        gp.fit(x_fit, y_fit)
    # Candidates: uniform draws, and draws around the best runs (where improvement is likeliest).
    uniform = rng.random((GP_CANDIDATES, dim))
    top = x_all[np.argsort(y_all, kind="stable")[:5]]
    local = top[rng.integers(0, len(top), GP_CANDIDATES // 2)] + rng.normal(0, 0.05, (GP_CANDIDATES // 2, dim))
    candidates = np.clip(np.vstack([uniform, local]), 0.0, 1.0)
    with threadpool_limits(1):
        mean, std = gp.predict(candidates, return_std=True)
    best_y = float(y_all.min())
    std = np.maximum(std, 1e-12)
    z = (best_y - mean) / std
    ei = (best_y - mean) * norm.cdf(z) + std * norm.pdf(z)
    return _decode(config, candidates[int(np.argmax(ei))].tolist())


def _fit_kernel(obj_func: Any, initial_theta: Any, bounds: Any) -> tuple[Any, float]:
    """L-BFGS-B on the kernel's log-marginal likelihood, stopped after 12 steps: a suggestion has
    ~100 ms, and on seeded Branin runs 12 steps find as good a minimum as 25 at half the cost."""
    from scipy.optimize import minimize

    found = minimize(obj_func, initial_theta, method="L-BFGS-B", jac=True, bounds=bounds, options={"maxiter": 12})
    return found.x, float(found.fun)


# -- multi-objective --------------------------------------------------------------------------------------------


def pareto_front(config: SweepConfig, points: Sequence[tuple[str, Sequence[float]]]) -> list[str]:
    """The ids of the points (id, objective values) that no other point dominates, in the given order."""
    signs = [1.0 if o.goal == "minimize" else -1.0 for o in config.objectives]
    costs = [(key, [s * v for s, v in zip(signs, values)]) for key, values in points]
    front = []
    for key, c in costs:
        dominated = any(
            all(o <= m for o, m in zip(other, c)) and any(o < m for o, m in zip(other, c)) for _, other in costs
        )
        if not dominated:
            front.append(key)
    return front
