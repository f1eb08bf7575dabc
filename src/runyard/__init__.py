"""runyard: self-hosted experiment tracking with the wandb API.

``import runyard as wandb`` and keep your training script as it is::

    import runyard as wandb

    with wandb.init(project="mnist", config={"lr": 3e-4}) as run:
        for step in range(100):
            wandb.log({"loss": 1 / (step + 1)})
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import TYPE_CHECKING, Any

from runyard import errors
from runyard.errors import Error

if TYPE_CHECKING:
    from runyard.api import Api
    from runyard.sdk.api import define_metric, finish, log, login, unwatch, watch
    from runyard.sdk.init import init
    from runyard.sdk.metrics import Metric
    from runyard.sdk.run import Run
    from runyard.settings import Settings

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

# The SDK loads on first use of one of these names, not on `import runyard`: the ingester process imports
# runyard.sinks (and so this package) and needs none of it; a training script touches runyard.init at once.
_LAZY = {
    "init": "runyard.sdk.init",
    "log": "runyard.sdk.api",
    "finish": "runyard.sdk.api",
    "define_metric": "runyard.sdk.api",
    "login": "runyard.sdk.api",
    "watch": "runyard.sdk.api",
    "unwatch": "runyard.sdk.api",
    "Metric": "runyard.sdk.metrics",
    "Run": "runyard.sdk.run",
    "Settings": "runyard.settings",
    "Api": "runyard.api",
}


class _RunyardModule(types.ModuleType):
    """Makes ``runyard.run``, ``runyard.config`` and ``runyard.summary`` follow the active run."""

    @property
    def run(self) -> Run | None:
        from runyard.sdk import lifecycle

        return lifecycle.active_run()

    @property
    def config(self) -> Any:
        active = self.run
        return active.config if active is not None else _pre_init("config")

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
        return active.summary if active is not None else _pre_init("summary")


def _pre_init(name: str) -> Any:
    """The stand-in for ``runyard.config``/``runyard.summary`` before ``init()`` (one per name)."""
    found = _PRE_INIT.get(name)
    if found is None:
        from runyard.sdk.api import PreInit

        found = _PRE_INIT[name] = PreInit(name)
    return found


_PRE_INIT: dict[str, Any] = {}


def __dir__() -> list[str]:
    # Tab completion (IPython, notebooks) lists the SDK's names before they are first used.
    return sorted({*globals(), *_LAZY, "config", "run", "summary"})


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'runyard' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # found directly from now on
    return value


sys.modules[__name__].__class__ = _RunyardModule
