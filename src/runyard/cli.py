"""The ``runyard`` command line."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from runyard.settings import ResolvedSettings, Settings


def _settings(args: argparse.Namespace) -> ResolvedSettings:
    return Settings(root_dir=args.dir, store_url=args.store_url).resolved()


_SYNC_ATTEMPTS = 4


def cmd_sync(args: argparse.Namespace) -> int:
    from runyard.replay import find_run_logs

    settings = Settings(root_dir=args.dir, store_url=args.store_url, base_url=args.base_url).resolved()
    paths = [Path(p) for p in args.paths] or [settings.runs_dir]
    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        print(f"runyard sync: no such file or folder: {', '.join(missing)}", file=sys.stderr)
        return 2
    targets = _SyncTargets(args, settings)
    failed = 0
    total = 0
    try:
        for path in find_run_logs(paths):
            total += 1
            error = targets.sync(path, force=args.force)
            if error:
                failed += 1
                print(f"{path}: {error}", file=sys.stderr)
    finally:
        targets.close()
    print(f"runyard sync: {total} run log(s) checked, {failed} failed; {targets.describe()}")
    return 1 if failed else 0


class _SyncTargets:
    """Where each run log goes: ``--store-url`` or ``--base-url`` when given; else the server a run was logged to,
    the store a local run was logged to, and for an offline run the server of ``runyard login`` /
    ``RUNYARD_BASE_URL`` when there is one, else the store. Stores and connections open on first use.
    """

    def __init__(self, args: argparse.Namespace, settings: ResolvedSettings) -> None:
        self.args = args
        self.settings = settings
        self._store: Any = None
        self._sinks: dict[str, Any] = {}

    def sync(self, path: Path, *, force: bool) -> str | None:
        """Replay one run log; returns what went wrong, or None."""
        import time

        from runyard.errors import Error, RemoteError
        from runyard.replay import replay
        from runyard.runlog.binding import bound_server

        server = None
        if self.args.store_url is None:
            if self.args.base_url or path.parent.name.startswith("offline-run"):
                server = self.settings.base_url
            else:
                server = bound_server(path)  # None: a run logged to a local store
        try:
            target = self._store_target() if server is None else self._server_target(server)
        except Error as exc:
            return str(exc)
        for attempt in range(_SYNC_ATTEMPTS):
            try:
                result = replay(path, target, force=force)
            except RemoteError as exc:
                if not exc.retryable or attempt == _SYNC_ATTEMPTS - 1:
                    return str(exc)
                time.sleep(2**attempt)  # the server may be restarting: replaying again is harmless
                continue
            if result.error:
                return result.error
            if result.applied:
                print(f"{path}: ingested {result.applied} records (up to #{result.last_seq})")
            return None
        return None  # pragma: no cover - the loop returns

    def _store_target(self) -> Any:
        if self._store is None:
            from runyard.store import Store

            self._store = Store.open(self.settings.store_url, crash_timeout=self.settings.crash_timeout)
        return self._store

    def _server_target(self, server: str) -> Any:
        if server not in self._sinks:
            from runyard.errors import UsageError
            from runyard.sinks.http import HttpSink

            key = self.settings.api_key if server == self.settings.base_url else None
            if key is None:
                key = Settings(root_dir=self.args.dir, base_url=server).resolved().api_key
            if not key:
                raise UsageError(f"no API key for the runyard server {server}: run `runyard login {server}` first")
            self._sinks[server] = HttpSink(server, key)
        return self._sinks[server]

    def describe(self) -> str:
        where = [f"server {url}" for url in self._sinks]
        if self._store is not None or not where:
            where.append(f"store {self.settings.store_url}")
        return ", ".join(where)

    def close(self) -> None:
        for sink in self._sinks.values():
            sink.close()
        if self._store is not None:
            self._store.close()


def cmd_login(args: argparse.Namespace) -> int:
    import getpass
    import os

    from runyard.credentials import Login, normalize_base_url, save_login
    from runyard.errors import RemoteError
    from runyard.sinks.http import HttpSink

    url = args.url or Settings().resolved().base_url
    if not url:
        print("runyard login: name the server, e.g. `runyard login http://runyard.internal:8080`", file=sys.stderr)
        return 2
    url = normalize_base_url(url)
    key = args.key or os.environ.get("RUNYARD_API_KEY")
    if not key and sys.stdin.isatty():
        key = getpass.getpass(f"API key for {url} (`runyard server` prints one; input hidden): ").strip()
    if not key:
        print("runyard login: no API key: pass --key KEY or set RUNYARD_API_KEY", file=sys.stderr)
        return 2
    entity = None
    if not args.no_verify:
        sink = HttpSink(url, key, connect_timeout=10.0, read_timeout=10.0)
        try:
            who = sink.whoami()
        except RemoteError as exc:
            print(f"runyard login: {exc}", file=sys.stderr)
            if exc.retryable:
                print("runyard login: to keep the key without checking it, pass --no-verify", file=sys.stderr)
            return 1
        finally:
            sink.close()
        entity = str(who.get("entity") or "") or None
        print(f"runyard: {url} knows this key as {who.get('username')}")
    path = save_login(os.environ, Login(url, key, entity))
    print(f"runyard: runs now go to {url}; the key is kept in {path} (readable only by you)")
    return 0


def cmd_logout(args: argparse.Namespace) -> int:
    import os

    from runyard.credentials import forget_login, read_login

    forgotten = forget_login(os.environ, args.url)
    if forgotten is None:
        print("runyard logout: not logged in" + (f" to {args.url}" if args.url else ""), file=sys.stderr)
        return 1
    left = read_login(os.environ)
    after = f"runs now go to {left.base_url}" if left is not None else "runs now go to the local store"
    print(f"runyard: forgot the key for {forgotten}; {after}")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from runyard.demo import PROJECT, demo_entity
    from runyard.demo import main as demo_main

    code = demo_main(root_dir=args.dir, steps=args.steps)
    if code != 0 or args.no_ui:
        return code
    from runyard.server.serve import serve

    settings = _settings(args)
    print("\nThe web app shows the runs at the address below.", flush=True)
    return serve(
        settings.store_url,
        host=args.host,
        port=args.port,
        crash_timeout=settings.crash_timeout,
        path=f"{demo_entity()}/{PROJECT}",
    )


def cmd_ui(args: argparse.Namespace) -> int:
    from runyard.server.serve import serve

    settings = _settings(args)
    return serve(
        settings.store_url,
        host=args.host,
        port=args.port,
        crash_timeout=settings.crash_timeout,
        key_folder=settings.root_dir,
        blobs=args.blobs,
    )


def cmd_server(args: argparse.Namespace) -> int:
    from runyard.server.serve import serve

    settings = Settings(store_url=args.db).resolved()
    return serve(
        args.db,
        host=args.host,
        port=args.port,
        crash_timeout=settings.crash_timeout,
        key_folder=settings.root_dir,
        blobs=args.blobs,
    )


_BLOBS_HELP = (
    "where run files are stored: a folder (a path or file:///abs/path) or an S3-compatible bucket "
    "(s3://bucket/prefix; pip install 'runyard[s3]', AWS_ENDPOINT_URL and credentials from the environment). "
    "Recorded in the store the first time; later opens use the recorded one. Default: the recorded location, "
    "or none (files stay in the database)"
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="runyard", description="runyard: self-hosted experiment tracking")
    parser.add_argument("--version", action="version", version=_version())
    sub = parser.add_subparsers(dest="command", required=True)

    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument("--dir", default=None, help="runyard data folder (default ./runyard or $RUNYARD_DIR)")
        p.add_argument("--store-url", default=None, help="store URL (default: the SQLite file in --dir)")

    p_sync = sub.add_parser("sync", help="ingest run logs (offline runs, or runs whose process died)")
    p_sync.add_argument("paths", nargs="*", help="run log files, run folders or a runyard folder")
    p_sync.add_argument("--force", action="store_true", help="re-read logs already marked as synced")
    p_sync.add_argument(
        "--base-url",
        default=None,
        metavar="URL",
        help="send every run log to this runyard server (default: the server or store each run was logged to; "
        "offline runs to the server of `runyard login` / RUNYARD_BASE_URL, else the store)",
    )
    common(p_sync)
    p_sync.set_defaults(func=cmd_sync)

    p_login = sub.add_parser("login", help="send runs to a runyard server: keep its address and your API key")
    p_login.add_argument("url", nargs="?", help="the server, e.g. http://runyard.internal:8080 (default: the current)")
    p_login.add_argument("--key", default=None, help="the API key (default: RUNYARD_API_KEY, else asked for)")
    p_login.add_argument("--no-verify", action="store_true", help="keep the key without checking it with the server")
    p_login.set_defaults(func=cmd_login)

    p_logout = sub.add_parser("logout", help="forget a server's key (runs go to the next login, or the local store)")
    p_logout.add_argument("url", nargs="?", help="the server to forget (default: the current one)")
    p_logout.set_defaults(func=cmd_logout)

    p_demo = sub.add_parser("demo", help="train a small model over a few settings and log it")
    p_demo.add_argument("--steps", type=int, default=300, help="training steps per run")
    p_demo.add_argument("--no-ui", action="store_true", help="only log the runs; do not serve the web app afterwards")
    p_demo.add_argument("--host", default="127.0.0.1", help="address the web app listens on (default 127.0.0.1)")
    p_demo.add_argument("--port", type=int, default=8080, help="port the web app listens on (default 8080)")
    common(p_demo)
    p_demo.set_defaults(func=cmd_demo)

    p_ui = sub.add_parser("ui", help="serve the web app over the local store")
    p_ui.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p_ui.add_argument("--port", type=int, default=8080, help="port to listen on (default 8080)")
    p_ui.add_argument("--blobs", default=None, metavar="URL", help=_BLOBS_HELP)
    common(p_ui)
    p_ui.set_defaults(func=cmd_ui)

    p_server = sub.add_parser("server", help="serve the web app and API over a shared store")
    p_server.add_argument("--db", required=True, help="store URL: postgresql://user@host/db or sqlite:///path")
    p_server.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p_server.add_argument("--port", type=int, default=8080, help="port to listen on (default 8080)")
    p_server.add_argument("--blobs", default=None, metavar="URL", help=_BLOBS_HELP)
    p_server.set_defaults(func=cmd_server)
    return parser


def _version() -> str:
    from runyard import __version__

    return f"runyard {__version__}"


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``runyard`` console script."""
    args = build_parser().parse_args(argv)
    from runyard.errors import Error

    try:
        return int(args.func(args))
    except Error as exc:
        print(f"runyard: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
