"""The background reader: tails a session's run log and hands batches of records to a sink.

It runs as a daemon thread of the ingester process (:mod:`runyard.sinks.daemon`), or of the training process
itself. The training thread never waits for it: the run log is the hand-off, so a slow or unavailable store
costs the training loop nothing, and whatever the thread has not ingested when the process dies is replayed
later by ``runyard sync``.

It also carries requests back: about once a second it asks the sink whether someone asked the run to stop
(the web app's "stop"), and if so calls ``on_stop`` once per request, which interrupts the training process's
main thread (by default :func:`_thread.interrupt_main`, right when the thread lives in the training process;
the ingester process sends SIGINT instead). The SDK's exit hooks then end the run ``killed``, as after a Ctrl-C.
"""

from __future__ import annotations

import _thread
import threading
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

from runyard.records import KIND_GAP
from runyard.runlog import LogEnd, RunLogReader
from runyard.sinks.base import Sink

_MAX_BACKOFF = 5.0
BATCH_BYTES = 256 * 1024
"""Run-log bytes per batch: a few thousand rows, so that a burst of logging is ingested in bounded memory."""
STOP_POLL_INTERVAL = 1.0
"""Seconds between two checks whether the run was asked to stop: one indexed read each."""


class Ingester(threading.Thread):
    """Ingests one session's run log into a sink until told to stop and the log is drained."""

    def __init__(
        self,
        path: Path,
        session: str,
        sink_factory: Callable[[], Sink],
        *,
        interval: float = 0.25,
        heartbeat_interval: float = 30.0,
        on_stop: Callable[[], None] | None = _thread.interrupt_main,
        stop_poll_interval: float = STOP_POLL_INTERVAL,
    ) -> None:
        """Prepare the thread; :meth:`start` starts it.

        Args:
            path: the session's run log.
            session: the session id.
            sink_factory: opens the sink, on the thread (the store is not opened on the training thread).
            interval: seconds to wait between reads when the log has nothing new.
            heartbeat_interval: seconds between heartbeats while nothing new arrives.
            on_stop: called when the run is asked to stop (once per request); None disables the check.
            stop_poll_interval: seconds between two checks for a stop request.
        """
        super().__init__(name=f"runyard-ingest-{session[:8]}", daemon=True)
        self.path = path
        self.session = session
        self._sink_factory = sink_factory
        self._interval = interval
        self._heartbeat_interval = heartbeat_interval
        self._on_stop = on_stop
        self._stop_poll_interval = stop_poll_interval
        self.stop_delivered: float | None = None  # the time of the last stop request passed to on_stop
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._progress = threading.Condition()
        self.ingested_seq = 0
        self._target = 0  # the seq drain() waits for
        self.lost: list[tuple[int, int]] = []
        """Records the run log lost to damage (first, last seq), each accepted by the sink as a gap."""
        self.stored_steps: int | None = None
        """Steps the sink holds for the run once the thread stopped after a drain (read back), if it could tell."""
        self.log_end: LogEnd | None = None
        """What followed the last whole record when the thread stopped (a torn record, damaged bytes)."""
        self.errors = 0
        self.last_error: BaseException | None = None
        self._warned = False
        self.sink: Sink | None = None

    # -- called from the training thread
    def drain(self, seq: int, timeout: float) -> bool:
        """Stop after ingesting every record up to ``seq``; True when that happened within ``timeout``."""
        self._target = seq
        self._stopping.set()
        self._wake.set()
        deadline = time.monotonic() + timeout
        with self._progress:
            while self.ingested_seq < seq and self.is_alive():
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._progress.wait(min(left, 0.5))
        self.join(max(0.0, min(2.0, deadline - time.monotonic())))
        return self.ingested_seq >= seq

    # -- the thread
    def run(self) -> None:
        reader = RunLogReader(self.path)
        pending: list[list[Any]] = []
        waited_on = -1  # pending bytes seen by the last empty read while stopping
        backoff = self._interval
        next_heartbeat = time.monotonic() + self._heartbeat_interval
        next_stop_check = time.monotonic() + self._stop_poll_interval
        try:
            while True:
                stopping = self._stopping.is_set()
                try:
                    # Checked before reading, so that a run logging without pause is still stopped on time.
                    if not stopping and time.monotonic() >= next_stop_check:
                        next_stop_check = time.monotonic() + self._stop_poll_interval
                        self._check_stop()
                    if not pending:
                        # Once stopping, the writer is done: a partial frame followed by whole ones is damage.
                        pending = reader.read(BATCH_BYTES, final=stopping)
                    if pending:
                        sink = self._sink()
                        last = sink.ingest(pending, session=self.session)
                        self.lost.extend((r[2]["first"], r[2]["last"]) for r in pending if r[1] == KIND_GAP)
                        pending = []
                        with self._progress:
                            self.ingested_seq = last
                            self._progress.notify_all()
                        backoff = self._interval
                        continue  # more may be waiting: read again before sleeping
                    if stopping:
                        # A record still arriving (its bytes grew since the last look) is waited for; a torn
                        # one, left by a writer that died, is not.
                        if self.ingested_seq < self._target and reader.pending_bytes not in (0, waited_on):
                            waited_on = reader.pending_bytes
                            self._wake.wait(self._interval)
                            self._wake.clear()
                            continue
                        self.log_end = reader.end()
                        return
                    now = time.monotonic()
                    if now >= next_heartbeat:
                        self._sink().heartbeat(self.session, time.time())
                        next_heartbeat = now + self._heartbeat_interval
                except Exception as exc:  # background I/O never raises into training: retry, count, warn once
                    self.errors += 1
                    self.last_error = exc
                    if not self._warned:
                        self._warned = True
                        warnings.warn(
                            f"runyard: could not ingest {self.path.name} yet ({exc}); retrying. "
                            "Nothing is lost: the run log keeps every record.",
                            RuntimeWarning,
                            stacklevel=1,
                        )
                    if stopping and self.errors > 3:
                        return
                    backoff = min(_MAX_BACKOFF, backoff * 2)
                    self._wake.wait(backoff)
                    self._wake.clear()
                    continue
                self._wake.wait(self._interval)
                self._wake.clear()
        finally:
            reader.close()
            if self.sink is not None:
                if self._stopping.is_set():
                    try:
                        self.stored_steps = self.sink.stored_steps(self.session)
                    except Exception:
                        pass  # finish() then says it cannot tell
                try:
                    self.sink.close()
                except Exception:
                    pass
            with self._progress:
                self._progress.notify_all()

    def report(self, ok: bool) -> dict[str, Any]:
        """What a drain achieved, as the ingester process reports it to ``finish()`` (JSON-able)."""
        damage = self.log_end.damage if self.log_end is not None else None
        return {
            "seq": self.ingested_seq,
            "ok": ok,
            "steps": self.stored_steps,
            "lost": self.lost,
            "damaged_tail": None if damage is None else [damage.start, damage.end],
            "error": None if ok or self.last_error is None else str(self.last_error),
        }

    def _check_stop(self) -> None:
        """Interrupt the training process once for each new stop request."""
        if self._on_stop is None or self.sink is None:
            return  # no sink yet: the first batch (the start record) has not been ingested
        asked = self.sink.stop_requested_at(self.session)
        if asked is not None and asked != self.stop_delivered:
            self.stop_delivered = asked
            self._on_stop()

    def _sink(self) -> Sink:
        if self.sink is None:
            self.sink = self._sink_factory()
        return self.sink
