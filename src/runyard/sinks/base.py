"""The small interface every sink implements."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol


class Sink(Protocol):
    """Receives the records of one session, in order, possibly more than once (ingestion is idempotent).

    :class:`~runyard.sinks.LocalSink` writes a store in this process; :class:`~runyard.sinks.http.HttpSink` sends
    to a runyard server. Errors are raised (the ingester retries with back-off; the run log keeps the records).
    """

    def ingest(self, records: Sequence[list[Any]], *, session: str) -> int:
        """Apply records; return the session's last applied sequence number."""

    def progress(self, session: str) -> int:
        """The session's last applied sequence number (0 when the sink has none of it)."""

    def stored_steps(self, session: str) -> int:
        """How many steps (history rows) the sink holds for the session's run, read back."""

    def heartbeat(self, session: str, t: float) -> None:
        """Tell the sink the session's process is alive at unix time ``t``."""

    def stop_requested_at(self, session: str) -> float | None:
        """When someone last asked the session's run to stop (the web app's "stop", ``POST .../stop``), or None."""

    def mark_crashed(self, session: str) -> None:
        """The session's process died without finishing: its run reads crashed now (not after the timeout)."""

    def close(self) -> None:
        """Release connections."""
