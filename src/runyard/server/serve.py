"""Running the app with uvicorn: ``runyard ui`` (the local store) and ``runyard server`` (a shared one)."""

from __future__ import annotations

import ipaddress
import socket
import sys
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import urlsplit

from runyard.server.app import create_app
from runyard.server.deps import User, local_user
from runyard.server.sso.config import OidcSettings
from runyard.store import Store

__all__ = ["bind", "bind_or_say", "serve"]


def bind(host: str, port: int) -> socket.socket:
    """A listening-ready TCP socket on ``host:port`` (port 0: any free port). Raises OSError when taken."""
    family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[
        0
    ]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
    except OSError:
        sock.close()
        raise
    return sock


def bind_or_say(host: str, port: int) -> socket.socket | None:
    """:func:`bind`, or None after saying on stderr why the address cannot be used and what to do."""
    try:
        return bind(host, port)
    except OSError as exc:
        print(
            f"runyard: could not listen on {host}:{port} ({exc.strerror or exc}); is another server using the port? "
            "Pick another with --port.",
            file=sys.stderr,
        )
        return None


def serve(
    store_url: str,
    *,
    host: str,
    port: int,
    user: User | None = None,
    crash_timeout: float = 300.0,
    path: str = "",
    key_folder: Path | None = None,
    blobs: str | None = None,
    default_blobs: str | None = None,
    gc_hours: float | None = None,
    sock: socket.socket | None = None,
    public_url: str | None = None,
    allowed_hosts: Sequence[str] = (),
    allowed_origins: Sequence[str] = (),
    accounts: bool = False,
    oidc: OidcSettings | None = None,
) -> int:
    """Serve ``store_url`` on ``host:port`` until interrupted; prints the URL (of ``path``) first.

    Port 0 picks a free port; the printed URL has the real one, and a wildcard host (``0.0.0.0``) is shown as
    this machine's address, with a warning that the API has no login. The address (or ``public_url``, the one
    users reach the server at behind a proxy) is recorded in the store: run URLs name it. With ``key_folder``,
    also prints the API key that wandb clients log in with (kept in ``key_folder/api-key``; see
    docs/wandb-protocol.md). ``blobs`` is where run files go (see :meth:`Store.open`; None: the store's recorded
    location, if any; else ``default_blobs``); with ``gc_hours``, blobs nothing references are deleted
    every that many hours (``runyard gc`` on a timer). ``sock`` is a socket already bound to ``host:port`` (``runyard
    demo`` takes its port before logging anything). ``allowed_hosts`` and ``allowed_origins`` widen what the
    server answers to (see :mod:`runyard.server.origins`). With ``accounts`` (``runyard server``) every request
    is a user, a key's owner or an anonymous visitor (docs/accounts.md); on a store without users the first
    start prints a one-time link that creates the first admin. Without accounts (``runyard ui``) the server
    refuses to listen beyond this machine. ``oidc``: the single sign-on
    providers (their callback URLs are printed). Returns an exit code.
    """
    import uvicorn

    if not accounts and not _is_loopback(host):
        print(
            f"runyard: will not listen on {host}: without accounts anyone who reaches it could read, edit and "
            "delete every run. Serve on 127.0.0.1 (the default), or start a team server with accounts: "
            "`runyard server --db URL --host 0.0.0.0` (docs/accounts.md).",
            file=sys.stderr,
        )
        if sock is not None:
            sock.close()
        return 2

    if sock is None:
        sock = bind_or_say(host, port)
        if sock is None:
            return 1
    try:
        store = Store.open(store_url, crash_timeout=crash_timeout, blobs=blobs, default_blobs=default_blobs)
    except BaseException:
        sock.close()
        raise
    try:
        if public_url:
            # The address users open behind a proxy is the server's own: its host and origin are allowed.
            public = urlsplit(public_url)
            allowed_hosts = [*allowed_hosts, public.hostname or ""]
            allowed_origins = [*allowed_origins, f"{public.scheme}://{public.netloc}"]
        app = create_app(
            store,
            user=user,
            allowed_hosts=allowed_hosts,
            allowed_origins=allowed_origins,
            bind_host=host,
            accounts=accounts,
            oidc=oidc,
            public_url=public_url,
        )
        config = uvicorn.Config(app, log_level="warning", access_log=False)
        server = uvicorn.Server(config)
        bound = sock.getsockname()[1]
        shown = _machine_address() if host in ("0.0.0.0", "::", "") else host
        if ":" in shown:
            shown = f"[{shown}]"
        address = f"http://{shown}:{bound}"
        store.record_server_url(public_url or address)
        print(
            f"runyard: serving {_safe(store_url)} at {address}/{path.lstrip('/')}  (Ctrl-C to stop)",
            flush=True,
        )
        if public_url:
            print(f"runyard: run links name {public_url.rstrip('/')}", flush=True)
        login_url = public_url.rstrip("/") if public_url else address
        if accounts:
            token = store.accounts.new_setup_token()
            if token is not None:
                print(
                    f"runyard: no users yet: open {login_url}/setup?token={token} to create the first admin (the "
                    "link works once), or run `runyard server admin create NAME --db ...`",
                    flush=True,
                )
        for provider in oidc.providers if oidc else ():
            callback = f"{login_url}/api/v1/auth/oidc/{provider.name}/callback"
            print(f"runyard: single sign-on with {provider.label}: register the redirect URI {callback}", flush=True)
        if store.blobs is not None:
            print(f"runyard: run files are stored in {store.blobs.url}", flush=True)
        if key_folder is not None:
            from runyard.server.wandb.local_key import local_api_key

            key = local_api_key(store, key_folder, (user or local_user()).username)
            print(f"runyard: wandb clients: WANDB_BASE_URL={address} WANDB_API_KEY={key}", flush=True)
            print(f"runyard: runyard clients: runyard login {login_url} --key {key}", flush=True)
        collector = None
        if gc_hours and store.blobs is not None:
            from runyard.server.blob_gc import BlobCollector

            collector = BlobCollector(store, gc_hours * 3600.0)
            collector.start()
            print(f"runyard: unreferenced blobs are deleted every {gc_hours:g} h (after a day's grace)", flush=True)
        try:
            server.run(sockets=[sock])
        except KeyboardInterrupt:
            pass
        finally:
            if collector is not None:
                collector.stop()
        return 0
    finally:
        sock.close()
        store.close()


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a host name: it may resolve to any interface


def _machine_address() -> str:
    """The address other machines reach this one at: that of the interface with the default route."""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.connect(("192.0.2.1", 9))  # no packet is sent: the kernel only picks the outgoing interface
            address = str(probe.getsockname()[0])
            if address and not address.startswith("0."):
                return address
    except OSError:
        pass
    try:
        return socket.gethostbyname(socket.gethostname())
    except OSError:
        return socket.gethostname()


def _safe(url: str) -> str:
    """The store URL without its password, for printing."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return url
