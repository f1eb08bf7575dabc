"""Drawing a value of each W&B distribution, and the values a grid walks through.

Random search draws with Python's :class:`random.Random`, seeded per suggestion, so that a sweep with a seed
suggests the same parameters again after a restart, and one suggestion costs microseconds.
"""

from __future__ import annotations

import math
import random
from typing import Any

from runyard.sweeps.config import Param

__all__ = ["grid_values", "quantize", "sample"]


def quantize(x: float, q: float) -> float | int:
    """W&B's ``round(x / q) * q``; an integer when q is one."""
    out = round(x / q) * q
    if float(q).is_integer():
        return round(out)
    # Keep as many decimals as q has: 0.1 * 3 is 0.30000000000000004 otherwise.
    decimals = max(0, -math.floor(math.log10(q)) + 1)
    return round(out, decimals)


def _log_uniform(rng: random.Random, lo: float, hi: float) -> float:
    return math.exp(rng.uniform(lo, hi))


def sample(param: Param, rng: random.Random) -> Any:
    """One draw of ``param``'s distribution, with W&B's meaning of each distribution's fields."""
    d, p = param.distribution, param
    if d == "constant":
        return p.value
    if d == "categorical":
        if p.probabilities is None:
            return p.values[rng.randrange(len(p.values))]
        return rng.choices(p.values, weights=p.probabilities)[0]
    if d == "int_uniform":
        return rng.randint(int(p.min), int(p.max))
    if d == "uniform":
        return rng.uniform(p.min, p.max)
    if d == "q_uniform":
        return quantize(rng.uniform(p.min, p.max), p.q)
    # W&B: log_uniform's min and max are natural logs; the *_values forms take the values themselves.
    if d == "log_uniform":
        return _log_uniform(rng, p.min, p.max)
    if d == "log_uniform_values":
        return _log_uniform(rng, math.log(p.min), math.log(p.max))
    if d == "q_log_uniform":
        return quantize(_log_uniform(rng, p.min, p.max), p.q)
    if d == "q_log_uniform_values":
        return quantize(_log_uniform(rng, math.log(p.min), math.log(p.max)), p.q)
    if d == "inv_log_uniform":
        return 1.0 / _log_uniform(rng, p.min, p.max)
    if d == "inv_log_uniform_values":
        return 1.0 / _log_uniform(rng, math.log(p.min), math.log(p.max))
    if d == "normal":
        return rng.gauss(p.mu, p.sigma)
    if d == "q_normal":
        return quantize(rng.gauss(p.mu, p.sigma), p.q)
    if d == "log_normal":
        return math.exp(rng.gauss(p.mu, p.sigma))
    if d == "q_log_normal":
        return quantize(math.exp(rng.gauss(p.mu, p.sigma)), p.q)
    if d == "beta":
        return rng.betavariate(p.a, p.b)
    if d == "q_beta":
        return quantize(rng.betavariate(p.a, p.b), p.q)
    raise ValueError(f"unknown distribution {d!r}")


def grid_values(param: Param) -> tuple[Any, ...]:
    """The values a grid search gives ``param``: its values, its one value, or every step of its range."""
    if param.distribution == "constant":
        return (param.value,)
    if param.distribution == "categorical":
        return param.values
    if param.distribution == "int_uniform":
        return tuple(range(int(param.min), int(param.max) + 1))
    if param.distribution == "q_uniform":
        count = math.floor((param.max - param.min) / param.q + 1e-9) + 1
        return tuple(dict.fromkeys(quantize(param.min + i * param.q, param.q) for i in range(count)))
    raise ValueError(f"{param.name}: a {param.distribution} parameter has no grid")
