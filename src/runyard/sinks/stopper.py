"""How the ingester process stops its training process when someone asks the run to stop.

The web app's Stop (or ``wandb.Api().run(path).stop()``) marks the run; its ingester process
(:mod:`runyard.sinks.daemon`) notices within about a second and asks a :class:`Stopper` to stop the trainer.

SIGINT comes first: Python raises KeyboardInterrupt in the main thread, the script's ``finally`` blocks and
``except KeyboardInterrupt`` handlers run as on Ctrl-C, and the SDK's exit hooks end the run ``killed``. But
SIGINT alone does not always stop a trainer:

- a process started in the background of a non-interactive shell (``python train.py &`` in a job script,
  ``nohup``) inherits SIGINT ignored, and Python then installs no handler: the signal does nothing at all;
- a script may catch KeyboardInterrupt and carry on, or install its own SIGINT handler;
- the main thread may be stuck in native code (a collective that waits forever, a C loop) that never
  returns to the interpreter to raise the exception.

So the stop escalates. A signal the trainer ignores is skipped (its ``SigIgn`` mask in ``/proc/PID/status``,
where there is one). If the trainer still lives :data:`GRACE_S` seconds after SIGINT, it
gets SIGTERM (which ends a Python process at once unless the script handles it, as Lightning and
Accelerate do to save a checkpoint); :data:`GRACE_S` later, SIGKILL. Asking to stop again while it runs moves
to the next signal at once ("stop" twice is "force stop"). Nothing logged is lost on the way: every
``log()`` is in the run log before it returns, and the ingester stores it all once the trainer is gone; the
run then ends ``killed`` (see :func:`runyard.store.ingest.mark_crashed`), not crashed.

Signals go only to the ingester's own parent, and only while it is alive: once it is gone, its pid may
belong to an unrelated process.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path

__all__ = ["GRACE_S", "Stopper", "ignored_signals"]

GRACE_S = 30.0
"""Seconds a trainer has to stop after each signal before the next, stronger one."""

_LADDER = (signal.SIGINT, signal.SIGTERM, signal.SIGKILL)


def ignored_signals(pid: int) -> set[int] | None:
    """The signals process ``pid`` ignores (SIG_IGN), from ``/proc/PID/status``; None where that is unknown."""
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    for line in text.splitlines():
        if line.startswith("SigIgn:"):
            mask = int(line.split(":", 1)[1].strip(), 16)
            return {bit + 1 for bit in range(64) if mask >> bit & 1}
    return None


class Stopper:
    """Escalates from SIGINT to SIGTERM to SIGKILL until the training process ``pid`` is gone.

    :meth:`request` is called for each stop request (from the ingester's thread); :meth:`tick` regularly
    (from the daemon's loop) sends the next signal once the grace period has passed.
    """

    def __init__(
        self,
        pid: int,
        alive: Callable[[], bool],
        *,
        grace: float = GRACE_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.pid = pid
        self.grace = grace
        self.sent: list[int] = []  # the signals sent so far, in order
        self._alive = alive
        self._clock = clock
        self._next_at: float | None = None  # when to send the next signal; None: not stopping
        self._lock = threading.Lock()

    def request(self) -> None:
        """A stop was asked for: send the first signal that can work, or, if stopping already, the next one."""
        with self._lock:
            self._send_next()

    def tick(self) -> None:
        """Send the next signal if the trainer outlived the grace period of the last one."""
        with self._lock:
            if self._next_at is not None and self._clock() >= self._next_at:
                self._send_next()

    def _send_next(self) -> None:
        if not self._alive():
            self._next_at = None
            return
        start = _LADDER.index(signal.Signals(self.sent[-1])) + 1 if self.sent else 0
        ignored = ignored_signals(self.pid) or set()
        # A signal the trainer ignores would only waste a grace period: go on to the next at once.
        remaining = [sig for sig in _LADDER[start:] if sig not in ignored or sig == signal.SIGKILL]
        if not remaining:  # SIGKILL was sent: nothing stronger exists
            self._next_at = None
            return
        sig = remaining[0]
        try:
            os.kill(self.pid, sig)
        except OSError:
            self._next_at = None
            return
        self.sent.append(int(sig))
        self._next_at = self._clock() + self.grace if sig != signal.SIGKILL else None
