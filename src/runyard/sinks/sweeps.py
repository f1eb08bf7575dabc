"""How the SDK and the CLI reach a store's sweeps (``store.sweeps``): the embedded store, opened here
(:class:`LocalSweepClient`), or a runyard server's sweep API (:class:`HttpSweepClient`, after ``runyard login``).

The SDK layer does not import the store; its agents and ``runyard.sweep`` go through :func:`SweepClient`.
"""

from __future__ import annotations

import json
import threading
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from runyard.errors import UnsupportedError

if TYPE_CHECKING:
    from runyard.settings import ResolvedSettings
    from runyard.store import Store

__all__ = ["HttpSweepClient", "LocalSweepClient", "SweepClient"]


def SweepClient(settings: ResolvedSettings) -> Any:
    """The sweeps where ``settings`` send runs: a runyard server's, or the embedded store's."""
    if settings.base_url is not None:
        if not settings.api_key:
            raise UnsupportedError(f"sweeps on {settings.base_url} need an API key: run `runyard login` first")
        return HttpSweepClient(settings.base_url, settings.api_key)
    return LocalSweepClient(settings)


class LocalSweepClient:
    """The sweeps of the store that ``settings`` name (the embedded store: SQLite or PostgreSQL)."""

    def __init__(self, settings: ResolvedSettings) -> None:
        from runyard.store import Store  # deferred: SQLAlchemy stays off `import runyard`

        self.store_url: str | None = settings.store_url
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


@dataclass(frozen=True)
class RemoteSweep:
    """A sweep as a runyard server describes it."""

    entity: str
    project: str
    sweep_id: str
    path: str
    name: str
    method: str
    state: str
    config: dict[str, Any]


@dataclass(frozen=True)
class RemoteAssignment:
    """The next run a server's controller gave an agent."""

    run_id: str
    params: dict[str, Any]
    seq: int


class HttpSweepClient:
    """A runyard server's sweeps, through its sweep API (``/api/v1/ingest/sweeps``, with the API key)."""

    store_url: str | None = None  # the runs go where the agent's own settings send them: the same server

    def __init__(self, base_url: str, api_key: str) -> None:
        from runyard.sinks.http import HttpSink

        self._sink = HttpSink(base_url, api_key, connect_timeout=10.0, read_timeout=60.0)
        self._lock = threading.Lock()  # the agent's watch thread and its main thread share the connection

    def close(self) -> None:
        self._sink.close()

    def _call(self, method: str, path: str, body: Any = None) -> dict[str, Any]:
        data = None if body is None else json.dumps(body).encode()
        headers = {"Content-Type": "application/json"} if data is not None else None
        with self._lock:
            return self._sink._json(self._sink._send(method, "/sweeps" + path, data, headers))

    @staticmethod
    def _sweep(data: dict[str, Any]) -> RemoteSweep:
        return RemoteSweep(**{k: data[k] for k in RemoteSweep.__dataclass_fields__})

    @staticmethod
    def _at(sweep: RemoteSweep) -> str:
        return "/" + "/".join(urllib.parse.quote(p, safe="") for p in (sweep.entity, sweep.project, sweep.sweep_id))

    def create(self, entity: str, project: str, config: Mapping[str, Any], username: str) -> RemoteSweep:
        return self._sweep(self._call("POST", "", {"entity": entity, "project": project, "config": dict(config)}))

    def find(self, path: str, entity: str | None = None, project: str | None = None) -> RemoteSweep:
        query = {"path": path, **({"entity": entity} if entity else {}), **({"project": project} if project else {})}
        return self._sweep(self._call("GET", "/find?" + urllib.parse.urlencode(query)))

    def register_agent(self, sweep: RemoteSweep, pid: int) -> str:
        import socket

        return str(
            self._call("POST", self._at(sweep) + "/agents", {"host": socket.gethostname(), "pid": pid})["agent_id"]
        )

    def next_run(self, sweep: RemoteSweep, agent_id: str) -> RemoteAssignment | str:
        got = self._call("POST", f"{self._at(sweep)}/agents/{urllib.parse.quote(agent_id, safe='')}/next", {})
        if "state" in got:
            return str(got["state"])
        return RemoteAssignment(str(got["run_id"]), dict(got["params"]), int(got["seq"]))

    def heartbeat(self, sweep: RemoteSweep, agent_id: str) -> str:
        return str(
            self._call("POST", f"{self._at(sweep)}/agents/{urllib.parse.quote(agent_id, safe='')}/heartbeat", {})[
                "state"
            ]
        )

    def early_terminate(self, sweep: RemoteSweep) -> list[str]:
        return [str(r) for r in self._call("POST", self._at(sweep) + "/early-terminate", {})["stopped"]]

    def stopped_by_sweep(self, sweep: RemoteSweep, run_id: str) -> bool:
        found = self._call("GET", f"{self._at(sweep)}/runs/{urllib.parse.quote(run_id, safe='')}")
        return found.get("stopped_by_sweep") is not None

    def control(self, sweep: RemoteSweep, action: str) -> RemoteSweep:
        return self._sweep(self._call("POST", f"{self._at(sweep)}/control/{action}", {}))
