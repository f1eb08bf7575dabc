"""How the SDK and the CLI reach a store's sweeps (``store.sweeps``): the embedded store, opened here.

The SDK layer does not import the store; its agents and ``runyard.sweep`` go through :class:`SweepClient`.
Sweeps against a runyard server are not reached this way yet (see docs/sweeps.md).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from runyard.errors import UnsupportedError

if TYPE_CHECKING:
    from runyard.settings import ResolvedSettings
    from runyard.store import Store

__all__ = ["SweepClient"]


class SweepClient:
    """The sweeps of the store that ``settings`` name (the embedded store: SQLite or PostgreSQL)."""

    def __init__(self, settings: ResolvedSettings) -> None:
        if settings.base_url is not None:
            raise UnsupportedError(
                f"sweeps on a runyard server ({settings.base_url}) are not supported yet: run the sweep and its "
                "agents on the server's store (RUNYARD_STORE_URL, e.g. a shared PostgreSQL) instead"
            )
        from runyard.store import Store  # deferred: SQLAlchemy stays off `import runyard`

        self.store_url = settings.store_url
        self.store: Store = Store.open(settings.store_url, crash_timeout=settings.crash_timeout)

    def close(self) -> None:
        self.store.close()

    def create(self, entity: str, project: str, config: Mapping[str, Any], username: str) -> Any:
        return self.store.sweeps.create(entity, project, config, username=username)

    def find(self, path: str, entity: str | None = None, project: str | None = None) -> Any:
        return self.store.sweeps.find(path, entity=entity, project=project)

    def register_agent(self, sweep: Any, pid: int) -> str:
        return self.store.sweeps.register_agent(sweep, pid=pid)

    def next_run(self, sweep: Any, agent_id: str) -> Any:
        return self.store.sweeps.next_run(sweep, agent_id)

    def heartbeat(self, sweep: Any, agent_id: str) -> str:
        return self.store.sweeps.agent_heartbeat(sweep, agent_id)

    def early_terminate(self, sweep: Any) -> list[str]:
        return self.store.sweeps.early_terminate(sweep)

    def stopped_by_sweep(self, sweep: Any, run_id: str) -> bool:
        return any(r.run_id == run_id and r.stopped_at is not None for r in self.store.sweeps.runs(sweep))

    def control(self, sweep: Any, action: str) -> Any:
        return self.store.sweeps.control(sweep, action)
