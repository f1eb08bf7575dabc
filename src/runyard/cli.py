"""The ``runyard`` command line."""

from __future__ import annotations

import argparse
import getpass
import sys
from collections.abc import Sequence
from pathlib import Path

from runyard.settings import ResolvedSettings, Settings


def _settings(args: argparse.Namespace) -> ResolvedSettings:
    return Settings(root_dir=args.dir, store_url=args.store_url).resolved()


def cmd_sync(args: argparse.Namespace) -> int:
    from runyard.sync import sync

    return sync(
        [Path(p) for p in args.paths], dir=args.dir, store_url=args.store_url, base_url=args.base_url, force=args.force
    )


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
        key = getpass.getpass(
            f"API key for {url} (runyard ui prints one; runyard server: the web app; hidden): "
        ).strip()
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
        from runyard.store.store import default_blob_location

        settings = _settings(args)
        print("\nThe web app shows the runs at the address below.", flush=True)
        return serve(
            settings.store_url,
            host=args.host,
            port=args.port,
            crash_timeout=settings.crash_timeout,
            path=f"{demo_entity()}/{PROJECT}",
            default_blobs=default_blob_location(settings.store_url),
            sock=sock,
            public_url=args.url,
        )
    finally:
        if sock is not None:
            sock.close()


def cmd_ui(args: argparse.Namespace) -> int:
    from runyard.server.serve import serve
    from runyard.store.store import default_blob_location

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
        default_blobs=default_blob_location(settings.store_url),
        public_url=args.url,
        allowed_hosts=args.allowed_host,
        allowed_origins=args.allowed_origin,
    )


def cmd_gc(args: argparse.Namespace) -> int:
    from runyard.store import Store
    from runyard.store.store import default_blob_location

    settings = _settings(args)
    if settings.no_local_data() and args.store_url is None:
        print(f"runyard gc: {settings.no_local_data_message('--dir')}", file=sys.stderr)
        return 2
    with Store.open(settings.store_url, default_blobs=default_blob_location(settings.store_url)) as store:
        report = store.artifacts.gc(grace_s=args.grace_minutes * 60.0, dry_run=args.dry_run)
    verb = "would delete" if args.dry_run else "deleted"
    print(
        f"runyard gc: {verb} {report.deleted} unreferenced blob(s), {_bytes(report.bytes_freed)} "
        f"{'to free' if args.dry_run else 'freed'}; kept {report.referenced} referenced and {report.too_young} "
        f"younger than {args.grace_minutes:g} minute(s)"
    )
    return 0


def _bytes(n: int) -> str:
    size = float(n)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.1f} {unit}" if unit != "B" else f"{n} B"
        size /= 1024
    return f"{n} B"  # pragma: no cover


def cmd_server(args: argparse.Namespace) -> int:
    from runyard.server.serve import serve

    if args.db is None:
        print("runyard server: name the store with --db (postgresql://user@host/db or sqlite:///path)", file=sys.stderr)
        return 2
    settings = Settings(root_dir=None, store_url=args.db).resolved()
    oidc = None
    if args.oidc or args.oidc_config:
        from runyard.server.sso.config import load_oidc_settings

        oidc = load_oidc_settings(args.oidc, args.oidc_config)
    return serve(
        args.db,
        host=args.host,
        port=args.port,
        crash_timeout=settings.crash_timeout,
        blobs=args.blobs,
        gc_hours=args.gc_hours,
        public_url=args.url,
        allowed_hosts=args.allowed_host,
        allowed_origins=args.allowed_origin,
        accounts=True,
        oidc=oidc,
    )


def cmd_server_admin_create(args: argparse.Namespace) -> int:
    from runyard.store import Store

    db = getattr(args, "db", None)
    if db is None:
        print("runyard server admin create: name the store with --db (as `runyard server`)", file=sys.stderr)
        return 2
    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = getpass.getpass(f"password for {args.name} (input hidden): ")
        if getpass.getpass("again: ") != password:
            print("runyard server admin create: the passwords differ; nothing was created", file=sys.stderr)
            return 2
    with Store.open(db) as store:
        made = store.accounts.create_user(args.name, password, site_admin=True)
        print(f"runyard: created the site admin {made.username}; sign in at the server's address")
        if args.key:
            _info, key = store.accounts.create_key(made.username, "runyard server admin create")
            print(f"runyard: API key of {made.username}: {key}")
    return 0


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


_DIR_HELP = (
    "the folder that holds runyard's data folder runyard/, as init(dir=...) takes it (default: $RUNYARD_DIR, "
    "else the current folder)"
)
_URL_HELP = "the address users reach this server at, if not the one it listens on (behind a proxy); run links name it"

_BLOBS_HELP = (
    "where run files are stored: a folder (a path or file:///abs/path) or an S3-compatible bucket "
    "(s3://bucket/prefix; pip install 'runyard[s3]', AWS_ENDPOINT_URL and credentials from the environment). "
    "Recorded in the store the first time; later opens use the recorded one. Default: the recorded location; "
    "else, for `runyard ui` on a SQLite store, the folder blobs/ beside it; else none (files stay in the database)"
)


def cmd_sweep(args: argparse.Namespace) -> int:
    import getpass

    from runyard.settings import init_params_from_env
    from runyard.sinks.sweeps import SweepClient
    from runyard.sweeps.config import load_sweep_config

    actions = [a for a in ("pause", "resume", "stop", "cancel") if getattr(args, a)]
    if len(actions) > 1:
        print("runyard sweep: give one of --pause, --resume, --stop, --cancel", file=sys.stderr)
        return 2
    client = SweepClient(_settings(args))
    try:
        if actions:
            found = client.find(args.target, args.entity, args.project)
            done = client.control(found, actions[0])
            print(f"runyard: sweep {done.path} is {done.state}")
            return 0
        config = load_sweep_config(args.target)
        env = init_params_from_env()
        entity = args.entity or config.raw.get("entity") or env.get("entity") or getpass.getuser()
        project = args.project or config.raw.get("project") or env.get("project") or "Uncategorized"
        created = client.create(str(entity), str(project), config.raw, getpass.getuser())
        print(f"runyard: Created sweep with ID: {created.sweep_id}")
        print(f"runyard: Run sweep agent with: runyard agent {created.path}")
        return 0
    finally:
        client.close()


def cmd_agent(args: argparse.Namespace) -> int:
    from runyard.sdk.sweeps import Agent
    from runyard.sinks.sweeps import SweepClient

    client = SweepClient(_settings(args))
    try:
        found = client.find(args.sweep_id, args.entity, args.project)
        Agent(client, found, function=None, count=args.count).run()
    except KeyboardInterrupt:
        print("runyard: agent interrupted", file=sys.stderr)
        return 130
    finally:
        client.close()
    return 0


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

    p_gc = sub.add_parser("gc", help="delete stored blobs nothing references (deleted artifacts, replaced files)")
    p_gc.add_argument(
        "--grace-minutes",
        type=float,
        default=24 * 60,
        help="never delete a blob younger than this (default 1440: a day), so uploads whose manifest is not yet "
        "committed stay",
    )
    p_gc.add_argument("--dry-run", action="store_true", help="only say what would be deleted")
    common(p_gc)
    p_gc.set_defaults(func=cmd_gc)
    p_sweep = sub.add_parser("sweep", help="create a sweep from a W&B sweep config, or pause/resume/stop/cancel one")
    p_sweep.add_argument("target", help="the sweep config (YAML), or with a control flag the sweep's id or path")
    p_sweep.add_argument("--project", default=None, help="the project of the sweep's runs")
    p_sweep.add_argument("--entity", default=None, help="the entity of that project")
    p_sweep.add_argument("--pause", action="store_true", help="pause the sweep: agents start no new run")
    p_sweep.add_argument("--resume", action="store_true", help="resume a paused sweep")
    p_sweep.add_argument("--stop", action="store_true", help="stop the sweep: no new runs; running runs finish")
    p_sweep.add_argument("--cancel", action="store_true", help="cancel the sweep: running runs are stopped too")
    common(p_sweep)
    p_sweep.set_defaults(func=cmd_sweep)

    p_agent = sub.add_parser("agent", help="run runs of a sweep (its program, with the sweep's parameters)")
    p_agent.add_argument("sweep_id", help="the sweep: entity/project/id, project/id or id")
    p_agent.add_argument("--count", type=int, default=None, help="the most runs this agent runs")
    p_agent.add_argument("--project", default=None, help="the sweep's project (when the id does not say)")
    p_agent.add_argument("--entity", default=None, help="the sweep's entity (when the id does not say)")
    common(p_agent)
    p_agent.set_defaults(func=cmd_agent)

    p_server = sub.add_parser("server", help="serve the web app and API over a shared store")
    p_server.add_argument("--db", default=None, help="store URL: postgresql://user@host/db or sqlite:///path")
    p_server.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p_server.add_argument("--port", type=int, default=8080, help="port to listen on (default 8080)")
    p_server.add_argument("--blobs", default=None, metavar="URL", help=_BLOBS_HELP)
    p_server.add_argument("--url", default=None, help=_URL_HELP)
    p_server.add_argument(
        "--gc-hours",
        type=float,
        default=None,
        metavar="H",
        help="delete stored blobs nothing references every H hours (as `runyard gc`, with a day's grace); "
        "default: never (run `runyard gc` yourself)",
    )
    _exposure(p_server)
    p_server.add_argument(
        "--oidc",
        action="append",
        default=[],
        metavar="NAME=ISSUER_URL",
        help="let users sign in with this OpenID Connect provider (repeatable), e.g. "
        "keycloak=https://sso.example.com/realms/ml; its client id, secret and group-to-team role rules come "
        "from RUNYARD_OIDC_<NAME>_CLIENT_ID, _CLIENT_SECRET and _ROLES (see docs/accounts.md)",
    )
    p_server.add_argument(
        "--oidc-config",
        default=None,
        metavar="FILE",
        help="single sign-on providers from a YAML or JSON file (see docs/accounts.md)",
    )
    p_server.set_defaults(func=cmd_server)
    server_sub = p_server.add_subparsers(dest="server_command", metavar="{admin}")
    p_admin = server_sub.add_parser("admin", help="manage the server's users")
    admin_sub = p_admin.add_subparsers(dest="admin_command", required=True, metavar="{create}")
    p_create = admin_sub.add_parser("create", help="create a site admin (who then signs in and creates API keys)")
    p_create.add_argument("name", help="the new admin's user name")
    p_create.add_argument(
        "--password-stdin", action="store_true", help="read the password from the first line of stdin"
    )
    p_create.add_argument("--key", action="store_true", help="also create an API key for the admin and print it")
    p_create.add_argument(
        "--db", default=argparse.SUPPRESS, help="store URL: postgresql://user@host/db or sqlite:///path"
    )
    p_create.set_defaults(func=cmd_server_admin_create)
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
