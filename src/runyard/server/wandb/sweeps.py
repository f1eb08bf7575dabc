"""The real wandb client's sweeps against a runyard server: ``wandb sweep``, ``wandb agent``, ``wandb.sweep``,
``wandb.agent`` and ``wandb.Api().sweep()``.

The client's operations (wandb 0.29 to 0.31):

- ``UpsertSweep`` (``upsertSweep(input: {config: <YAML>, entityName, projectName, ...})``): creates the sweep
  in ``store.sweeps``; the answer's ``sweep.name`` is its id and ``project`` fixes the client's defaults. An
  ``id`` with a ``state`` (``wandb sweep --pause`` etc.) changes the state of that sweep.
- ``SweepWithRuns`` / ``GetSweep`` / ``GetSweepState``: ``project.sweep(sweepName)`` with ``config`` as YAML.
- ``CreateAgent`` (``createAgent(input: {host, sweep, ...})``) registers an agent.
- ``Heartbeat`` (``agentHeartbeat(input: {id, runState})``), every few seconds: ``runState`` names the agent's
  runs that still run. The answer's ``commands`` (a JSON string) is what the agent does next: ``run`` (a run id,
  its parameters as ``{key: {value: v}}``, the program) when it runs nothing, ``stop`` for a run that hyperband
  (or a cancel) stopped, ``exit`` once the sweep has no run left.
- ``wandb.Api().sweep(path).runs`` filters the project's runs by ``{"sweep": id}``: answered with the sweep's
  runs (see :func:`sweep_run_filter`).
"""

from __future__ import annotations

import json
from typing import Any

import yaml
from graphql import GraphQLError

from runyard.errors import ConflictError, NotFoundError, UsageError
from runyard.server.wandb.convert import iso
from runyard.server.wandb.graphql import Obj
from runyard.server.wandb.objects import Context
from runyard.store.sweeps.models import Assignment, SweepRecord
from runyard.sweeps.search import nested_config

__all__ = ["SWEEP_OPERATIONS", "sweep_mutations", "sweep_obj", "sweep_run_filter"]

SWEEP_OPERATIONS = frozenset(
    {"UpsertSweep", "SweepWithRuns", "GetSweep", "GetSweepLegacy", "GetSweepState", "CreateAgent", "Heartbeat"}
)

# W&B's states (wandb sweep --pause / --resume / --stop / --cancel send them): the control that reaches each.
_STATE_CONTROLS = {"PAUSED": "pause", "RUNNING": "resume", "FINISHED": "stop", "CANCELED": "cancel"}


def sweep_obj(ctx: Context, record: SweepRecord) -> Obj:
    """A sweep as the client reads it: ``config`` is the YAML text of the sweep config."""

    def runs(_args: dict[str, Any]) -> Obj:
        found = ctx.store.sweeps.runs(record)
        from runyard.server.wandb.objects import run_obj

        edges = [Obj("RunEdge", {"node": run_obj(ctx, r.run)}) for r in found if r.run is not None]
        return Obj("RunConnection", {"edges": edges})

    def best_loss(_args: dict[str, Any]) -> float | None:
        best = ctx.store.sweeps.best_run(record)
        metric = (record.config.get("metric") or {}).get("name")
        if best is None or best.run is None or not metric:
            return None
        value = best.run.summary.get(metric)
        return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None

    return Obj(
        "Sweep",
        {
            "id": record.sweep_id,
            "name": record.sweep_id,
            "displayName": record.name,
            "method": record.method,
            "state": record.state,
            "description": record.config.get("description"),
            "config": yaml.safe_dump(record.config, sort_keys=False),
            "createdAt": iso(record.created_at),
            "updatedAt": iso(record.updated_at),
            "heartbeatAt": iso(record.updated_at),
            "runCount": record.run_count,
            "runCountExpected": record.config.get("run_cap"),
            "bestLoss": best_loss,
            "earlyStopJobRunning": False,
            "controller": None,
            "scheduler": None,
            "runs": runs,
            "agents": lambda _a: Obj("AgentConnection", {"edges": []}),
        },
    )


def project_sweep(ctx: Context, entity: str, project: str) -> Any:
    """The ``sweep(sweepName)`` field of a project."""

    def sweep(args: dict[str, Any]) -> Obj | None:
        if not ctx.may_read_project(entity, project):
            return None
        found = ctx.store.sweeps.get(entity, project, str(args.get("sweepName") or args.get("name") or ""))
        return None if found is None else sweep_obj(ctx, found)

    return sweep


def sweep_run_filter(ctx: Context, entity: str, project: str, filters: Any) -> Any:
    """``{"sweep": id}`` conditions of a runs filter, replaced by the sweep's run ids (``name`` ``$in``)."""
    if isinstance(filters, list):
        return [sweep_run_filter(ctx, entity, project, f) for f in filters]
    if not isinstance(filters, dict):
        return filters
    out: dict[str, Any] = {}
    for key, value in filters.items():
        if key == "sweep" and isinstance(value, str):
            found = ctx.store.sweeps.get(entity, project, value)
            ids = [] if found is None else [r.run_id for r in ctx.store.sweeps.runs(found)]
            out["name"] = {"$in": ids}
        else:
            out[key] = sweep_run_filter(ctx, entity, project, value)
    return out


def sweep_mutations(ctx: Context) -> dict[str, Any]:
    """The sweep mutations of the ``Mutation`` object."""

    def upsert_sweep(args: dict[str, Any]) -> Obj:
        inp = args.get("input") or {}
        entity = str(inp.get("entityName") or ctx.caller.entity)
        project = str(inp.get("projectName") or "uncategorized")
        try:
            if inp.get("id"):
                # wandb sweep --pause etc. send the id and the state only.
                found = ctx.store.sweeps.find(
                    str(inp["id"]), entity=inp.get("entityName") or None, project=inp.get("projectName") or None
                )
                if not ctx.may_read_project(found.entity, found.project):
                    raise NotFoundError(f"upsertSweep: sweep {inp['id']} not found")
                ctx.require_write(found.entity, "upsertSweep")
                state = inp.get("state")
                if state in _STATE_CONTROLS:
                    found = ctx.store.sweeps.control(found, _STATE_CONTROLS[state])
            else:
                config = yaml.safe_load(inp.get("config") or "")
                if not isinstance(config, dict):
                    raise GraphQLError("upsertSweep: the config must be a YAML mapping")
                ctx.require_write(entity, "upsertSweep")
                found = ctx.store.sweeps.create(entity, project, config, username=ctx.caller.username)
        except (UsageError, NotFoundError, ConflictError) as exc:
            raise GraphQLError(str(exc)) from exc
        from runyard.server.wandb.objects import project_obj

        sweep = sweep_obj(ctx, found)
        sweep.fields["project"] = project_obj(ctx, found.entity, found.project, ctx.store.get_project(entity, project))
        return Obj("UpsertSweepPayload", {"sweep": sweep, "configValidationWarnings": [], "inserted": True})

    def create_agent(args: dict[str, Any]) -> Obj:
        inp = args.get("input") or {}
        entity = inp.get("entityName") or None
        project = inp.get("projectName") or None
        try:
            found = ctx.store.sweeps.find(str(inp.get("sweep") or ""), entity=entity, project=project)
        except (UsageError, NotFoundError) as exc:
            raise GraphQLError(str(exc)) from exc
        if not ctx.may_read_project(found.entity, found.project):
            raise GraphQLError(f"createAgent: sweep {inp.get('sweep')} not found")
        ctx.require_write(found.entity, "createAgent")
        agent_id = ctx.store.sweeps.register_agent(found, host=str(inp.get("host") or ""))
        return Obj("CreateAgentPayload", {"agent": Obj("Agent", {"id": agent_id, "name": agent_id})})

    def agent_heartbeat(args: dict[str, Any]) -> Obj:
        inp = args.get("input") or {}
        agent_id = str(inp.get("id") or "")
        try:
            found = ctx.store.sweeps.agent_sweep(agent_id)
        except NotFoundError as exc:
            raise GraphQLError(str(exc)) from exc
        ctx.require_write(found.entity, "agentHeartbeat")
        running = _run_state(inp.get("runState"))
        commands = heartbeat_commands(ctx, found, agent_id, running)
        return Obj("AgentHeartbeatPayload", {"agent": Obj("Agent", {"id": agent_id}), "commands": json.dumps(commands)})

    return {"upsertSweep": upsert_sweep, "createAgent": create_agent, "agentHeartbeat": agent_heartbeat}


def _run_state(text: Any) -> set[str]:
    try:
        value = json.loads(text) if isinstance(text, str) else text
    except ValueError:
        return set()
    if not isinstance(value, dict):
        return set()
    return {str(k) for k, alive in value.items() if alive}


def heartbeat_commands(ctx: Context, sweep: SweepRecord, agent_id: str, running: set[str]) -> list[dict[str, Any]]:
    """What an agent that runs ``running`` does next."""
    sweeps = ctx.store.sweeps
    state = sweeps.agent_heartbeat(sweep, agent_id)
    commands: list[dict[str, Any]] = []
    if running:
        if state != "CANCELED":  # a finished sweep's runs still run, and hyperband still applies to them
            sweeps.early_terminate(sweep)
        stopped = {r.run_id for r in sweeps.runs(sweep) if r.stopped_at is not None}
        commands += [{"type": "stop", "run_id": run_id} for run_id in sorted(running & stopped)]
        return commands
    if state in ("FINISHED", "CANCELED"):
        return [{"type": "exit"}]
    if state != "RUNNING":
        return []
    got = sweeps.next_run(sweep, agent_id)
    if not isinstance(got, Assignment):
        return [{"type": "exit"}] if got in ("FINISHED", "CANCELED") else []
    args = {key: {"value": value} for key, value in nested_config(got.params).items()}
    return [{"type": "run", "run_id": got.run_id, "args": args, "program": sweep.config.get("program")}]
