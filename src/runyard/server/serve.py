"""Running the app with uvicorn: ``runyard ui`` (the local store) and ``runyard server`` (a shared one)."""

from __future__ import annotations

import socket
import sys
from pathlib import Path

from runyard.server.app import create_app
from runyard.server.deps import User, local_user
from runyard.store import Store

__all__ = ["bind", "serve"]


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
) -> int:
    """Serve ``store_url`` on ``host:port`` until interrupted; prints the URL (of ``path``) first.

    Port 0 picks a free port; the printed URL has the real one. With ``key_folder``, also prints the API key
    that wandb clients log in with (kept in ``key_folder/api-key``; see docs/wandb-protocol.md). ``blobs`` is
    where run files go (see :meth:`Store.open`; None: the store's recorded location, if any). Returns an exit
    code.
    """
    import uvicorn

    try:
        sock = bind(host, port)
    except OSError as exc:
        print(
            f"runyard: could not listen on {host}:{port} ({exc.strerror or exc}); is another server using the port? "
            "Pick another with --port.",
            file=sys.stderr,
        )
        return 1
    try:
        store = Store.open(store_url, crash_timeout=crash_timeout, blobs=blobs)
    except BaseException:
        sock.close()
        raise
    try:
        app = create_app(store, user=user)
        config = uvicorn.Config(app, log_level="warning", access_log=False)
        server = uvicorn.Server(config)
        bound = sock.getsockname()[1]
        shown = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
        if ":" in shown:
            shown = f"[{shown}]"
        print(
            f"runyard: serving {_safe(store_url)} at http://{shown}:{bound}/{path.lstrip('/')}  (Ctrl-C to stop)",
            flush=True,
        )
        if store.blobs is not None:
            print(f"runyard: run files are stored in {store.blobs.url}", flush=True)
        if key_folder is not None:
            from runyard.server.wandb.local_key import local_api_key

            key = local_api_key(store, key_folder, (user or local_user()).username)
            print(f"runyard: wandb clients: WANDB_BASE_URL=http://{shown}:{bound} WANDB_API_KEY={key}", flush=True)
            print(f"runyard: runyard clients: runyard login http://{shown}:{bound} --key {key}", flush=True)
        try:
            server.run(sockets=[sock])
        except KeyboardInterrupt:
            pass
        return 0
    finally:
        sock.close()
        store.close()


def _safe(url: str) -> str:
    """The store URL without its password, for printing."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return url
