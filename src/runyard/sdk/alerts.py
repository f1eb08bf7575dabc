"""``AlertLevel`` and ``run.alert()``: accepted as in W&B, and a documented no-op until alerts exist.

W&B sends an alert as an email or a Slack message to the run's owner. runyard has no notification channel yet,
so ``alert()`` checks its arguments as W&B does, warns once that nothing was sent, and returns: a script that
alerts on divergence keeps training.
"""

from __future__ import annotations

from datetime import timedelta
from enum import Enum

from runyard.sdk.term import warn_once

__all__ = ["AlertLevel", "check_alert"]


class AlertLevel(Enum):
    """How urgent an alert is, as ``wandb.AlertLevel``."""

    INFO = "INFO"
    WARN = "WARN"
    ERROR = "ERROR"


def check_alert(
    title: str, text: str, level: str | AlertLevel | None, wait_duration: int | float | timedelta | None
) -> None:
    """Validate an ``alert()`` call as W&B does, then warn (once per process) that it was not sent.

    Raises:
        ValueError: ``level`` is not an ``AlertLevel`` or one of its names, or ``wait_duration`` is negative.
        TypeError: ``wait_duration`` is neither seconds nor a ``timedelta``.
    """
    if level is not None and not isinstance(level, AlertLevel):
        names = [member.value for member in AlertLevel]
        if level not in names:
            raise ValueError(f"level must be an AlertLevel or one of {', '.join(names)}; got {level!r}")
    if wait_duration is not None:
        if isinstance(wait_duration, timedelta):
            seconds = wait_duration.total_seconds()
        elif isinstance(wait_duration, (int, float)) and not isinstance(wait_duration, bool):
            seconds = float(wait_duration)
        else:
            raise TypeError(
                f"wait_duration must be seconds or a datetime.timedelta, not {type(wait_duration).__name__}"
            )
        if seconds < 0:
            raise ValueError(f"wait_duration must not be negative; got {wait_duration!r}")
    warn_once(
        "alert",
        f"runyard: alerts are not supported yet: alert {str(title)[:80]!r} was not sent, and later ones will not be "
        "either; the run goes on.",
        stacklevel=3,
    )
