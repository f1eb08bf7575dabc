"""The embedded sink: records go straight into a store in this process."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from runyard.store import ResumeState, Store


class LocalSink:
    """Writes records into the store at ``url`` (opened on first use, off the training thread)."""

    def __init__(self, url: str, crash_timeout: float = 300.0) -> None:
        self.url = url
        self.crash_timeout = crash_timeout
        self._store: Store | None = None

    @property
    def store(self) -> Store:
        if self._store is None:
            from runyard.store import Store  # deferred: SQLAlchemy stays off `import runyard`

            self._store = Store.open(self.url, crash_timeout=self.crash_timeout)
        return self._store

    def ingest(self, records: Sequence[list[Any]], *, session: str) -> int:
        return self.store.ingest(records, session=session)

    def progress(self, session: str) -> int:
        return self.store.session_progress(session)

    def heartbeat(self, session: str, t: float) -> None:
        self.store.heartbeat(session, t)

    def stop_requested_at(self, session: str) -> float | None:
        return self.store.stop_requested_at(session)

    def mark_crashed(self, session: str) -> None:
        self.store.mark_crashed(session)

    def resume_state(self, entity: str, project: str, run_id: str) -> ResumeState | None:
        return self.store.resume_state(entity, project, run_id)

    def close(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None
