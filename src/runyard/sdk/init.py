"""``runyard.init``: start (or resume) a run."""

from __future__ import annotations

import _thread
import contextlib
import copy
import getpass
import os
import socket
import sys
import threading
import time
from collections.abc import Iterable, Sequence
from typing import Any

from runyard import records as R
from runyard.errors import Error, ResumeError, StoreError, UnsupportedError, UsageError
from runyard.names import new_run_id, new_run_name, new_session_id
from runyard.runlog import RunLogWriter
from runyard.runlog.binding import bind_to_server, unbind
from runyard.sdk import console, lifecycle, remote
from runyard.sdk.config import load_config_source
from runyard.sdk.console import ConsoleCapture
from runyard.sdk.metadata import MetadataProbe, quick_metadata
from runyard.sdk.run import Run
from runyard.sdk.sweep_run import sweep_context
from runyard.sdk.system import SystemSampler
from runyard.sdk.term import warn_once
from runyard.settings import ResolvedSettings, Settings, init_params_from_env, resume_flag, store_driver_missing

_REINIT = ("return_previous", "finish_previous", "create_new", "default")

# wandb.init arguments runyard accepts without acting on them (yet). Each warns once per process, and only when
# it asks for something (a value other than None or False): what it asks for does not happen.
_IGNORED = {
    "sync_tensorboard": "TensorBoard event files are not synced into the run",
    "tensorboard": "TensorBoard event files are not synced into the run",
    "monitor_gym": "gym environment videos are not recorded",
    "magic": "framework hooks are not installed",
}
# Accepted without a word: they change nothing for a store that needs no login (save_code: acted on, see
# _save_code).
_NO_EFFECT = frozenset({"anonymous", "force", "save_code"})
# Refused: ignoring them would start a new run unrelated to the one they name.
_UNSUPPORTED = {
    "fork_from": (
        "runyard.init: fork_from is not supported yet, so the run would not continue the history of the run it "
        "names. Start a new run (copy what you need, e.g. runyard.Api().run(path).config), or continue that run "
        "from its last step with init(id=..., resume='must')."
    ),
    "resume_from": (
        "runyard.init: resume_from (rewinding a run to an earlier step) is not supported yet, so the run would not "
        "continue the run it names. Continue that run from its last step with init(id=..., resume='must')."
    ),
}


def _username() -> str:
    try:
        return getpass.getuser()
    except Exception:
        return "local"


def _program() -> str:
    main = sys.modules.get("__main__")
    path = getattr(main, "__file__", None)
    return os.path.basename(path) if path else (sys.argv[0] if sys.argv and sys.argv[0] else "<python>")


def _tags(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [t.strip() for t in value.split(",") if t.strip()]
    if isinstance(value, Iterable):
        return [str(t) for t in value]
    raise UsageError(f"tags must be a list of strings; got {type(value).__name__}")


def _filter_keys(
    config: dict[str, Any], include: Sequence[str] | None, exclude: Sequence[str] | None
) -> dict[str, Any]:
    if include is not None and exclude is not None:
        raise UsageError("pass config_include_keys or config_exclude_keys, not both")
    if include is not None:
        return {k: v for k, v in config.items() if k in set(include)}
    if exclude is not None:
        return {k: v for k, v in config.items() if k not in set(exclude)}
    return config


def init(
    project: str | None = None,
    entity: str | None = None,
    name: str | None = None,
    id: str | None = None,
    notes: str | None = None,
    tags: Sequence[str] | None = None,
    config: Any = None,
    group: str | None = None,
    job_type: str | None = None,
    mode: str | None = None,
    dir: str | os.PathLike[str] | None = None,
    resume: bool | str | None = None,
    reinit: bool | str | None = None,
    allow_val_change: bool | None = None,
    config_exclude_keys: Sequence[str] | None = None,
    config_include_keys: Sequence[str] | None = None,
    settings: Settings | dict[str, Any] | None = None,
    **kwargs: Any,
) -> Run:
    """Start a run that records to the embedded store, to a runyard server, or (offline) to a run log only.

    Runs go to a server when ``Settings(base_url=...)``, ``RUNYARD_BASE_URL`` or ``runyard login`` names one;
    ``init()`` then waits at most 2 s for it (only to check an ``id``), and never for its records.

    Args:
        project: the project the run belongs to; ``"Uncategorized"`` when none is given.
        entity: the user or team that owns the project; the OS user by default.
        name: display name; a readable one is generated when omitted.
        id: unique id of the run within the project; needed to resume a run.
        notes: a description of the run.
        tags: labels for the run.
        config: hyperparameters: a dict, ``argparse.Namespace``, dataclass, pydantic model, mapping or the path
            of a YAML file.
        group: groups runs together (e.g. the workers of one distributed job).
        job_type: the kind of run, e.g. ``"train"`` or ``"eval"``.
        mode: ``"online"`` (default), ``"offline"`` or ``"disabled"``.
        dir: the folder in which runyard keeps its data folder ``runyard/`` (as W&B keeps ``wandb/``); default
            ``RUNYARD_DIR`` / ``WANDB_DIR``, else the current folder.
        resume: ``"allow"``, ``"must"``, ``"never"``, ``"auto"`` (or True), as in W&B.
        reinit: what to do when this process already has an active run: ``"return_previous"`` (default),
            ``"finish_previous"`` or ``"create_new"``. True means finish_previous.
        allow_val_change: allow config keys to change value after they are set.
        config_exclude_keys: config keys to leave out.
        config_include_keys: the only config keys to keep.
        settings: a :class:`runyard.Settings` (or dict) for everything else.

    Returns:
        The :class:`Run`; also available as ``runyard.run`` until it finishes.

    Raises:
        runyard.errors.ResumeError: ``resume`` cannot be honoured.
        runyard.errors.UsageError: an argument is invalid; the message says which and why.
        runyard.errors.AuthenticationError: the server refused the API key while checking ``id``.
    """
    _check_extra_arguments(kwargs)
    settings = _settings(settings)
    env = init_params_from_env()
    if mode is not None:
        settings.mode = mode
    if dir is not None:
        settings.root_dir = os.fspath(dir)
    resolved = settings.resolved()

    reinit_mode = _reinit_mode(reinit)
    previous = lifecycle.active_run()
    if previous is not None:
        if reinit_mode == "return_previous":
            return previous
        if reinit_mode == "finish_previous":
            previous.finish()

    sweep = sweep_context()
    if sweep is not None:
        # A sweep's run lives in the sweep's project, whatever the script asks for (as in W&B).
        for what, given, forced in (("project", project, sweep.project), ("entity", entity, sweep.entity)):
            if given is not None and forced is not None and given != forced:
                warn_once(
                    f"init:sweep-{what}",
                    f"runyard.init: {what}={given!r} ignored: this run belongs to sweep "
                    f"{sweep.sweep_id} in {sweep.entity}/{sweep.project}",
                    stacklevel=2,
                )
        project = sweep.project or project
        entity = sweep.entity or entity
    project = project or env.get("project") or "Uncategorized"
    if resolved.mode == "online":
        remote.check_login(resolved)
    login_entity = resolved.login_entity if resolved.base_url is not None else None
    entity = entity or env.get("entity") or login_entity or _username()
    notes = notes if notes is not None else env.get("notes")
    group = group if group is not None else env.get("group")
    job_type = job_type if job_type is not None else env.get("job_type")
    tag_list = _tags(tags if tags is not None else env.get("tags"))
    for what, value in (("project", project), ("entity", entity)):
        if "\x00" in str(value):
            # Names that runs are found by: stored with U+FFFD in place of NUL, they could never be found again.
            raise UsageError(f"the {what} name {value!r} contains a NUL character; choose a name without it")
    resume_mode = resume_flag(resume if resume is not None else env.get("resume"))
    run_id = id or env.get("id")
    if run_id is None and resume_mode == "auto":
        found = lifecycle.read_resume_file(resolved.data_dir)
        if found and found.get("project", project) == project:
            run_id = found["run_id"]
    if run_id is not None:
        run_id = str(run_id)
        if not run_id or any(c in run_id for c in "/\\:") or run_id.startswith("."):
            raise UsageError(f"run id {run_id!r} is invalid: use letters, digits, '-' and '_' only")
    if resume_mode == "must" and run_id is None:
        raise ResumeError("resume='must' needs the id of the run to resume: pass init(id=..., resume='must')")

    init_config = _filter_keys(load_config_source(config), config_include_keys, config_exclude_keys)
    if sweep is not None:
        init_config.update(sweep.params)  # the sweep's values win over the script's

    if resolved.mode == "online" and resolved.base_url is None:
        missing = store_driver_missing(resolved.store_url)
        if missing is not None:
            # Said here, once, before the run starts: the background ingester could only retry in vain.
            raise StoreError(f"runyard.init: {missing}; or log with mode='offline' and `runyard sync` later")
    if resolved.mode == "disabled":
        return _start_disabled(resolved, project, entity, name, notes, tag_list, group, job_type, init_config, run_id)

    state = None
    sink = None
    if run_id is not None and resolved.mode == "online":
        if resolved.base_url is not None:
            state = remote.resume_state(resolved, entity, project, run_id, resume_mode)
        else:
            from runyard.sinks import LocalSink

            sink = LocalSink(resolved.store_url, resolved.crash_timeout)
            state = sink.resume_state(entity, project, run_id)
        if state is not None and resume_mode in (None, "never"):
            raise ResumeError(
                f"run {run_id!r} already exists in project {entity}/{project}. Pass resume='allow' (or 'must') "
                "to continue it, or choose another id."
            )
        if state is None and resume_mode == "must":
            raise ResumeError(
                f"resume='must' but run {run_id!r} does not exist in project {entity}/{project}; "
                "check the id and project, or use resume='allow' to create it."
            )
    elif resume_mode == "must" and resolved.mode == "offline":
        raise ResumeError("resume='must' needs the store; resume online, or sync the offline run first")

    run_id = run_id or new_run_id()
    session = new_session_id()
    stamp = time.strftime("%Y%m%d_%H%M%S")
    prefix = "offline-run" if resolved.mode == "offline" else "run"
    folder = resolved.runs_dir / f"{prefix}-{stamp}-{run_id}"
    writer = RunLogWriter(folder / f"{session}.rylog")

    resumed = state is not None
    run = Run(
        settings=resolved,
        run_id=run_id,
        project=project,
        entity=entity,
        name=name or (state.name if state else None) or env.get("name") or new_run_name(),
        notes=notes if notes is not None else (state.notes if state else None),
        tags=tag_list or (list(state.tags) if state else []),
        group=group if group is not None else (state.group if state else None),
        job_type=job_type if job_type is not None else (state.job_type if state else None),
        session=session,
        folder=folder,
        writer=writer,
        start_step=state.next_step if state else 0,
        runtime_offset=state.runtime if state else 0.0,
        created_at=state.created_at if state else None,
        resumed=resumed,
        allow_val_change=bool(allow_val_change),
        summary=dict(state.summary) if state else None,
        summary_state=dict(state.summary_state) if state else None,
        metrics=list(state.metrics) if state else None,
    )
    if state is not None:
        run.config._items.update(state.config)
    if sweep is not None:
        run.config._locked.update(dict.fromkeys(run.config._config_values(sweep.params), "sweep"))
        run._sweep_id = sweep.sweep_id
    # Resumed runs keep their config; init's config merges on top under the usual rules.
    if init_config:
        if state is not None:
            run.config._apply(init_config, bool(allow_val_change))
        else:
            run.config._items.update(run.config._config_values(init_config))
    body: R.StartBody = {
        "session": session,
        "run_id": run_id,
        "project": project,
        "entity": entity,
        "name": run.name,
        "notes": run.notes,
        "tags": list(run.tags),
        "group": run.group,
        "job_type": run.job_type,
        "config": run.config.as_dict(),
        "created_at": run._created_at,
        "started_at": run.start_time,
        "resumed": resumed,
        "start_step": run.step,
        "runtime_offset": run._runtime_offset,
        "host": socket.gethostname(),
        "pid": os.getpid(),
        "username": _username(),
        "program": _program(),
        "mode": resolved.mode,
    }
    metadata = quick_metadata(run, body["username"], body["host"])
    try:
        if resolved.mode == "online" and resolved.base_url is not None:
            # Before the first record: a log left by a process that dies now is never synced into a local store.
            bind_to_server(writer.path, resolved.base_url)
        with run._lock:
            run._write(R.KIND_START, body)
            run._write(R.KIND_METADATA, metadata)
    except BaseException:
        # Too large a config, a full disk: no run starts, and no run log is left behind for `runyard sync`.
        writer.close()
        writer.path.unlink(missing_ok=True)
        unbind(writer.path)
        with contextlib.suppress(OSError):
            folder.rmdir()
        if sink is not None:
            sink.close()
        raise

    if sink is not None:
        sink.close()
    if resolved.mode == "online":
        from runyard.sinks.process import IngesterProcess

        run._ingester = IngesterProcess(writer.path, session, resolved)

    lifecycle.install_hooks()
    lifecycle.track(run)
    if previous is None or reinit_mode != "create_new":
        lifecycle.set_active(run)
    if lifecycle.in_multiprocessing_child():
        lifecycle.register_child_finalizer(run)
    if resume_mode == "auto":
        lifecycle.write_resume_file(run)
    if not resolved.silent:
        verb = "resuming" if resumed else "starting"
        if resolved.mode == "offline":
            where = f"offline, run log {writer.path}"
        elif resolved.base_url is not None:
            where = f"server {resolved.base_url}"
        else:
            where = f"store {resolved.store_shown}"
        print(f"runyard: {verb} run {run.name} ({run_id}) in {entity}/{project} ({where})", file=sys.stderr)
    _start_observers(run, resolved)
    if kwargs.get("save_code"):
        _save_code(run)
    return run


def _save_code(run: Run) -> None:
    """``init(save_code=True)``: the main script, as a ``code`` artifact (as W&B's ``source-...``), in the
    background; a run that cannot keep it (offline, to a server) says so once and goes on."""
    main = getattr(sys.modules.get("__main__"), "__file__", None)
    if not main or run.settings.mode == "disabled":
        return
    path = os.path.abspath(main)
    try:
        run.log_code(os.path.dirname(path), include_fn=lambda candidate, _root: os.path.abspath(candidate) == path)
    except Error as exc:
        warn_once("init:save_code", f"runyard.init: save_code=True: the code was not saved: {exc}", stacklevel=3)


def _check_extra_arguments(kwargs: dict[str, Any]) -> None:
    """Refuse the arguments that would start an unrelated run; warn once about those that do nothing."""
    for name, message in _UNSUPPORTED.items():
        if kwargs.get(name) is not None:
            raise UnsupportedError(message)
    for name in sorted(kwargs):
        value = kwargs[name]
        if name in _NO_EFFECT or name in _UNSUPPORTED or value is None or value is False:
            continue
        if name in _IGNORED:
            warn_once(
                f"init:{name}",
                f"runyard.init: {name}={value!r} is accepted but not supported yet: {_IGNORED[name]}.",
                stacklevel=3,
            )
        else:
            warn_once(f"init:{name}", f"runyard.init: ignoring unsupported argument {name}={value!r}", stacklevel=3)


def _settings(given: Settings | dict[str, Any] | Any) -> Settings:
    """The settings of an init() call, on top of those ``runyard.setup()`` gave."""
    if given is None:
        settings = Settings()
    elif isinstance(given, dict):
        settings = Settings(**given)
    elif isinstance(given, Settings):
        settings = copy.copy(given)
    else:
        # Another library's settings object (a real wandb.Settings): its server and key are W&B's, not ours.
        foreign = getattr(given, "__dict__", {}).items()
        settings = Settings(**{k: v for k, v in foreign if not k.startswith("_") and k not in ("base_url", "api_key")})
    defaults = lifecycle.default_settings()
    if defaults is not None:
        settings = settings.over(defaults)
    return settings


def _start_observers(run: Run, settings: ResolvedSettings) -> None:
    """Start what records the run in the background: slow metadata, the console, system metrics.

    The console is switched over here, so that everything printed after init() is captured. The three threads
    are started by a launcher that init() does not wait for: ``Thread.start()`` blocks until the new thread has
    run, which costs a scheduler tick (~4 ms) per thread when the CPUs are busy, as they are while the ingester
    process starts.
    """
    try:
        capture = console.install(run, settings.console)
    except OSError as exc:  # no file descriptors left, say: the run goes on without its console
        print(f"runyard: console output is not captured: {exc}", file=sys.stderr)
        capture = None
    probe = MetadataProbe(run, git=not settings.disable_git, requirements=settings.save_requirements)
    sampler = None if settings.disable_stats else SystemSampler(run, settings.stats_sampling_interval)
    run._console, run._metadata_probe, run._sampler = capture, probe, sampler
    started = threading.Event()
    run._observers_started = started
    _thread.start_new_thread(_launch, ([capture, probe, sampler], started))


def _launch(observers: list[ConsoleCapture | MetadataProbe | SystemSampler | None], started: threading.Event) -> None:
    try:
        for observer in observers:
            if observer is not None:
                observer.start()
    except Exception as exc:  # cannot start a thread (a process at its thread limit): record without it
        print(f"runyard: could not start a background thread: {exc}", file=sys.stderr)
    finally:
        started.set()


def _reinit_mode(reinit: bool | str | None) -> str:
    if reinit is None or reinit is False:
        return "return_previous"
    if reinit is True:
        return "finish_previous"
    if isinstance(reinit, str) and reinit in _REINIT:
        return "return_previous" if reinit == "default" else reinit
    raise UsageError(f"reinit must be one of {', '.join(_REINIT)}, True or False; got {reinit!r}")


def _start_disabled(
    settings: ResolvedSettings,
    project: str,
    entity: str,
    name: str | None,
    notes: str | None,
    tags: list[str],
    group: str | None,
    job_type: str | None,
    config: dict[str, Any],
    run_id: str | None,
) -> Run:
    run = Run(
        settings=settings,
        run_id=run_id or new_run_id(),
        project=project,
        entity=entity,
        name=name or "disabled-run",
        notes=notes,
        tags=tags,
        group=group,
        job_type=job_type,
        session=new_session_id(),
        folder=None,
        writer=None,
    )
    run.config._items.update(run.config._config_values(config))
    lifecycle.install_hooks()
    lifecycle.set_active(run)
    return run
