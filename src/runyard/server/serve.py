"""Running the app with uvicorn: ``runyard ui`` (the local store) and ``runyard server`` (a shared one)."""

from __future__ import annotations

import sys

from runyard.server.app import create_app
from runyard.server.deps import User
from runyard.store import Store

__all__ = ["serve"]


def serve(store_url: str, *, host: str, port: int, user: User | None = None, crash_timeout: float = 300.0) -> int:
    """Serve ``store_url`` on ``host:port`` until interrupted; prints the URL first. Returns an exit code."""
    import uvicorn

    store = Store.open(store_url, crash_timeout=crash_timeout)
    try:
        app = create_app(store, user=user)
        config = uvicorn.Config(app, host=host, port=port, log_level="warning", access_log=False)
        server = uvicorn.Server(config)
        shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
        print(f"runyard: serving {store_url} at http://{shown}:{port}  (Ctrl-C to stop)", flush=True)
        try:
            server.run()
        except KeyboardInterrupt:
            pass
        if not server.started:
            print(f"runyard: could not listen on {host}:{port} (is another server using the port?)", file=sys.stderr)
            return 1
        return 0
    finally:
        store.close()
