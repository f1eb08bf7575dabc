"""Authorization: what resolving who is asking costs per request on a server with accounts (target ≤ 1 ms).

Measures, over a SQLite store (and PostgreSQL with ``--pg URL``):

1. ``resolve_user`` alone, for a request with an API key (``Bearer``, and the wandb client's Basic
   ``api:<key>``) and for one with a session cookie, remembered (the steady state: one database read per key or
   session every ``RECHECK_S`` seconds) and not (the first request, or one after the recheck interval);
2. a whole request, ``GET /api/v1/me`` through the ASGI app in-process: accounts mode with a key, with a session,
   and local mode (``runyard ui``, no lookup) as the peer: the difference is what accounts add.

    python bench/auth.py
    python bench/auth.py --pg postgresql://postgres@127.0.0.1:5432/runyard_bench_auth   # database created
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import shutil
import statistics
import time
from pathlib import Path

import httpx
from starlette.requests import Request

from runyard.server import create_app
from runyard.server.identity import SESSION_COOKIE, resolve_user
from runyard.store import Store

WORK = Path(__file__).parent / ".work" / "auth"
TARGET_US = 1000.0


def _request(app: object, headers: dict[str, str]) -> Request:
    raw = [(k.lower().encode(), v.encode()) for k, v in headers.items()]
    scope = {"type": "http", "method": "GET", "path": "/api/v1/me", "headers": raw, "app": app, "query_string": b""}
    return Request(scope)


def _per_call_us(fn: object, n: int) -> float:
    call = fn  # type: ignore[assignment]
    start = time.perf_counter()
    for _ in range(n):
        call()  # type: ignore[operator]
    return (time.perf_counter() - start) / n * 1e6


def bench(url: str, n: int) -> None:
    with Store.open(url) as store:
        if store.accounts.get_user("bench") is None:
            store.accounts.create_user("bench", "bench password")
            store.accounts.create_team("benchteam", "bench")
        _, key = store.accounts.create_key("bench", "bench")
        token, _ = store.accounts.create_session("bench", 3600)
        app = create_app(store, accounts=True)
        local = create_app(store)
        basic = base64.b64encode(f"api:{key}".encode()).decode()
        cases = {
            "key (Bearer)": {"authorization": f"Bearer {key}"},
            "key (Basic api:<key>)": {"authorization": f"Basic {basic}"},
            "session cookie": {"cookie": f"{SESSION_COOKIE}={token}"},
            "anonymous": {},
        }
        print(f"\n{url.split('://')[0]}: resolve_user per request (target ≤ {TARGET_US:.0f} µs)")
        for name, headers in cases.items():
            warm = _per_call_us(lambda h=headers: resolve_user(_request(app, h)), n)

            def uncached(h: dict[str, str] = headers) -> None:
                ids = app.state.identities
                ids.forget_users()
                ids._sessions.clear()
                resolve_user(_request(app, h))

            cold = _per_call_us(uncached, max(50, n // 50))
            verdict = "ok" if warm <= TARGET_US else "OVER"
            print(f"  {name:24s} remembered {warm:8.1f} µs  [{verdict}]   first lookup {cold:8.1f} µs")

        async def whole(target: object, headers: dict[str, str], count: int) -> list[float]:
            transport = httpx.ASGITransport(app=target)  # type: ignore[arg-type]
            times = []
            async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
                for _ in range(50):
                    await client.get("/api/v1/health", headers=headers)
                for _ in range(count):
                    t0 = time.perf_counter()
                    answer = await client.get(
                        "/api/v1/ingest/me" if "authorization" in headers else "/api/v1/health", headers=headers
                    )
                    times.append((time.perf_counter() - t0) * 1e6)
                    assert answer.status_code == 200, answer.text
            return times

        print("  whole request in-process (median):")
        m = max(200, n // 20)
        local_key = store.create_api_key("bench-local", "bench")
        peer = statistics.median(asyncio.run(whole(local, {"authorization": f"Bearer {local_key}"}, m)))
        mine = statistics.median(asyncio.run(whole(app, {"authorization": f"Bearer {key}"}, m)))
        print(f"    GET /ingest/me, local mode (peer)  {peer:8.1f} µs")
        print(f"    GET /ingest/me, accounts, key      {mine:8.1f} µs  (+{mine - peer:.1f} µs)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-n", type=int, default=20000, help="requests per case")
    parser.add_argument("--pg", default=None, help="also a PostgreSQL store at this URL (its database must exist)")
    args = parser.parse_args()
    shutil.rmtree(WORK, ignore_errors=True)
    WORK.mkdir(parents=True)
    try:
        bench(f"sqlite:///{WORK}/runyard.db", args.n)
        if args.pg:
            bench(args.pg, args.n)
    finally:
        shutil.rmtree(WORK, ignore_errors=True)


if __name__ == "__main__":
    main()
