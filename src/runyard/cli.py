"""The ``runyard`` command line."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from runyard.settings import ResolvedSettings, Settings, server_key_folder


def _settings(args: argparse.Namespace) -> ResolvedSettings:
    return Settings(root_dir=args.dir, store_url=args.store_url).resolved()


def cmd_sync(args: argparse.Namespace) -> int:
    from runyard.replay import describe_loss, find_run_logs, replay
    from runyard.store import Store

    settings = _settings(args)
    paths = [Path(p) for p in args.paths] or [settings.runs_dir]
    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        # Checked before the store is opened: a sync in the wrong folder must not leave an empty store behind.
        hint = "" if args.paths else " (run it in the folder that holds runyard/, or pass --dir or run log paths)"
        print(f"runyard sync: no such file or folder: {', '.join(missing)}{hint}", file=sys.stderr)
        return 2
    found = list(find_run_logs(paths))
    if not found:
        print(f"runyard sync: no run logs (*.rylog) in {', '.join(map(str, paths))}: nothing to ingest")
        return 0
    store = Store.open(settings.store_url, crash_timeout=settings.crash_timeout)
    where = _safe_url(settings.store_url)
    logs = ingested = records = current = failed = 0
    try:
        for path in found:
            result = replay(path, store, force=args.force)
            logs += 1
            if result.applied:
                ingested += 1
                records += result.applied
                holds = f"; run {result.run} holds {_steps(result.steps)} in the store" if result.run else ""
                print(f"{path}: stored {result.applied} new record{_s(result.applied)}{holds}")
            elif not result.left_behind:
                current += 1
            if result.left_behind:
                failed += 1
                print(f"{path}: {describe_loss(result)}", file=sys.stderr)
                if result.error:
                    print(f"  run `runyard sync {path}` again once the cause is fixed", file=sys.stderr)
    finally:
        store.close()
    if logs == 0:
        print(f"runyard sync: no run logs found in {', '.join(map(str, paths))}; nothing stored")
        return 0
    summary = (
        f"runyard sync: {logs} run log{_s(logs)}: {ingested} ingested ({records} new record{_s(records)}), "
        f"{current} already in the store, {failed} with records left behind; store {where}"
    )
    if ingested == 0 and failed == 0:
        summary = f"runyard sync: nothing new to store: every one of {logs} run log{_s(logs)} is already in {where}"
    print(summary)
    return 1 if failed else 0


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


def cmd_demo(args: argparse.Namespace) -> int:
    from runyard.demo import PROJECT, demo_entity
    from runyard.demo import main as demo_main

    sock = None
    if not args.no_ui:
        from runyard.server.serve import bind_or_say

        # The port first: a taken one is said before any run is logged (and before a retry logs 4 more).
        sock = bind_or_say(args.host, args.port)
        if sock is None:
            return 1
    try:
        code = demo_main(dir=args.dir, steps=args.steps, store_url=args.store_url)
        if code != 0 or sock is None:
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
            sock=sock,
            public_url=args.url,
        )
    finally:
        if sock is not None:
            sock.close()


def cmd_ui(args: argparse.Namespace) -> int:
    from runyard.server.serve import serve

    settings = _settings(args)
    if settings.no_local_data() and not args.create:
        print(
            f"runyard ui: {settings.no_local_data_message('--dir')} To start a new, empty store here (for wandb "
            "clients to log into), pass --create.",
            file=sys.stderr,
        )
        return 2
    return serve(
        settings.store_url,
        host=args.host,
        port=args.port,
        crash_timeout=settings.crash_timeout,
        key_folder=settings.data_dir,
        blobs=args.blobs,
        public_url=args.url,
        allowed_hosts=args.allowed_host,
        allowed_origins=args.allowed_origin,
    )


def cmd_server(args: argparse.Namespace) -> int:
    from runyard.server.serve import serve

    settings = Settings(root_dir=args.dir, store_url=args.db).resolved()
    return serve(
        args.db,
        host=args.host,
        port=args.port,
        crash_timeout=settings.crash_timeout,
        key_folder=_server_key_folder(args.dir, settings),
        blobs=args.blobs,
        public_url=args.url,
        allowed_hosts=args.allowed_host,
        allowed_origins=args.allowed_origin,
    )


def _exposure(p: argparse.ArgumentParser) -> None:
    """The options that widen which browsers' requests a server answers (see runyard.server.origins)."""
    p.add_argument(
        "--allowed-host",
        action="append",
        default=[],
        metavar="NAME",
        help="a host name the server answers to besides IP addresses, localhost and this machine's name "
        "(repeatable; .example.com: the name and its subdomains; *: any). Browsers' requests naming another "
        "host are refused, which stops DNS-rebinding attacks",
    )
    p.add_argument(
        "--allowed-origin",
        action="append",
        default=[],
        metavar="URL",
        help="an origin (https://runyard.example.com) whose pages may change runs, besides the server's own "
        "(repeatable): the address users open when a proxy in front gives the server another Host",
    )


def _server_key_folder(given_dir: str | None, settings: ResolvedSettings) -> Path:
    """Where ``runyard server`` keeps the API key it prints: the data folder of ``--dir``; else beside a SQLite
    store's file; else (PostgreSQL) the user's runyard configuration folder, one file per database, never the
    current folder."""
    if given_dir is not None:
        return settings.data_dir
    from sqlalchemy.engine import make_url

    url = make_url(settings.store_url)
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        return Path(url.database).absolute().parent
    return server_key_folder(url.render_as_string(hide_password=True))


_DIR_HELP = (
    "the folder that holds runyard's data folder runyard/, as init(dir=...) takes it (default: $RUNYARD_DIR, "
    "else the current folder)"
)
_URL_HELP = "the address users reach this server at, if not the one it listens on (behind a proxy); run links name it"

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
        p.add_argument("--dir", default=None, help=_DIR_HELP)
        p.add_argument("--store-url", default=None, help="store URL (default: runyard/runyard.db in --dir)")

    p_sync = sub.add_parser("sync", help="ingest run logs (offline runs, or runs whose process died)")
    p_sync.add_argument("paths", nargs="*", help="run log files, run folders or a runyard folder")
    p_sync.add_argument("--force", action="store_true", help="re-read logs already marked as synced")
    common(p_sync)
    p_sync.set_defaults(func=cmd_sync)

    p_demo = sub.add_parser("demo", help="train a small model over a few settings and log it")
    p_demo.add_argument("--steps", type=int, default=300, help="training steps per run")
    p_demo.add_argument("--no-ui", action="store_true", help="only log the runs; do not serve the web app afterwards")
    p_demo.add_argument("--host", default="127.0.0.1", help="address the web app listens on (default 127.0.0.1)")
    p_demo.add_argument("--port", type=int, default=8080, help="port the web app listens on (default 8080)")
    p_demo.add_argument("--url", default=None, help=_URL_HELP)
    common(p_demo)
    p_demo.set_defaults(func=cmd_demo)

    p_ui = sub.add_parser("ui", help="serve the web app over the local store")
    p_ui.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p_ui.add_argument("--port", type=int, default=8080, help="port to listen on (default 8080)")
    p_ui.add_argument("--blobs", default=None, metavar="URL", help=_BLOBS_HELP)
    p_ui.add_argument("--url", default=None, help=_URL_HELP)
    p_ui.add_argument(
        "--create", action="store_true", help="start a new, empty store when --dir holds no runyard data yet"
    )
    _exposure(p_ui)
    common(p_ui)
    p_ui.set_defaults(func=cmd_ui)

    p_server = sub.add_parser("server", help="serve the web app and API over a shared store")
    p_server.add_argument("--db", required=True, help="store URL: postgresql://user@host/db or sqlite:///path")
    p_server.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p_server.add_argument("--port", type=int, default=8080, help="port to listen on (default 8080)")
    p_server.add_argument("--blobs", default=None, metavar="URL", help=_BLOBS_HELP)
    p_server.add_argument("--url", default=None, help=_URL_HELP)
    p_server.add_argument(
        "--dir",
        default=None,
        help="keep the API key for wandb clients in DIR/runyard/api-key (default: beside a SQLite store's file; "
        "for PostgreSQL, the user's runyard configuration folder)",
    )
    _exposure(p_server)
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
