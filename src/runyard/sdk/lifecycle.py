"""How runs end: ``finish()``, the ``with`` block, and the process exit hooks.

The exit hooks finish the active run in the process that created it: a normal exit finishes it, a non-zero
``sys.exit`` or an uncaught exception fails it (exit code kept), a KeyboardInterrupt kills it. A child process
(fork or spawn) never touches its parent's run; a run the child started itself must be finished by the child,
and one it forgets is left running so that it reads ``crashed`` once its heartbeat is stale.
"""

from __future__ import annotations

import atexit
import os
import sys
import time
import weakref
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from runyard import records as R
from runyard.errors import Error, UsageError
from runyard.runlog.binding import unbind
from runyard.sdk.finish_report import finish_lines

if TYPE_CHECKING:
    from runyard.sdk.run import Run
    from runyard.settings import Settings

_FINISH_TIMEOUT = 120.0
_OBSERVER_START_WAIT = 5.0

_active: Run | None = None
_hooks_installed = False
_exit_code: int | None = None
_exception_exit: tuple[int, str] | None = None
_orig_excepthook: Any = None
_orig_exit: Any = None
_runs: weakref.WeakSet[Run] = weakref.WeakSet()
_default_settings: Settings | None = None


def active_run() -> Run | None:
    """The active run of this process, if any."""
    run = _active
    if run is not None and run._pid != os.getpid():
        return None
    return run


def set_active(run: Run | None) -> None:
    global _active
    _active = run


def default_settings() -> Settings | None:
    """The settings ``runyard.setup()`` gave, which every later ``init()`` starts from."""
    return _default_settings


def set_default_settings(settings: Settings | None) -> None:
    global _default_settings
    _default_settings = settings


def finish_all(exit_code: int | None = None) -> None:
    """Finish every unfinished run this process created (``runyard.teardown()``)."""
    runs = set(_runs)
    active = active_run()
    if active is not None:
        runs.add(active)
    for run in sorted(runs, key=lambda r: r.start_time):
        if not run._finished and run._pid == os.getpid() and not run._foreign:
            finish_run(run, exit_code)


def exit_for_exception(exc: BaseException | None) -> tuple[int, str]:
    """The exit code and final state for a run ended by ``exc``."""
    if isinstance(exc, KeyboardInterrupt):
        return 255, R.STATE_KILLED
    if isinstance(exc, SystemExit):
        code = exc.code
        if code is None or code == 0:
            return 0, R.STATE_FINISHED
        if isinstance(code, int):
            return code, R.STATE_FAILED
        return 1, R.STATE_FAILED
    return 1, R.STATE_FAILED


def finish_run(run: Run, exit_code: int | None = None, state: str | None = None) -> None:
    """End ``run``: commit the pending row, write the exit record, and wait for the store to hold everything."""
    if run._finished:
        return
    if run._pid != os.getpid():
        raise UsageError(f"Run {run.id} belongs to process {run._pid}; a child process cannot finish its parent's run.")
    code = int(exit_code or 0)
    if state is None:
        state = R.STATE_FINISHED if code == 0 else R.STATE_FAILED
    from runyard.sdk.run_artifacts import finish_uploads

    run._wait_media()  # before the exit record: the files of every logged image are in the run log
    quiet = run._settings.silent or run._settings.mode == "disabled"
    problems = finish_uploads(run, quiet)  # before the exit record: their records come first
    problems += stop_observers(run)
    with run._lock:
        if run._pending:
            try:
                run._commit_pending()
            except (Error, TypeError, OSError) as exc:  # too large, a full disk: the run still ends
                problems.append(f"the last step could not be logged: {exc}")
        t = time.time()
        try:
            seq = run._write(
                R.KIND_EXIT,
                {
                    "exit_code": code,
                    "state": state,
                    "t": t,
                    "runtime": run._runtime_offset + (t - run._start_time),
                },
            )
        except OSError as exc:
            seq = run._seq
            problems.append(f"the end of the run could not be written ({exc}); the store will show it crashed")
        run._finished = True
        run._exit_state = state
        if run._writer is not None:
            run._writer.close()
    if _active is run:
        set_active(None)
    drained = _settle(run, seq)
    if state == R.STATE_FINISHED:
        _resume_file(run).unlink(missing_ok=True)
    if not run._settings.silent and run._settings.mode != "disabled":
        for line in finish_lines(run, state, drained, problems):
            print(f"runyard: {line}", file=sys.stderr)


def stop_observers(run: Run) -> list[str]:
    """Stop the system sampler, the metadata probe and the console capture (in that order: output printed until now is
    still captured), after each has written what it holds. Returns what went wrong, to report at finish."""
    problems: list[str] = []
    started = run._observers_started
    if started is not None and not started.wait(_OBSERVER_START_WAIT):
        problems.append("the background threads did not start in time")
    sampler, run._sampler = run._sampler, None
    if sampler is not None:
        sampler.stop()
        if sampler.errors:
            problems.append(f"{sampler.errors} system-metrics probe(s) failed; their metrics are missing")
    probe, run._metadata_probe = run._metadata_probe, None
    if probe is not None and not probe.wait():
        problems.append("the git and package metadata took too long to gather and was left out")
    capture, run._console = run._console, None
    if capture is not None:
        capture.stop()
        if capture.errors:
            problems.append(f"console capture had {capture.errors} error(s), the last: {capture.last_error}")
    return problems


def _settle(run: Run, seq: int) -> bool:
    """Wait for ingestion of everything up to ``seq``; then drop the run log unless it is still needed.

    Returns whether the store holds every record (True without an ingester: nothing to wait for).
    """
    ingester = run._ingester
    writer = run._writer
    if ingester is None or writer is None:
        return True
    done = ingester.drain(seq, _FINISH_TIMEOUT)
    if done and not run._settings.keep_run_log:
        writer.path.unlink(missing_ok=True)
        unbind(writer.path)
        try:
            writer.path.parent.rmdir()  # only when empty: files the user saved stay
        except OSError:
            pass
    return done


def _resume_file(run: Run) -> Path:
    return run._settings.data_dir / "resume.json"


def write_resume_file(run: Run) -> None:
    import json

    path = _resume_file(run)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"run_id": run.id, "project": run.project, "entity": run.entity}))


def read_resume_file(root: Path) -> dict[str, str] | None:
    import json

    try:
        data = json.loads((root / "resume.json").read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and "run_id" in data else None


# -- process hooks
def install_hooks() -> None:
    """Install the exit hooks once per process."""
    global _hooks_installed, _orig_excepthook, _orig_exit
    if _hooks_installed:
        return
    _hooks_installed = True
    atexit.register(_atexit)
    _orig_excepthook = sys.excepthook
    sys.excepthook = _excepthook
    _orig_exit = sys.exit
    sys.exit = _exit
    os.register_at_fork(after_in_child=_after_fork_in_child)


def _exit(code: Any = None) -> NoReturn:
    global _exit_code
    if code is None or code == 0:
        _exit_code = 0
    elif isinstance(code, int):
        _exit_code = code
    else:
        _exit_code = 1
    _orig_exit(code)
    raise SystemExit(code)  # unreachable: the original sys.exit raised


def _excepthook(exc_type: type[BaseException], exc: BaseException, tb: Any) -> None:
    global _exception_exit
    _exception_exit = exit_for_exception(exc)
    _orig_excepthook(exc_type, exc, tb)


def track(run: Run) -> None:
    """Remember ``run`` so that a forked child can mark it as its parent's."""
    _runs.add(run)


def _after_fork_in_child() -> None:
    # The parent's run stays the parent's: the child neither logs to it nor finishes it.
    global _exit_code, _exception_exit
    for run in list(_runs):
        run._foreign = True
    set_active(None)
    _exit_code = None
    _exception_exit = None


def in_multiprocessing_child() -> bool:
    mp = sys.modules.get("multiprocessing")
    return mp is not None and mp.parent_process() is not None


def register_child_finalizer(run: Run) -> None:
    """In a multiprocessing child, store what the run logged when the child's target returns.

    The run is not finished (W&B: a child must call finish() itself); it reads crashed once its heartbeat is
    stale, but none of its data waits for ``runyard sync``.
    """
    from multiprocessing import util

    util.Finalize(None, _drain_unfinished, args=(run,), exitpriority=100)


def _drain_unfinished(run: Run) -> None:
    if run._finished or run._pid != os.getpid():
        return
    stop_observers(run)
    with run._lock:
        run._finished = True  # nothing may write to the run log once it is closed
    if run._writer is not None:
        run._writer.close()
    ingester = run._ingester
    if ingester is not None:
        ingester.abandon(_FINISH_TIMEOUT)


def _atexit() -> None:
    run = active_run()
    if run is None or run._finished:
        return
    if in_multiprocessing_child():
        _drain_unfinished(run)
        return
    if _exception_exit is not None:
        code, state = _exception_exit
        finish_run(run, code, state)
    else:
        finish_run(run, _exit_code or 0)
