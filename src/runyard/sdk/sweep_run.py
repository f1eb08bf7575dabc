"""A run started by a sweep agent: ``runyard.init`` joins the sweep the agent names in the environment.

The agent (``runyard.agent`` or ``runyard agent``) sets, for each run it starts:

- ``RUNYARD_SWEEP_ID``: ``entity/project/sweep_id`` of the sweep;
- ``RUNYARD_RUN_ID``: the id the controller gave the run (``init`` uses it as the run's id);
- ``RUNYARD_SWEEP_PARAM_PATH``: a file with the run's parameters, in W&B's ``{key: {value: v}}`` form.

W&B's ``WANDB_SWEEP_ID`` / ``WANDB_SWEEP_PARAM_PATH`` are read too, so an agent of either sets up the other's
runs. The run goes to the sweep's project, and the sweep's parameters win over the script's config: ``init``'s
config and later ``config.update`` calls cannot change them (W&B's rule; a warning says the update is ignored).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from runyard.sdk.config import load_config_source
from runyard.settings import env_value

__all__ = ["SweepContext", "sweep_context"]


@dataclass(frozen=True)
class SweepContext:
    """The sweep a run belongs to, and the parameters it chose for the run."""

    sweep_id: str
    entity: str | None
    project: str | None
    params: dict[str, Any]


def sweep_context() -> SweepContext | None:
    """The sweep the environment puts this process's run into, or None."""
    path = env_value("SWEEP_ID")
    params_file = env_value("SWEEP_PARAM_PATH")
    if path is None or params_file is None:
        return None
    parts = path.split("/")
    entity = parts[0] if len(parts) == 3 else None
    project = parts[-2] if len(parts) >= 2 else None
    return SweepContext(parts[-1], entity, project, load_config_source(params_file))
