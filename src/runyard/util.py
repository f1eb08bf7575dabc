"""The names of W&B's ``wandb.util`` that training scripts use: ``generate_id``.

``import runyard as wandb`` then ``wandb.util.generate_id()`` (or ``from runyard.util import generate_id``)
works as with wandb. The rest of ``wandb.util`` is W&B's internal toolbox and is not provided.
"""

from __future__ import annotations

from runyard.names import new_run_id

__all__ = ["generate_id"]


def generate_id(length: int = 8) -> str:
    """A random id of ``length`` base-36 characters (default 8), as W&B makes run ids.

    Scripts use it to choose a run's id before ``init(id=...)``, so that a restarted job can resume the run.
    """
    if type(length) is not int or length < 1:
        raise ValueError(f"length must be a positive integer, not {length!r}")
    return new_run_id(length)
