"""What ``finish()`` tells the user: only what is true, read back from the store (or the runyard server the run
logs to), with the command that recovers anything left behind."""

from __future__ import annotations

import os
import shlex
from pathlib import Path
from typing import TYPE_CHECKING

from runyard import records as R

if TYPE_CHECKING:
    from runyard.sdk.run import Run
    from runyard.settings import ResolvedSettings

_KIND_NAMES = {
    R.KIND_ROW: "step",
    R.KIND_CONFIG: "config change",
    R.KIND_SUMMARY: "summary change",
    R.KIND_META: "run property change",
    R.KIND_CONSOLE: "batch of console lines",
    R.KIND_SYSTEM: "system-metrics sample",
    R.KIND_METADATA: "metadata record",
    R.KIND_FILE: "run file",
    R.KIND_METRIC: "metric definition",
    R.KIND_EXIT: "end-of-run record",
}


def plural(n: int, noun: str) -> str:
    """``1 step``, ``2 steps``."""
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def sync_command(settings: ResolvedSettings, path: Path) -> str:
    """The ``runyard sync`` command that stores the run log at ``path`` where this run meant to store it: the
    runyard server it was logged to (its key comes from ``runyard login`` or RUNYARD_API_KEY, never the
    command line), else the store."""
    if settings.base_url is not None:
        return shlex.join(["runyard", "sync", "--base-url", settings.base_url, str(path)])
    parts = ["runyard", "sync", "--dir", str(settings.dir)]
    if not settings.default_store:
        parts += ["--store-url", _without_password(settings.store_url)]
    parts.append(str(path))
    return shlex.join(parts)


def destination(settings: ResolvedSettings) -> str:
    """Where an online run's records go, as messages name it."""
    return "the store" if settings.base_url is None else f"the runyard server {settings.base_url}"


def _without_password(url: str) -> str:
    scheme, sep, rest = url.partition("://")
    credentials, at, host = rest.partition("@")
    if not sep or not at or "/" in credentials or ":" not in credentials:
        return url
    return f"{scheme}://{credentials.split(':', 1)[0]}@{host}"


def unwritten(run: Run) -> str | None:
    """The records that could not be written to the run log (a full disk...), or None when every write succeeded."""
    failed = run._failed_kinds
    if not failed:
        return None
    what = ", ".join(plural(n, _KIND_NAMES.get(kind, f"{kind} record")) for kind, n in sorted(failed.items()))
    last = run._writer.last_failure if run._writer is not None else None
    why = f" ({os.strerror(last.errno)})" if last is not None and last.errno else ""
    verb = "is" if sum(failed.values()) == 1 else "are"
    return f"{what} could not be written to the run log{why} and {verb} not stored (each call raised an error)"


def finish_lines(run: Run, state: str, drained: bool, problems: list[str]) -> list[str]:
    """The lines ``finish()`` prints after the run ended and the ingester (if any) was drained."""
    lines = list(problems)
    lost = unwritten(run)
    if lost:
        lines.append(lost)
    settings = run._settings
    writer = run._writer
    head = f"run {run.name} ({run.id}) {state}"
    if settings.mode == "offline" or run._ingester is None:
        path = writer.path if writer is not None else None
        if path is None:
            return [*lines, head]
        lines.append(f"{head} offline; its run log holds everything logged: {path}")
        lines.append(f"to store it, run: {sync_command(settings, path)}")
        return lines
    ingester = run._ingester
    for first, last in ingester.lost:
        count = last - first + 1
        lines.append(
            f"{plural(count, 'record')} (#{first}-#{last}) of the run log were in damaged bytes and are lost; "
            "every intact record before and after them is stored"
        )
    if ingester.damaged_tail is not None:
        start, end = ingester.damaged_tail
        lines.append(f"bytes {start}-{end} at the end of the run log are damaged; whatever they held is lost")
    steps = ingester.stored_steps
    holds = "an unknown number of steps" if steps is None else plural(steps, "step")
    where = destination(settings)
    if drained:
        lines.append(f"{head}: {holds} {'in' if settings.base_url is None else 'on'} {where}")
        return lines
    assert writer is not None
    reason = f" ({ingester.last_error})" if ingester.last_error else ""
    keeps = f"the run log {writer.path} keeps the rest"
    lines.append(
        f"{head}, but {where} has not taken every record yet{reason}; it holds {holds} so far. "
        f"{keeps[0].upper() + keeps[1:] if lost else 'Nothing logged is lost: ' + keeps}; to store it, run: "
        f"{sync_command(settings, writer.path)}"
    )
    return lines
