"""The ingester process: ``python -m runyard.sinks.daemon``, started by ``init()`` for each online session.

It tails the session's run log into the store (or, with ``--server``, a runyard server's over HTTP), sends
heartbeats while the training process lives, and exits when told to (``drain <seq> <timeout>`` on stdin,
answered with ``done <json>`` on stdout: see :meth:`runyard.sinks.ingester.Ingester.report`) or when the
training process is gone, after ingesting everything the run log holds. When the run is asked to stop (the web
app's "stop"), it stops the training process: SIGINT first (KeyboardInterrupt, the run ends ``killed``), then
stronger signals if that does not work (see :mod:`runyard.sinks.stopper`). Running it as a process keeps
ingestion off the training process's GIL entirely (see docs/design.md for the measurements).
"""

from __future__ import annotations

import argparse
import json
import os
import select
import sys
from collections.abc import Sequence
from pathlib import Path

from runyard.sinks.base import Sink
from runyard.sinks.ingester import Ingester
from runyard.sinks.local import LocalSink
from runyard.sinks.stopper import GRACE_S, Stopper

_POLL = 0.5


def _parent_alive(parent: int) -> bool:
    return os.getppid() == parent


def _sink(args: argparse.Namespace) -> Sink:
    """The store of ``--store-url``, or the server of ``--server`` (its key in RUNYARD_API_KEY, not on argv)."""
    if args.server:
        from runyard.sinks.http import HttpSink

        return HttpSink(args.server, args.api_key or "")
    return LocalSink(args.store_url, args.crash_timeout)


def serve(args: argparse.Namespace) -> int:
    """Run until told to drain, or until the training process is gone."""
    sink = _sink(args)
    # Signals go to our own parent only, while it lives: once it is gone its pid may be another process's.
    stopper = Stopper(args.parent, lambda: _parent_alive(args.parent), grace=args.stop_grace)
    ingester = Ingester(
        Path(args.log),
        args.session,
        lambda: sink,
        interval=args.interval,
        heartbeat_interval=args.heartbeat,
        on_stop=stopper.request,
    )
    ingester.start()
    stdin = sys.stdin.fileno()
    buf = b""
    while True:
        ready, _, _ = select.select([stdin], [], [], _POLL)
        stopper.tick()
        if ready:
            chunk = os.read(stdin, 4096)
            if not chunk:
                break  # the training process closed its end: it is exiting or gone
            buf += chunk
            while b"\n" in buf:
                line, buf = buf.split(b"\n", 1)
                parts = line.decode().split()
                if len(parts) == 3 and parts[0] == "drain":
                    ok = ingester.drain(int(parts[1]), float(parts[2]))
                    sys.stdout.write(f"done {json.dumps(ingester.report(ok))}\n")
                    sys.stdout.flush()
                    return 0 if ok else 1
        elif not _parent_alive(args.parent):
            break
    # The training process is gone without finishing: store everything it wrote, and say it crashed now
    # rather than when its heartbeat goes stale.
    ingester.drain(sys.maxsize, args.drain_timeout)
    try:
        sink.mark_crashed(args.session)
    except Exception:
        pass  # the heartbeat timeout says crashed soon enough
    sink.close()
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m runyard.sinks.daemon")
    parser.add_argument("--log", required=True)
    parser.add_argument("--session", required=True)
    target = parser.add_mutually_exclusive_group(required=True)
    target.add_argument("--store-url")
    target.add_argument("--server", help="a runyard server's base URL; the API key is read from RUNYARD_API_KEY")
    parser.add_argument("--parent", type=int, required=True)
    parser.add_argument("--interval", type=float, default=0.25)
    parser.add_argument("--heartbeat", type=float, default=30.0)
    parser.add_argument("--crash-timeout", type=float, default=300.0)
    parser.add_argument("--drain-timeout", type=float, default=120.0)
    parser.add_argument("--stop-grace", type=float, default=GRACE_S)
    args = parser.parse_args(argv)
    # This process is an edge, like the CLI: the key comes in its environment (argv is visible to every user).
    args.api_key = os.environ.get("RUNYARD_API_KEY")
    return serve(args)


if __name__ == "__main__":
    sys.exit(main())
