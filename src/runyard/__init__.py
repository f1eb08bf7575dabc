"""runyard: self-hosted experiment tracking with the wandb API.

``import runyard as wandb`` and keep your training script as it is::

    import runyard as wandb

    with wandb.init(project="mnist", config={"lr": 3e-4}) as run:
        for step in range(100):
            wandb.log({"loss": 1 / (step + 1)})
"""

from __future__ import annotations

import sys
import types
from typing import TYPE_CHECKING, Any

from runyard import errors
from runyard.errors import Error
from runyard.sdk.api import PreInit, define_metric, finish, log, login, unwatch, watch
from runyard.sdk.init import init
from runyard.sdk.metrics import Metric
from runyard.sdk.run import Run
from runyard.settings import Settings

if TYPE_CHECKING:
    from runyard.api import Api

__version__ = "0.1.0"

__all__ = [
    "Api",
    "Error",
    "Metric",
    "Run",
    "Settings",
    "__version__",
    "config",
    "define_metric",
    "errors",
    "finish",
    "init",
    "log",
    "login",
    "run",
    "summary",
    "unwatch",
    "watch",
]

_PRE_CONFIG = PreInit("config")
_PRE_SUMMARY = PreInit("summary")


class _RunyardModule(types.ModuleType):
    """Makes ``runyard.run``, ``runyard.config`` and ``runyard.summary`` follow the active run."""

    @property
    def run(self) -> Run | None:
        from runyard.sdk import lifecycle

        return lifecycle.active_run()

    @property
    def config(self) -> Any:
        active = self.run
        return active.config if active is not None else _PRE_CONFIG

    @config.setter
    def config(self, value: Any) -> None:
        # W&B silently drops `wandb.config = {...}` after init(); runyard records it in the active run.
        active = self.run
        if active is None:
            raise errors.UsageError("You must call runyard.init() before assigning runyard.config")
        if value is active.config:
            return
        active.config.update(value)

    @property
    def summary(self) -> Any:
        active = self.run
        return active.summary if active is not None else _PRE_SUMMARY


def __getattr__(name: str) -> Any:
    # runyard.Api is imported on first use: scripts that only log never pay for the read API.
    if name == "Api":
        from runyard.api import Api

        return Api
    raise AttributeError(f"module 'runyard' has no attribute {name!r}")


sys.modules[__name__].__class__ = _RunyardModule
