"""``runyard demo``: train a small classifier over a few hyperparameter settings and log every run.

The model is a logistic regression over polynomial features of two noisy interleaved half-moons, trained with
mini-batch SGD in plain Python, so the demo needs nothing beyond runyard itself.
"""

from __future__ import annotations

import math
import random
import sys
import time

import runyard

PROJECT = "demo-moons"
"""The project the demo's runs go to."""

_SETTINGS = [
    {"lr": 0.05, "batch_size": 16, "degree": 3},
    {"lr": 0.2, "batch_size": 16, "degree": 3},
    {"lr": 0.2, "batch_size": 64, "degree": 2},
    {"lr": 0.8, "batch_size": 64, "degree": 3},
]


def _moons(n: int, noise: float, rng: random.Random) -> list[tuple[float, float, int]]:
    points = []
    for i in range(n):
        label = i % 2
        t = rng.random() * math.pi
        if label == 0:
            x, y = math.cos(t), math.sin(t)
        else:
            x, y = 1 - math.cos(t), 0.5 - math.sin(t)
        points.append((x + rng.gauss(0, noise), y + rng.gauss(0, noise), label))
    return points


def _features(x: float, y: float, degree: int) -> list[float]:
    return [x**i * y**j for i in range(degree + 1) for j in range(degree + 1 - i)]


def _sigmoid(z: float) -> float:
    if z >= 0:
        return 1 / (1 + math.exp(-z))
    e = math.exp(z)
    return e / (1 + e)


def _evaluate(w: list[float], data: list[tuple[list[float], int]]) -> tuple[float, float]:
    loss = 0.0
    correct = 0
    for f, label in data:
        p = min(max(_sigmoid(sum(wi * fi for wi, fi in zip(w, f))), 1e-12), 1 - 1e-12)
        loss -= math.log(p) if label else math.log(1 - p)
        correct += (p >= 0.5) == bool(label)
    return loss / len(data), correct / len(data)


def train(config: dict[str, float], steps: int, seed: int) -> None:
    """Train one model, logging to the active run."""
    rng = random.Random(seed)
    raw = _moons(600, 0.15, rng)
    degree = int(config["degree"])
    data = [(_features(x, y, degree), label) for x, y, label in raw]
    train_set, val_set = data[:480], data[480:]
    w = [0.0] * len(data[0][0])
    batch = int(config["batch_size"])
    lr = float(config["lr"])
    for step in range(steps):
        sample = rng.sample(train_set, batch)
        grad = [0.0] * len(w)
        loss = 0.0
        for f, label in sample:
            p = _sigmoid(sum(wi * fi for wi, fi in zip(w, f)))
            pc = min(max(p, 1e-12), 1 - 1e-12)
            loss -= math.log(pc) if label else math.log(1 - pc)
            for i, fi in enumerate(f):
                grad[i] += (p - label) * fi
        w = [wi - lr * g / batch for wi, g in zip(w, grad)]
        metrics: dict[str, float] = {"train/loss": loss / batch, "train/lr": lr}
        if step % 20 == 19 or step == steps - 1:
            val_loss, val_acc = _evaluate(w, val_set)
            metrics.update({"val/loss": val_loss, "val/accuracy": val_acc})
        runyard.log(metrics)


def main(dir: str | None = None, steps: int = 300, store_url: str | None = None) -> int:
    """Run the demo; returns a process exit code. ``dir`` is the folder that holds the ``runyard/`` data folder."""
    settings = runyard.Settings(root_dir=dir, store_url=store_url, silent=True)
    where = settings.resolved()
    print(
        f"runyard demo: training {len(_SETTINGS)} small models ({steps} steps each), logging every step to "
        f"{where.store_shown}",
        flush=True,
    )
    started = time.perf_counter()
    results = []
    for i, config in enumerate(_SETTINGS):
        with runyard.init(project=PROJECT, config=config, settings=settings, group="logreg", tags=["demo"]) as run:
            runyard.define_metric("val/accuracy", summary="max,last")
            train(config, steps, seed=i)
            results.append((f"{run.name} ({run.id})", config, run.summary["val/accuracy"]["max"]))
        print(f"  {i + 1}/{len(_SETTINGS)} {run.name}: best val accuracy {results[-1][2]:.3f}", flush=True)
    elapsed = time.perf_counter() - started
    print(f"\nTrained {len(_SETTINGS)} runs of {steps} steps in {elapsed:.1f} s, logged with runyard.\n")
    width = max(len("run"), *(len(name) for name, _, _ in results))
    print(f"{'run':<{width}}  {'lr':>6} {'batch':>6} {'degree':>6} {'best val acc':>13}")
    for name, config, acc in results:
        print(f"{name:<{width}}  {config['lr']:>6} {config['batch_size']:>6} {config['degree']:>6} {acc:>13.3f}")
    from runyard.replay import open_store

    store = open_store(where.store_url, where.data_dir)
    try:
        runs = store.list_runs(demo_entity(), PROJECT)
    finally:
        store.close()
    print(f"\nThe data went to {where.store_shown}; project {PROJECT} now holds {len(runs)} run(s).")
    print('Offline runs (init(mode="offline")) are ingested later with `runyard sync`.')
    sys.stdout.flush()
    return 0


def demo_entity() -> str:
    """The entity the demo's runs go to: the OS user, as for any run."""
    from runyard.sdk.init import _username

    return _username()
