"""Module-level functions: ``runyard.log``, ``runyard.finish`` and friends act on the active run."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import timedelta
from typing import Any

from runyard.errors import Error, UnsupportedError, UsageError
from runyard.sdk import lifecycle
from runyard.sdk.alerts import AlertLevel
from runyard.sdk.metrics import Metric
from runyard.sdk.run import Run
from runyard.sdk.term import termwarn
from runyard.settings import Settings

# wandb.require() features, all of which name what is now wandb's default behaviour: nothing to switch on.
_REQUIRABLE = frozenset({"require", "service", "core"})


def _require(what: str) -> Run:
    run = lifecycle.active_run()
    if run is None:
        raise Error(f"You must call runyard.init() before runyard.{what}()")
    return run


def log(data: Mapping[str, Any], step: int | None = None, commit: bool | None = None) -> None:
    """Log to the active run; see :meth:`Run.log`."""
    _require("log").log(data, step=step, commit=commit)


def finish(exit_code: int | None = None, quiet: bool | None = None) -> None:
    """Finish the active run, if any; see :meth:`Run.finish`."""
    run = lifecycle.active_run()
    if run is not None:
        run.finish(exit_code=exit_code)


def define_metric(
    name: str,
    step_metric: str | Metric | None = None,
    step_sync: bool | None = None,
    hidden: bool | None = None,
    summary: str | None = None,
    goal: str | None = None,
    overwrite: bool | None = None,
) -> Metric:
    """Define a metric of the active run; see :meth:`Run.define_metric`."""
    return _require("define_metric").define_metric(name, step_metric, step_sync, hidden, summary, goal, overwrite)


def login(
    key: str | None = None,
    host: str | None = None,
    relogin: bool | None = None,
    verify: bool | None = None,
    **kwargs: Any,
) -> bool:
    """Log this process in to a runyard server, as ``wandb.login(key=..., host=...)``.

    Runs started afterwards by this process go to ``host`` with ``key`` (either may be left out: the other comes
    from ``RUNYARD_BASE_URL`` / ``RUNYARD_API_KEY`` or ``runyard login``). Nothing is written to disk: run
    ``runyard login HOST`` once to keep a login for every process. Without a server, runs go to the embedded
    store, which needs no login.

    Args:
        key: the API key.
        host: the server's address, e.g. ``"http://runyard.internal:8080"``.
        relogin: accepted for wandb compatibility.
        verify: check the key with the server now (raises when it is refused or the server cannot be reached).

    Returns:
        True.

    Raises:
        runyard.errors.AuthenticationError: ``verify`` is set and the server refused the key.
        runyard.errors.RemoteError: ``verify`` is set and the server did not answer.
        runyard.errors.UsageError: ``host`` is not a server address.
    """
    from runyard.credentials import process_login, set_process_login

    if key is not None or host is not None:
        known_host, known_key = process_login()
        set_process_login(host or known_host, key or known_key)
    if verify:
        from runyard.settings import Settings
        from runyard.sinks.http import HttpSink

        settings = Settings().resolved()
        if settings.base_url is None or not settings.api_key:
            raise UsageError("login(verify=True) needs a server and a key: pass host= and key=, or run `runyard login`")
        sink = HttpSink(settings.base_url, settings.api_key)
        try:
            sink.whoami()
        finally:
            sink.close()
    return True


def watch(
    models: Any = None,
    criterion: Any = None,
    log: str | None = "gradients",
    log_freq: int = 1000,
    idx: int | None = None,
    log_graph: bool = False,
) -> None:
    """Log histograms of a torch model's gradients and/or parameters to the active run; see :meth:`Run.watch`."""
    run = lifecycle.active_run()
    if run is None:
        raise Error("You must call runyard.init() before runyard.watch()")
    run.watch(models, criterion, log, log_freq, idx, log_graph)


def unwatch(models: Any = None) -> None:
    """Stop logging histograms of ``models`` (of every watched model without it)."""
    run = lifecycle.active_run()
    if run is not None:
        run.unwatch(models)


def mark_preempting() -> None:
    """Mark the active run as about to be preempted; see :meth:`Run.mark_preempting`."""
    _require("mark_preempting").mark_preempting()


def alert(
    title: str,
    text: str,
    level: str | AlertLevel | None = None,
    wait_duration: int | float | timedelta | None = None,
) -> None:
    """Alert about the active run. Not sent yet: see :meth:`Run.alert`."""
    _require("alert").alert(title, text, level, wait_duration)


def require(requirement: str | Iterable[str] | None = None, experiment: str | Iterable[str] | None = None) -> None:
    """Accepted for wandb compatibility: ``require("service")`` and ``require("core")`` name what is W&B's
    default now, and need nothing in runyard.

    Raises:
        runyard.errors.UnsupportedError: a feature name W&B does not know either (W&B raises the same).
    """
    features = requirement or experiment
    if not features:
        return
    names = [features] if isinstance(features, str) else list(features)
    unknown = []
    for name in names:
        feature = str(name).split("@", 1)[0].split(":", 1)[0].replace("-", "_")
        if feature not in _REQUIRABLE:
            unknown.append(str(name))
    if unknown:
        message = f"require() unsupported requirement: {unknown[-1]}"
        termwarn(message)
        raise UnsupportedError(message)


def setup(settings: Settings | dict[str, Any] | None = None) -> None:
    """Set the defaults of every later ``init()`` in this process, as ``wandb.setup(settings=...)`` does.

    A field the settings of an ``init()`` call leave unset takes its value from these. There is no background
    service to start: runyard needs no other set-up.
    """
    lifecycle.set_default_settings(Settings(**settings) if isinstance(settings, dict) else settings)


def teardown(exit_code: int | None = None) -> None:
    """Finish every run of this process that is not finished yet (with ``exit_code``, default 0), waiting until
    the store holds their data, and forget the defaults given to :func:`setup`.
    """
    lifecycle.finish_all(exit_code)
    lifecycle.set_default_settings(None)


class PreInit:
    """What ``runyard.config`` / ``runyard.summary`` are before ``init()``: any use says to call init first."""

    def __init__(self, name: str) -> None:
        object.__setattr__(self, "_name", name)

    def _fail(self, *args: Any, **kwargs: Any) -> Any:
        raise UsageError(f"You must call runyard.init() before using runyard.{self._name}")

    __getitem__ = __setitem__ = __delitem__ = __contains__ = __iter__ = __len__ = _fail
    update = keys = items = values = get = _fail

    def __getattr__(self, key: str) -> Any:
        if key.startswith("__"):
            raise AttributeError(key)
        return self._fail()

    def __setattr__(self, key: str, value: Any) -> None:
        self._fail()

    def __bool__(self) -> bool:
        return False

    def __repr__(self) -> str:
        return f"<runyard.{self._name} before init()>"
