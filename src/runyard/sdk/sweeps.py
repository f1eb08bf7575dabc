"""``runyard.sweep`` and ``runyard.agent``: create a sweep, and run its runs (W&B's ``wandb.sweep``/``wandb.agent``).

An agent asks the sweep's controller (:mod:`runyard.store.sweeps`) for the next run, runs it, and asks again,
until the sweep is done, stopped or cancelled, or ``count`` runs have run. A run is either a call of
``function`` in this process (``runyard.agent(id, function=train)``), or the sweep's ``command`` as a child
process (``runyard agent ID``). Either way ``runyard.init`` inside it joins the sweep through the environment
(:mod:`runyard.sdk.sweep_run`). While a run runs the agent heartbeats and applies the sweep's hyperband, which
stops runs that fall behind through the web app's Stop.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

from runyard.errors import UsageError
from runyard.settings import Settings, init_params_from_env
from runyard.sinks.sweeps import LocalSweepClient, SweepClient
from runyard.sweeps.command import expand_command
from runyard.sweeps.config import load_sweep_config
from runyard.sweeps.search import nested_config

__all__ = ["agent", "sweep"]

POLL_S = 1.0
"""How often an agent heartbeats and applies hyperband while a run runs, and polls a paused sweep."""


def _settings() -> Any:
    from runyard.sdk import lifecycle

    settings = Settings()
    defaults = lifecycle.default_settings()
    if defaults is not None:
        settings = settings.over(defaults)
    return settings.resolved()


def _username() -> str:
    import getpass

    try:
        return getpass.getuser()
    except Exception:
        return "local"


def sweep(
    sweep: Mapping[str, Any] | str | os.PathLike[str],
    entity: str | None = None,
    project: str | None = None,
    prior_runs: list[str] | None = None,
) -> str:
    """Create a hyperparameter sweep; returns its id, which :func:`agent` takes.

    Args:
        sweep: the sweep config: a dict (W&B's schema: ``method``, ``metric``, ``parameters``...) or the path
            of a YAML file.
        entity: the entity of the sweep's project; the config's ``entity``, ``RUNYARD_ENTITY``, or the OS user.
        project: the project its runs go to; the config's ``project``, ``RUNYARD_PROJECT``, or
            ``"Uncategorized"``.
        prior_runs: not supported yet (W&B: existing runs to add to the sweep); must be empty.

    Returns:
        The sweep's id.

    Raises:
        runyard.errors.SweepConfigError: the config is invalid; the message names the key.
    """
    if prior_runs:
        raise UsageError("runyard.sweep: prior_runs is not supported yet; start the sweep without them")
    config = load_sweep_config(sweep)
    env = init_params_from_env()
    entity = entity or config.raw.get("entity") or env.get("entity") or _username()
    project = project or config.raw.get("project") or env.get("project") or "Uncategorized"
    client = SweepClient(_settings())
    try:
        created = client.create(str(entity), str(project), config.raw, _username())
    finally:
        client.close()
    print(f"runyard: Created sweep with ID: {created.sweep_id}", file=sys.stderr)
    print(f"runyard: Run sweep agent with: runyard agent {created.path}", file=sys.stderr)
    return str(created.sweep_id)


def agent(
    sweep_id: str,
    function: Callable[[], Any] | None = None,
    entity: str | None = None,
    project: str | None = None,
    count: int | None = None,
) -> None:
    """Run runs of a sweep until it is done (or ``count`` runs have run).

    Args:
        sweep_id: the sweep's id, ``project/id`` or ``entity/project/id``.
        function: called once per run; ``runyard.init()`` inside it receives the run's parameters in
            ``run.config``. Without it, the sweep's ``program`` runs as a child process (its ``command``).
        entity: the entity of the sweep (when ``sweep_id`` does not say).
        project: the project of the sweep (when ``sweep_id`` does not say).
        count: the most runs this agent runs.
    """
    if count is not None and (isinstance(count, bool) or not isinstance(count, int) or count < 1):
        raise UsageError(f"runyard.agent: count must be a positive integer, got {count!r}")
    env = init_params_from_env()
    client = SweepClient(_settings())
    try:
        found = client.find(sweep_id, entity or env.get("entity"), project or env.get("project"))
        Agent(client, found, function=function, count=count).run()
    finally:
        client.close()


class Agent:
    """Runs the runs of one sweep, one after the other."""

    def __init__(self, client: Any, sweep: Any, *, function: Callable[[], Any] | None, count: int | None) -> None:
        self.client = client
        self.sweep = sweep
        self.function = function
        self.count = count
        self.config = load_sweep_config(sweep.config)
        if function is None and self.config.program is None and "${program}" in self.config.command:
            raise UsageError(
                f"sweep {sweep.path} has no program to run: pass runyard.agent(..., function=train), or give the "
                "sweep config a program"
            )
        self.agent_id = client.register_agent(sweep, os.getpid())

    def run(self) -> int:
        """Run until the sweep has no run left for this agent; returns how many runs ran."""
        done = 0
        while self.count is None or done < self.count:
            got = self.client.next_run(self.sweep, self.agent_id)
            if got == "PAUSED":
                time.sleep(POLL_S)
                continue
            if isinstance(got, str):
                print(f"runyard: sweep {self.sweep.path} is {got}: the agent stops", file=sys.stderr)
                break
            print(f"runyard: agent starts run {got.run_id} with {json.dumps(got.params)}", file=sys.stderr)
            with self._run_environment(got) as environ:
                if self.function is not None:
                    self._call(got.run_id)
                else:
                    self._spawn(got.params, environ)
            done += 1
        return done

    @contextlib.contextmanager
    def _run_environment(self, assignment: Any) -> Iterator[dict[str, str]]:
        params = nested_config(assignment.params)
        with tempfile.TemporaryDirectory(prefix="runyard-sweep-") as folder:
            path = Path(folder) / "config.yaml"
            # W&B's form ({key: {value: v}}), as JSON, which YAML reads: either SDK reads it.
            path.write_text(json.dumps({k: {"value": v} for k, v in params.items()}), encoding="utf-8")
            environ = {
                "RUNYARD_SWEEP_ID": self.sweep.path,
                "RUNYARD_RUN_ID": assignment.run_id,
                "RUNYARD_SWEEP_PARAM_PATH": str(path),
                "RUNYARD_PROJECT": self.sweep.project,
                "RUNYARD_ENTITY": self.sweep.entity,
            }
            if isinstance(self.client, LocalSweepClient) and self.client.store_url:
                # The run goes to the store the sweep lives in, whatever --store-url the agent was given.
                environ["RUNYARD_STORE_URL"] = self.client.store_url
            saved = {k: os.environ.get(k) for k in environ}
            os.environ.update(environ)
            try:
                yield environ
            finally:
                for key, value in saved.items():
                    if value is None:
                        os.environ.pop(key, None)
                    else:
                        os.environ[key] = value

    def _watch(self) -> tuple[threading.Event, threading.Thread]:
        """Heartbeat and apply hyperband until the returned event is set."""
        done = threading.Event()

        def loop() -> None:
            while not done.wait(POLL_S):
                try:
                    self.client.heartbeat(self.sweep, self.agent_id)
                    if self.config.early_terminate is not None:
                        for run_id in self.client.early_terminate(self.sweep):
                            print(f"runyard: hyperband stops run {run_id}", file=sys.stderr)
                except Exception as exc:  # the store is away a moment: the run goes on
                    print(f"runyard: sweep agent: {exc}", file=sys.stderr)

        thread = threading.Thread(target=loop, name="runyard-sweep-agent", daemon=True)
        thread.start()
        return done, thread

    def _call(self, run_id: str) -> None:
        from runyard.sdk import lifecycle

        done, thread = self._watch()
        exc: BaseException | None = None
        try:
            self.function()  # type: ignore[misc]
        except KeyboardInterrupt as stopped:
            # The sweep stopped this run (hyperband, cancel): its ingester interrupted this process. Any other
            # Ctrl-C ends the agent.
            if not self.client.stopped_by_sweep(self.sweep, run_id):
                raise
            exc = stopped
        except Exception as failed:
            traceback.print_exc()
            exc = failed
        finally:
            done.set()
            thread.join()
        run = lifecycle.active_run()
        if run is not None and run.id == run_id:
            if exc is None:
                run.finish()
            else:
                lifecycle.finish_run(run, *lifecycle.exit_for_exception(exc))

    def _spawn(self, params: Mapping[str, Any], environ: Mapping[str, str]) -> None:
        folder = Path(environ["RUNYARD_SWEEP_PARAM_PATH"]).parent
        argv = expand_command(
            self.config.command,
            program=self.config.program,
            params=nested_config(params),
            json_file=folder / "args.json",
        )
        done, thread = self._watch()
        child = subprocess.Popen(argv, env={**os.environ, **environ})
        try:
            code = child.wait()
        except KeyboardInterrupt:
            # Ctrl-C reached the child too (same process group): let it end its run, then stop.
            with contextlib.suppress(subprocess.TimeoutExpired):
                child.wait(30)
            raise
        finally:
            done.set()
            thread.join()
        if code != 0:
            how = f"signal {signal.Signals(-code).name}" if code < 0 else f"exit code {code}"
            print(f"runyard: run ended with {how}", file=sys.stderr)
