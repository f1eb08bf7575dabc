"""``runyard sync``: store run logs where their runs meant to go, and say exactly what happened.

Each run log goes to one target: the store of ``--store-url`` or the server of ``--base-url`` when given; else
the runyard server a run was logged to (its run log is bound to it: :mod:`runyard.runlog.binding`), the store a
local run was logged to, and for an offline run the server of ``runyard login`` / ``RUNYARD_BASE_URL`` when
there is one, else the store. Stores and server connections open on first use, so a sync that has nothing to
send to a store never creates one.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from runyard.errors import Error, RemoteError, UsageError
from runyard.replay import ReplayResult, Target, describe_loss, find_run_logs, replay
from runyard.runlog.binding import bound_server
from runyard.settings import ResolvedSettings, Settings

if TYPE_CHECKING:
    from runyard.sinks.http import HttpSink
    from runyard.store import Store

__all__ = ["SyncTargets", "sync"]

_ATTEMPTS = 4
"""Tries per run log while a server cannot be reached (1, 2, 4 s apart): it may be restarting."""


def sync(
    paths: list[Path],
    *,
    dir: str | None = None,
    store_url: str | None = None,
    base_url: str | None = None,
    force: bool = False,
) -> int:
    """Replay the run logs under ``paths`` (default: the run folders of ``dir``); returns the exit code.

    Prints one line per run log that stored something or left something behind, and a summary; 1 when any
    log has records left behind (an error, damage), 2 when a path does not exist.
    """
    settings = Settings(root_dir=dir, store_url=store_url, base_url=base_url).resolved()
    given = bool(paths)
    paths = paths or [settings.runs_dir]
    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        # Checked before the store is opened: a sync in the wrong folder must not leave an empty store behind.
        hint = "" if given else " (run it in the folder that holds runyard/, or pass --dir or run log paths)"
        print(f"runyard sync: no such file or folder: {', '.join(missing)}{hint}", file=sys.stderr)
        return 2
    found = list(find_run_logs(paths))
    if not found:
        print(f"runyard sync: no run logs (*.rylog) in {', '.join(map(str, paths))}: nothing to ingest")
        return 0
    targets = SyncTargets(settings, store_url=store_url, base_url=base_url)
    logs = ingested = records = current = failed = 0
    try:
        for path in found:
            result = targets.replay(path, force=force)
            logs += 1
            if result.applied:
                ingested += 1
                records += result.applied
                where = targets.where(path)
                holds = f"; run {result.run} holds {_steps(result.steps)} {where}" if result.run else ""
                print(f"{path}: stored {result.applied} new record{_s(result.applied)}{holds}")
            elif not result.left_behind:
                current += 1
            if result.left_behind:
                failed += 1
                print(f"{path}: {describe_loss(result)}", file=sys.stderr)
                if result.error:
                    print(f"  run `runyard sync {path}` again once the cause is fixed", file=sys.stderr)
    finally:
        targets.close()
    where = targets.describe()
    summary = (
        f"runyard sync: {logs} run log{_s(logs)}: {ingested} ingested ({records} new record{_s(records)}), "
        f"{current} already in the store, {failed} with records left behind; {where}"
    )
    if ingested == 0 and failed == 0:
        summary = f"runyard sync: nothing new to store: every one of {logs} run log{_s(logs)} is already in {where}"
    print(summary)
    return 1 if failed else 0


class SyncTargets:
    """The target of each run log (see the module's docstring), opened on first use."""

    def __init__(self, settings: ResolvedSettings, *, store_url: str | None, base_url: str | None) -> None:
        self.settings = settings
        self.store_url = store_url
        self.base_url = base_url
        self._store: Store | None = None
        self._servers: dict[str, HttpSink] = {}
        self._keys: dict[str, str] = {}

    def server_of(self, path: Path) -> str | None:
        """The server the run log at ``path`` goes to, or None: the store."""
        if self.store_url is not None:
            return None
        if self.base_url is not None or path.parent.name.startswith("offline-run"):
            return self.settings.base_url
        return bound_server(path)  # None: a run logged to a local store

    def where(self, path: Path) -> str:
        """Where the run log at ``path`` goes, as messages say it."""
        server = self.server_of(path)
        return "in the store" if server is None else f"on the runyard server {server}"

    def replay(self, path: Path, *, force: bool) -> ReplayResult:
        """Replay one run log into its target; a target that cannot be opened or reached is the result's error."""
        server = self.server_of(path)
        for attempt in range(_ATTEMPTS):
            try:
                target: Target = self._store_target() if server is None else self._server_target(server)
                self._send_kept_files(path, server)
                return replay(path, target, force=force)
            except RemoteError as exc:
                if not exc.retryable or attempt == _ATTEMPTS - 1:
                    return ReplayResult(path, None, 0, 0, False, error=str(exc))
                time.sleep(2**attempt)  # replaying again is harmless: ingestion is idempotent
            except Error as exc:  # a store that cannot be opened, a missing key
                return ReplayResult(path, None, 0, 0, False, error=str(exc))
        raise AssertionError("unreachable")  # pragma: no cover - the loop returns

    def _send_kept_files(self, path: Path, server: str | None) -> None:
        """An offline run's artifact files, kept beside its log, into the target's blob store before the records
        that name them are replayed (a server is sent only the content it lacks)."""
        from runyard.sinks.offline_artifacts import blob_folder, send_kept_files

        if not blob_folder(path).is_dir():
            return
        if server is None:
            blobs = self._store_target().artifacts.blobs
            send_kept_files(path, blobs.put_file)
        else:
            from runyard.sinks.remote_artifacts import RemoteArtifactAccess

            access = RemoteArtifactAccess(server, self._keys[server])
            try:
                send_kept_files(path, access.blobs().put_file)
            finally:
                access.close()

    def _store_target(self) -> Store:
        if self._store is None:
            from runyard.store import Store
            from runyard.store.store import default_blob_location

            url = self.settings.store_url
            # A SQLite store keeps artifact files in blobs/ beside it, as the SDK's runs logging to it do.
            blobs = default_blob_location(url)
            self._store = Store.open(url, crash_timeout=self.settings.crash_timeout, default_blobs=blobs)
        return self._store

    def _server_target(self, server: str) -> HttpSink:
        if server not in self._servers:
            from runyard.sinks.http import HttpSink

            key = self.settings.api_key if server == self.settings.base_url else None
            if key is None:
                key = Settings(root_dir=str(self.settings.dir), base_url=server).resolved().api_key
            if not key:
                raise UsageError(f"no API key for the runyard server {server}: run `runyard login {server}` first")
            self._servers[server] = HttpSink(server, key)
            self._keys[server] = key
        return self._servers[server]

    def describe(self) -> str:
        """The targets used, as the summary names them (the store's URL without its password)."""
        where = [f"server {url}" for url in self._servers]
        if self._store is not None or not where:
            where.append(f"store {_safe_url(self.settings.store_url)}")
        return ", ".join(where)

    def close(self) -> None:
        for server in self._servers.values():
            server.close()
        if self._store is not None:
            self._store.close()


def _s(n: int) -> str:
    return "" if n == 1 else "s"


def _steps(n: int | None) -> str:
    return "an unknown number of steps" if n is None else f"{n} step{_s(n)}"


def _safe_url(url: str) -> str:
    """A store URL without its password."""
    scheme, sep, rest = url.partition("://")
    if not sep or "@" not in rest.split("/", 1)[0]:
        return url
    credentials, _, host = rest.partition("@")
    user = credentials.split(":", 1)[0]
    return f"{scheme}://{user}{':***' if ':' in credentials else ''}@{host}"
