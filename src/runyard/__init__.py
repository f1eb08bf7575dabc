"""runyard: self-hosted experiment tracking with the wandb API.

``import runyard as wandb``: most training scripts run unchanged (docs/sdk.md says what does not yet)::

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
    from runyard import util
    from runyard.api import Api
    from runyard.artifacts import Artifact
    from runyard.media import Audio, Histogram, Html, Image, Molecule, Object3D, Table, Video, plot, plot_table
    from runyard.sdk.alerts import AlertLevel
    from runyard.sdk.api import (
        alert,
        define_metric,
        finish,
        log,
        login,
        mark_preempting,
        require,
        setup,
        teardown,
        unwatch,
        watch,
    )
    from runyard.sdk.artifact_api import log_artifact, log_code, log_model, restore, save, use_artifact, use_model
    from runyard.sdk.init import init
    from runyard.sdk.metrics import Metric
    from runyard.sdk.run import Run
    from runyard.sdk.sweeps import agent, sweep
    from runyard.sdk.term import termerror, termlog, termsetup, termwarn
    from runyard.settings import Settings

__version__ = "0.1.0"

__all__ = [
    "AlertLevel",
    "Api",
    "Artifact",
    "Audio",
    "Error",
    "Histogram",
    "Html",
    "Image",
    "Metric",
    "Molecule",
    "Object3D",
    "Run",
    "Settings",
    "Table",
    "Video",
    "__version__",
    "agent",
    "alert",
    "config",
    "define_metric",
    "errors",
    "finish",
    "init",
    "log",
    "log_artifact",
    "log_code",
    "log_model",
    "login",
    "mark_preempting",
    "plot",
    "plot_table",
    "require",
    "restore",
    "run",
    "save",
    "setup",
    "summary",
    "sweep",
    "teardown",
    "termerror",
    "termlog",
    "termsetup",
    "termwarn",
    "unwatch",
    "use_artifact",
    "use_model",
    "util",
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
    "mark_preempting": "runyard.sdk.api",
    "alert": "runyard.sdk.api",
    "require": "runyard.sdk.api",
    "setup": "runyard.sdk.api",
    "teardown": "runyard.sdk.api",
    "termlog": "runyard.sdk.term",
    "termwarn": "runyard.sdk.term",
    "termerror": "runyard.sdk.term",
    "termsetup": "runyard.sdk.term",
    "AlertLevel": "runyard.sdk.alerts",
    "Metric": "runyard.sdk.metrics",
    "Run": "runyard.sdk.run",
    "Settings": "runyard.settings",
    "Api": "runyard.api",
    "Image": "runyard.media",
    "Histogram": "runyard.media",
    "Table": "runyard.media",
    "Audio": "runyard.media",
    "Video": "runyard.media",
    "Html": "runyard.media",
    "Object3D": "runyard.media",
    "Molecule": "runyard.media",
    "plot": "runyard.media",
    "plot_table": "runyard.media",
    "Artifact": "runyard.artifacts",
    "log_artifact": "runyard.sdk.artifact_api",
    "use_artifact": "runyard.sdk.artifact_api",
    "log_model": "runyard.sdk.artifact_api",
    "use_model": "runyard.sdk.artifact_api",
    "log_code": "runyard.sdk.artifact_api",
    "save": "runyard.sdk.artifact_api",
    "restore": "runyard.sdk.artifact_api",
    "sweep": "runyard.sdk.sweeps",
    "agent": "runyard.sdk.sweeps",
}
# Modules reached as attributes, as wandb's are: ``wandb.util.generate_id()``.
_SUBMODULES = frozenset({"util"})


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
    return sorted({*globals(), *_LAZY, *_SUBMODULES, "config", "run", "summary"})


def __getattr__(name: str) -> Any:
    if name in _SUBMODULES:
        return importlib.import_module(f"runyard.{name}")
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'runyard' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # found directly from now on
    return value


sys.modules[__name__].__class__ = _RunyardModule
