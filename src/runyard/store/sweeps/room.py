"""``store.sweeps``: sweeps, their controller state and their agents, in the store (SQLite or PostgreSQL).

The controller keeps no state of its own: each :meth:`Sweeps.next_run` reads the sweep's assignments and
finished runs and records the new assignment in one write transaction (the sweep's row locked on PostgreSQL,
the database's write lock on SQLite). So a sweep survives any restart and continues exactly where it was, any
number of agents on any number of machines can ask at once, and ``UNIQUE (sweep_pk, grid_index)`` backs up
that no two of them ever receive the same grid point.
"""

from __future__ import annotations

import math
import socket
import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from runyard.errors import ConflictError, NotFoundError, StoreError, UsageError
from runyard.names import new_run_id
from runyard.records import STATE_RUNNING
from runyard.store.ingest import _get_or_create
from runyard.store.models import RunRecord, effective_state
from runyard.store.run_values import indexable_key
from runyard.store.schema import entities, projects, run_values, runs
from runyard.store.sql import SqlaSql
from runyard.store.sweeps.models import Assignment, SweepRecord, SweepRun
from runyard.store.sweeps.tables import sweep_agents, sweep_runs, sweeps
from runyard.sweeps.config import SweepConfig, parse_sweep_config
from runyard.sweeps.hyperband import runs_to_stop
from runyard.sweeps.search import Observation, grid_size, pareto_front, suggest

if TYPE_CHECKING:
    from runyard.store.store import Store

__all__ = ["STATES", "Sweeps"]

STATES = ("RUNNING", "PAUSED", "FINISHED", "CANCELED")
# What each control does, from which states (W&B: stop lets running runs finish, cancel stops them too).
_CONTROLS = {
    "pause": ({"RUNNING"}, "PAUSED"),
    "resume": ({"PAUSED"}, "RUNNING"),
    "stop": ({"RUNNING", "PAUSED"}, "FINISHED"),
    "cancel": ({"RUNNING", "PAUSED", "FINISHED"}, "CANCELED"),
}
STOPPED_BY_HYPERBAND = "hyperband"
STOPPED_BY_CANCEL = "sweep canceled"


def _metric_value(summary: Mapping[str, Any], name: str) -> float | None:
    value: Any = summary.get(name)
    if value is None and "." in name:
        value = summary
        for part in name.split("."):
            value = value.get(part) if isinstance(value, Mapping) else None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    return float(value)


class Sweeps:
    """The sweeps of a store (``store.sweeps``)."""

    def __init__(self, store: Store) -> None:
        self._store = store

    # -- sweeps --------------------------------------------------------------------------------------------

    def create(
        self, entity: str, project: str, config: Mapping[str, Any], *, username: str = "", sweep_id: str | None = None
    ) -> SweepRecord:
        """Create a sweep (state RUNNING) in ``entity/project``; the config is checked first.

        Raises:
            runyard.errors.SweepConfigError: the config is invalid (the message names the key).
            runyard.errors.ConflictError: ``sweep_id`` is taken in the project.
        """
        parsed = parse_sweep_config(config)
        sweep_id = sweep_id or new_run_id()
        now = time.time()
        try:
            with self._store._write_engine.begin() as conn:
                sql = SqlaSql(conn)
                entity_id = _get_or_create(sql, "entities", {"name": entity}, {"created_at": now})
                project_id = _get_or_create(
                    sql,
                    "projects",
                    {"entity_id": entity_id, "name": project},
                    {"created_at": now, "last_activity": now},
                )
                taken = conn.execute(
                    sa.select(sweeps.c.id).where(sweeps.c.project_id == project_id, sweeps.c.sweep_id == sweep_id)
                ).scalar()
                if taken is not None:
                    raise ConflictError(f"sweep {entity}/{project}/{sweep_id} exists already")
                conn.execute(
                    sweeps.insert().values(
                        project_id=project_id,
                        sweep_id=sweep_id,
                        name=parsed.name or sweep_id,
                        method=parsed.method,
                        config=parsed.raw,
                        state="RUNNING",
                        username=username,
                        created_at=now,
                        updated_at=now,
                    )
                )
        except sa.exc.SQLAlchemyError as exc:
            raise StoreError(f"could not create a sweep in {entity}/{project}: {exc}") from exc
        found = self.get(entity, project, sweep_id)
        assert found is not None
        return found

    def _select(self) -> sa.Select[Any]:
        count = (
            sa.select(sa.func.count()).select_from(sweep_runs).where(sweep_runs.c.sweep_pk == sweeps.c.id)
        ).scalar_subquery()
        return (
            sa.select(sweeps, entities.c.name.label("entity"), projects.c.name.label("project"), count.label("n"))
            .select_from(sweeps.join(projects, projects.c.id == sweeps.c.project_id).join(entities))
            .order_by(sweeps.c.created_at.desc(), sweeps.c.id.desc())
        )

    @staticmethod
    def _record(row: Any) -> SweepRecord:
        return SweepRecord(
            pk=row["id"],
            entity=row["entity"],
            project=row["project"],
            sweep_id=row["sweep_id"],
            name=row["name"],
            method=row["method"],
            config=row["config"],
            state=row["state"],
            username=row["username"],
            created_at=row["created_at"],
            updated_at=row["updated_at"],
            run_count=int(row["n"] or 0),
        )

    def get(self, entity: str, project: str, sweep_id: str) -> SweepRecord | None:
        """The sweep ``entity/project/sweep_id``, or None."""
        with self._store.engine.connect() as conn:
            row = (
                conn.execute(
                    self._select().where(
                        entities.c.name == entity, projects.c.name == project, sweeps.c.sweep_id == sweep_id
                    )
                )
                .mappings()
                .first()
            )
        return None if row is None else self._record(row)

    def find(self, path: str, *, entity: str | None = None, project: str | None = None) -> SweepRecord:
        """The sweep a path names: ``entity/project/id``, ``project/id`` or a bare id (unique in the store).

        Raises:
            runyard.errors.NotFoundError: no such sweep, or a bare id that several projects have.
        """
        parts = [p for p in path.strip("/").split("/") if p]
        if len(parts) == 4 and parts[2] == "sweeps":  # entity/project/sweeps/id, as W&B's URLs have it
            parts = parts[:-2] + parts[-1:]
        if not parts or len(parts) > 3:
            raise UsageError(f"a sweep path is entity/project/sweep_id, project/sweep_id or sweep_id; got {path!r}")
        sweep_id = parts[-1]
        if len(parts) >= 2:
            project = parts[-2]
        if len(parts) == 3:
            entity = parts[0]
        query = self._select().where(sweeps.c.sweep_id == sweep_id)
        if project is not None:
            query = query.where(projects.c.name == project)
        if entity is not None:
            query = query.where(entities.c.name == entity)
        with self._store.engine.connect() as conn:
            rows = conn.execute(query.limit(2)).mappings().all()
        if not rows:
            raise NotFoundError(f"no sweep {path!r} in the store (runyard sweep CONFIG creates one)")
        if len(rows) > 1:
            raise NotFoundError(f"sweep id {sweep_id!r} exists in several projects: name it as entity/project/id")
        return self._record(rows[0])

    def of_project(self, entity: str, project: str) -> list[SweepRecord]:
        """The sweeps of a project, newest first."""
        with self._store.engine.connect() as conn:
            rows = conn.execute(self._select().where(entities.c.name == entity, projects.c.name == project))
            return [self._record(r) for r in rows.mappings()]

    def control(self, sweep: SweepRecord, action: str) -> SweepRecord:
        """``pause``, ``resume``, ``stop`` (no new runs; running runs finish) or ``cancel`` (running runs stop too).

        Raises:
            runyard.errors.ConflictError: the sweep's state does not allow it (resuming a finished sweep).
        """
        if action not in _CONTROLS:
            raise UsageError(f"unknown sweep control {action!r}; one of {', '.join(_CONTROLS)}")
        allowed, target = _CONTROLS[action]
        with self._store._write_engine.begin() as conn:
            state = self._lock(conn, sweep.pk)
            if state != target:
                if state not in allowed:
                    raise ConflictError(f"sweep {sweep.path} is {state}: cannot {action} it")
                self._set_state(conn, sweep.pk, target)
        if action == "cancel":
            for run in self.runs(sweep):
                if run.run is not None and run.run.state == STATE_RUNNING:
                    self._stop_run(sweep, run.run_id, STOPPED_BY_CANCEL)
        found = self.get(sweep.entity, sweep.project, sweep.sweep_id)
        assert found is not None
        return found

    def _lock(self, conn: Connection, pk: int) -> str:
        query = sa.select(sweeps.c.state).where(sweeps.c.id == pk)
        if conn.dialect.name == "postgresql":
            query = query.with_for_update()
        state = conn.execute(query).scalar()
        if state is None:
            raise NotFoundError("the sweep was deleted")
        return str(state)

    @staticmethod
    def _set_state(conn: Connection, pk: int, state: str) -> None:
        conn.execute(sweeps.update().where(sweeps.c.id == pk).values(state=state, updated_at=time.time()))

    # -- runs ----------------------------------------------------------------------------------------------

    def runs(self, sweep: SweepRecord) -> list[SweepRun]:
        """The sweep's runs in the order they were assigned, each with its run (None until it has started)."""
        now = time.time()
        with self._store.engine.connect() as conn:
            return self._runs(conn, sweep, now)

    def _runs(self, conn: Connection, sweep: SweepRecord, now: float) -> list[SweepRun]:
        joined = sweep_runs.join(sweeps, sweeps.c.id == sweep_runs.c.sweep_pk).outerjoin(
            runs, sa.and_(runs.c.project_id == sweeps.c.project_id, runs.c.run_id == sweep_runs.c.run_id)
        )
        rows = conn.execute(
            sa.select(sweep_runs, runs.c.id.label("run_pk"), *[c.label(f"r_{c.name}") for c in runs.c])
            .select_from(joined)
            .where(sweep_runs.c.sweep_pk == sweep.pk)
            .order_by(sweep_runs.c.seq)
        ).mappings()
        out = []
        timeout = self._store.crash_timeout
        for row in rows:
            run = None
            if row["run_pk"] is not None:
                fields = {c.name: row[f"r_{c.name}"] for c in runs.c}
                run = RunRecord.from_row(fields, sweep.entity, sweep.project, now, timeout)  # type: ignore[arg-type]
            out.append(
                SweepRun(
                    seq=row["seq"],
                    run_id=row["run_id"],
                    params=row["params"],
                    grid_index=row["grid_index"],
                    agent_id=row["agent_id"],
                    assigned_at=row["assigned_at"],
                    stopped_at=row["stopped_at"],
                    stop_reason=row["stop_reason"],
                    run=run,
                )
            )
        return out

    def best_run(self, sweep: SweepRecord) -> SweepRun | None:
        """The run with the best value of the sweep's (first) metric, or None before any run has one."""
        config = parse_sweep_config(sweep.config)
        metric = config.metric
        if metric is None:
            return None
        best: tuple[float, SweepRun] | None = None
        for run in self.runs(sweep):
            value = None if run.run is None else _metric_value(run.run.summary, metric.name)
            if value is not None and (best is None or metric.better(value, best[0])):
                best = (value, run)
        return None if best is None else best[1]

    def pareto_front(self, sweep: SweepRecord) -> list[SweepRun]:
        """The runs no other run beats on every metric of the sweep (its ``metrics:``; one metric: the best)."""
        config = parse_sweep_config(sweep.config)
        scored = []
        by_id = {}
        for run in self.runs(sweep):
            values = self._values(config, run)
            if values is not None:
                scored.append((run.run_id, values))
                by_id[run.run_id] = run
        return [by_id[i] for i in pareto_front(config, scored)]

    @staticmethod
    def _values(config: SweepConfig, run: SweepRun) -> tuple[float, ...] | None:
        if run.run is None or not config.objectives:
            return None
        values = tuple(_metric_value(run.run.summary, o.name) for o in config.objectives)
        if any(v is None for v in values):
            return None
        return tuple(float(v) for v in values if v is not None)

    # -- the controller ------------------------------------------------------------------------------------

    def next_run(self, sweep: SweepRecord, agent_id: str | None = None) -> Assignment | str:
        """Assign the next run of the sweep: its id and parameters; or, when there is none, the sweep's state.

        Returns a :class:`Assignment`, or a string: ``"PAUSED"`` (ask again later), ``"FINISHED"`` (run cap
        reached, grid exhausted, metric target met, or stopped) or ``"CANCELED"``.
        """
        config = parse_sweep_config(sweep.config)
        now = time.time()
        try:
            with self._store._write_engine.begin() as conn:
                state = self._lock(conn, sweep.pk)
                if state != "RUNNING":
                    return state
                count, taken, observations, reached = self._controller_state(conn, sweep, config, now)
                if (config.run_cap is not None and count >= config.run_cap) or reached:
                    self._set_state(conn, sweep.pk, "FINISHED")
                    return "FINISHED"
                found = suggest(config, index=count, observations=observations, taken_grid=taken, salt=sweep.sweep_id)
                if found is None:
                    self._set_state(conn, sweep.pk, "FINISHED")
                    return "FINISHED"
                run_id = new_run_id()
                conn.execute(
                    sweep_runs.insert().values(
                        sweep_pk=sweep.pk,
                        seq=count,
                        run_id=run_id,
                        params=found.params,
                        grid_index=found.grid_index,
                        agent_id=agent_id,
                        assigned_at=now,
                    )
                )
                if found.grid_index is not None and count + 1 >= grid_size(config):
                    # The last grid point: the sweep is finished (its running runs go on), as W&B shows it.
                    self._set_state(conn, sweep.pk, "FINISHED")
                if agent_id is not None:
                    conn.execute(
                        sweep_agents.update()
                        .where(sweep_agents.c.agent_id == agent_id)
                        .values(runs=sweep_agents.c.runs + 1, heartbeat_at=now)
                    )
        except sa.exc.SQLAlchemyError as exc:
            raise StoreError(f"could not assign the next run of sweep {sweep.path}: {exc}") from exc
        return Assignment(sweep=sweep, seq=count, run_id=run_id, params=found.params)

    def _controller_state(
        self, conn: Connection, sweep: SweepRecord, config: SweepConfig, now: float
    ) -> tuple[int, set[int], list[Observation], bool]:
        """What a suggestion needs, read lean: how many runs were assigned, the grid points taken, the finished
        runs' parameters and metric values (bayes, tpe), and whether one met the metric's target."""
        mine = sweep_runs.c.sweep_pk == sweep.pk
        count, indexed_points, highest = conn.execute(
            sa.select(sa.func.count(), sa.func.count(sweep_runs.c.grid_index), sa.func.max(sweep_runs.c.grid_index))
            .select_from(sweep_runs)
            .where(mine)
        ).one()
        count = int(count or 0)
        taken: set[int] = set()
        if config.method == "grid" and indexed_points:
            if highest == indexed_points - 1:
                # Grid indices are unique in a sweep, so n of them up to n - 1 are 0 .. n - 1: no need to read them.
                taken = set(range(int(indexed_points)))
            else:
                taken = {int(i) for i in conn.execute(
                    sa.select(sweep_runs.c.grid_index).where(mine, sweep_runs.c.grid_index.is_not(None))
                ).scalars()}  # fmt: skip
        needs_runs = config.method in ("bayes", "tpe") or (
            config.metric is not None and config.metric.target is not None
        )
        if not needs_runs:
            return count, taken, [], False
        joined = sweep_runs.join(sweeps, sweeps.c.id == sweep_runs.c.sweep_pk).outerjoin(
            runs, sa.and_(runs.c.project_id == sweeps.c.project_id, runs.c.run_id == sweep_runs.c.run_id)
        )
        names = [o.name for o in config.objectives]
        # The metric values come from run_values (one indexed row per run and key), not from each run's whole
        # summary: decoding a thousand summaries cost more than the rest of a suggestion's reads together.
        indexed = all(indexable_key(name) for name in names)
        metrics = (
            [
                sa.select(run_values.c.num)
                .where(
                    run_values.c.run_pk == runs.c.id,
                    run_values.c.root == "summary",
                    run_values.c.key == name,
                    run_values.c.rank == 0,
                )
                .scalar_subquery()
                for name in names
            ]
            if indexed
            else [runs.c.summary]
        )
        rows = conn.execute(
            sa.select(sweep_runs.c.params, runs.c.state, runs.c.heartbeat_at, *metrics)
            .select_from(joined)
            .where(sweep_runs.c.sweep_pk == sweep.pk)
            .order_by(sweep_runs.c.seq)
        ).all()
        observations = []
        reached = False
        for params, state, heartbeat_at, *found in rows:
            if state is None:
                continue
            if effective_state(state, heartbeat_at, now, self._store.crash_timeout) == STATE_RUNNING:
                continue
            if indexed:
                values = [None if v is None or not math.isfinite(v) else float(v) for v in found]
            else:
                values = [_metric_value(found[0] or {}, name) for name in names]
            scored = None if any(v is None for v in values) else tuple(float(v) for v in values if v is not None)
            if scored is not None and config.metric is not None and config.metric.reached(scored[0]):
                reached = True
            observations.append(Observation(params, scored))
        return len(rows), taken, observations, reached

    def register_agent(self, sweep: SweepRecord, *, host: str | None = None, pid: int | None = None) -> str:
        """Record a new agent of the sweep; returns its id (its heartbeats and assignments name it)."""
        agent_id = new_run_id()
        now = time.time()
        with self._store._write_engine.begin() as conn:
            conn.execute(
                sweep_agents.insert().values(
                    agent_id=agent_id,
                    sweep_pk=sweep.pk,
                    host=host if host is not None else socket.gethostname(),
                    pid=pid,
                    created_at=now,
                    heartbeat_at=now,
                )
            )
        return agent_id

    def agent_heartbeat(self, sweep: SweepRecord, agent_id: str) -> str:
        """Note that the agent lives; returns the sweep's state (an agent stops asking once it is not RUNNING)."""
        with self._store._write_engine.begin() as conn:
            conn.execute(
                sweep_agents.update().where(sweep_agents.c.agent_id == agent_id).values(heartbeat_at=time.time())
            )
            state = conn.execute(sa.select(sweeps.c.state).where(sweeps.c.id == sweep.pk)).scalar()
        if state is None:
            raise NotFoundError(f"sweep {sweep.path} was deleted")
        return str(state)

    def agent_sweep(self, agent_id: str) -> SweepRecord:
        """The sweep of an agent.

        Raises:
            runyard.errors.NotFoundError: no such agent (or its sweep was deleted).
        """
        with self._store.engine.connect() as conn:
            row = (
                conn.execute(
                    self._select()
                    .join(sweep_agents, sweep_agents.c.sweep_pk == sweeps.c.id)
                    .where(sweep_agents.c.agent_id == agent_id)
                )
                .mappings()
                .first()
            )
        if row is None:
            raise NotFoundError(f"no sweep agent {agent_id!r}")
        return self._record(row)

    def agents(self, sweep: SweepRecord) -> list[dict[str, Any]]:
        """The sweep's agents: id, host, pid, created_at, heartbeat_at and how many runs each was given."""
        with self._store.engine.connect() as conn:
            rows = conn.execute(
                sa.select(sweep_agents).where(sweep_agents.c.sweep_pk == sweep.pk).order_by(sweep_agents.c.created_at)
            ).mappings()
            return [dict(r) for r in rows]

    def early_terminate(self, sweep: SweepRecord) -> list[str]:
        """Apply the sweep's hyperband: ask the runs that fall behind at their band to stop; returns their ids.

        They stop through :meth:`runyard.store.Store.request_stop`, the web app's Stop, and end ``killed``;
        their ``sweep_runs`` row says the sweep stopped them (``stop_reason`` ``hyperband``).
        """
        config = parse_sweep_config(sweep.config)
        if config.early_terminate is None or config.metric is None:
            return []
        metric = config.metric
        series: dict[str, Sequence[float]] = {}
        running: set[str] = set()
        for run in self.runs(sweep):
            if run.run is None:
                continue
            if run.run.state == STATE_RUNNING and run.stopped_at is None:
                running.add(run.run_id)
            _, values = self._store.series(sweep.entity, sweep.project, run.run_id, metric.name)
            series[run.run_id] = [float(v) for v in values if isinstance(v, (int, float)) and not isinstance(v, bool)]
        stopped = []
        for run_id in runs_to_stop(config.early_terminate, metric, series, running):
            if self._stop_run(sweep, run_id, STOPPED_BY_HYPERBAND):
                stopped.append(run_id)
        return stopped

    def _stop_run(self, sweep: SweepRecord, run_id: str, reason: str) -> bool:
        # Marked first, and only once: two agents applying hyperband at once must not stop a run twice (a second
        # request escalates the signal, see runyard.sinks.stopper).
        with self._store._write_engine.begin() as conn:
            marked = conn.execute(
                sweep_runs.update()
                .where(
                    sweep_runs.c.sweep_pk == sweep.pk,
                    sweep_runs.c.run_id == run_id,
                    sweep_runs.c.stopped_at.is_(None),
                )
                .values(stopped_at=time.time(), stop_reason=reason)
            ).rowcount
        if not marked:
            return False
        try:
            self._store.request_stop(sweep.entity, sweep.project, run_id)
        except (ConflictError, NotFoundError):
            with self._store._write_engine.begin() as conn:  # it ended meanwhile: the sweep did not stop it
                conn.execute(
                    sweep_runs.update()
                    .where(sweep_runs.c.sweep_pk == sweep.pk, sweep_runs.c.run_id == run_id)
                    .values(stopped_at=None, stop_reason=None)
                )
            return False
        return True
