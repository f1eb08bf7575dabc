"""What ``init()`` does differently when runs go to a runyard server (``runyard login``, ``RUNYARD_BASE_URL``).

``init()`` itself talks to the server at most once, to check a run ``id`` (resume), and never waits more than
:data:`INIT_WAIT_S` for the answer: the check runs in a thread that ``init()`` stops waiting for. Records go to
the server through the ingester process (:class:`runyard.sinks.http.HttpSink`); the run log keeps every record
until the server holds it, so an unreachable server costs the training loop nothing.

A run log bound for a server is marked so (:mod:`runyard.runlog.binding`): ``runyard sync`` sends it there.
"""

from __future__ import annotations

import threading
import warnings
from typing import TYPE_CHECKING, Any

from runyard.errors import RemoteError, ResumeError, UsageError
from runyard.settings import ResolvedSettings

if TYPE_CHECKING:
    from runyard.sinks.http import ResumeState

__all__ = ["INIT_WAIT_S", "check_login", "resume_state"]

INIT_WAIT_S = 2.0
"""The longest ``init()`` waits for a runyard server."""


def check_login(settings: ResolvedSettings) -> None:
    """Raise :class:`UsageError` when runs should go to a server but there is no key for it."""
    if settings.base_url is not None and not settings.api_key:
        raise UsageError(
            f"runs go to the runyard server {settings.base_url}, but there is no API key for it: run "
            f"`runyard login {settings.base_url}`, or set RUNYARD_API_KEY (the server's `runyard ui`/`runyard "
            "server` prints one)"
        )


def resume_state(
    settings: ResolvedSettings, entity: str, project: str, run_id: str, resume: str | None
) -> ResumeState | None:
    """The server's state of the run, waiting at most :data:`INIT_WAIT_S`.

    When the server does not answer in time: a resume (``allow``, ``auto``, ``must``) cannot go on without the
    run's state and raises :class:`ResumeError`; a run that is not resumed starts as new, with a warning. A key
    the server refuses raises :class:`~runyard.errors.AuthenticationError` (as does any answer that is not
    worth retrying, a :class:`RemoteError`).
    """
    from runyard.sinks.http import HttpSink

    assert settings.base_url is not None
    outcome: list[Any] = []

    def ask() -> None:
        sink = HttpSink(
            settings.base_url or "", settings.api_key or "", connect_timeout=INIT_WAIT_S, read_timeout=INIT_WAIT_S
        )
        try:
            outcome.append(sink.resume_state(entity, project, run_id))
        except BaseException as exc:
            outcome.append(exc)
        finally:
            sink.close()

    # A thread, so that nothing (a name lookup that hangs, a slow TLS handshake) holds init() past the bound.
    thread = threading.Thread(target=ask, name="runyard-resume-check", daemon=True)
    thread.start()
    thread.join(INIT_WAIT_S)
    if outcome and not isinstance(outcome[0], BaseException):
        found: ResumeState | None = outcome[0]
        return found
    error = outcome[0] if outcome else None
    if isinstance(error, RemoteError) and not error.retryable:
        raise error
    reason = str(error) if error is not None else f"no answer within {INIT_WAIT_S:g} s"
    if resume in ("allow", "auto", "must"):
        raise ResumeError(
            f"cannot resume run {run_id!r}: {reason}. Resuming needs the run's state from the server; try again "
            "when it is reachable."
        )
    warnings.warn(
        f"runyard: could not check whether run {run_id!r} already exists in {entity}/{project} ({reason}); "
        "starting it as a new run. Everything it logs is kept in the run log and sent when the server answers.",
        RuntimeWarning,
        stacklevel=3,
    )
    return None
