"""``Api().sweep(path)``: a sweep, its runs and its best run, as ``wandb.Api().sweep()`` returns them."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from runyard.api.runs import Run

if TYPE_CHECKING:
    from runyard.api.api import Api
    from runyard.store.sweeps.models import SweepRecord

__all__ = ["Sweep"]


class Sweep:
    """A sweep of the store.

    Attributes:
        id: the sweep's id.
        entity: the entity of its project.
        project: the project its runs belong to.
        config: the sweep config, as given (a dict).
        state: ``RUNNING``, ``PAUSED``, ``FINISHED`` or ``CANCELED``.
        name: its name (the config's ``name``, else its id).
    """

    def __init__(self, api: Api, record: SweepRecord) -> None:
        self._api = api
        self._record = record
        self.id = record.sweep_id
        self.entity = record.entity
        self.project = record.project
        self.config: dict[str, Any] = dict(record.config)
        self.state = record.state
        self.name = record.name

    @property
    def path(self) -> list[str]:
        """``[entity, project, id]``, as W&B's."""
        return [self.entity, self.project, self.id]

    @property
    def runs(self) -> list[Run]:
        """The sweep's runs that have started, in the order the controller assigned them."""
        return [Run(self._api, r.run) for r in self._api._store.sweeps.runs(self._record) if r.run is not None]

    def best_run(self, order: str | None = None) -> Run | None:
        """The run with the best value of the sweep's metric (its goal decides), or None before one has it."""
        found = self._api._store.sweeps.best_run(self._record)
        return None if found is None or found.run is None else Run(self._api, found.run)

    def pareto_front(self) -> list[Run]:
        """The runs of a multi-objective sweep (``metrics:``) that no other run beats on every metric."""
        return [Run(self._api, r.run) for r in self._api._store.sweeps.pareto_front(self._record) if r.run]

    def load(self, force: bool = False) -> None:
        """Read the sweep's state again."""
        self._record = self._api._store.sweeps.find(self._record.path)
        self.state = self._record.state

    def __repr__(self) -> str:
        return f"<Sweep {self._record.path} ({self.state})>"
