"""Messages to the terminal: W&B's ``termlog``, ``termwarn`` and ``termerror``, and warnings given once.

Libraries written for wandb print through ``wandb.termlog(...)``; with ``import runyard as wandb`` the same
lines go to stderr with a ``runyard:`` prefix, and are dropped when runyard is silent (``RUNYARD_SILENT`` /
``WANDB_SILENT``, or the active run's ``silent`` setting).
"""

from __future__ import annotations

import sys
import threading
import warnings
from typing import Any

from runyard.settings import env_value

__all__ = ["termerror", "termlog", "termsetup", "termwarn", "warn_once"]

_PREFIX = "runyard: "
_printed: set[str] = set()
_warned: set[str] = set()
_lock = threading.Lock()


def _silent() -> bool:
    from runyard.sdk import lifecycle

    run = lifecycle.active_run()
    if run is not None:
        return run.settings.silent
    return (env_value("SILENT") or "").strip().lower() in ("1", "true", "yes", "on")


def _print(text: str, newline: bool, repeat: bool, prefix: bool) -> None:
    if _silent():
        return
    with _lock:
        if not repeat and text in _printed:
            return
        _printed.add(text)
    lines = text.split("\n")
    if prefix:
        lines = [_PREFIX + line for line in lines]
    sys.stderr.write("\n".join(lines) + ("\n" if newline else ""))
    sys.stderr.flush()


def termlog(string: str = "", newline: bool = True, repeat: bool = True, prefix: bool = True) -> None:
    """Print an informational message to stderr, as ``wandb.termlog``.

    Args:
        string: the message; several lines are each prefixed.
        newline: end it with a newline.
        repeat: False prints it only if this exact message was not printed before.
        prefix: start each line with ``runyard:``.
    """
    _print(str(string), newline, repeat, prefix)


def termwarn(string: str, newline: bool = True, repeat: bool = True, prefix: bool = True) -> None:
    """Print a warning to stderr (each line starts ``WARNING``), as ``wandb.termwarn``; see :func:`termlog`."""
    _print("\n".join(f"WARNING {line}" for line in str(string).split("\n")), newline, repeat, prefix)


def termerror(string: str, newline: bool = True, repeat: bool = True, prefix: bool = True) -> None:
    """Print an error to stderr (each line starts ``ERROR``), as ``wandb.termerror``; see :func:`termlog`."""
    _print("\n".join(f"ERROR {line}" for line in str(string).split("\n")), newline, repeat, prefix)


def termsetup(settings: Any = None, logger: Any = None) -> None:
    """Accepted for wandb compatibility: runyard's terminal messages follow the ``silent`` setting by themselves."""


def warn_once(key: str, message: str, stacklevel: int = 2) -> None:
    """Issue ``message`` as a ``UserWarning`` the first time ``key`` comes up in this process."""
    with _lock:
        if key in _warned:
            return
        _warned.add(key)
    warnings.warn(message, UserWarning, stacklevel=stacklevel + 1)
