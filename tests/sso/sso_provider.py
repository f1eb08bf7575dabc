"""A real OpenID Connect provider on loopback for the single sign-on tests: ``oidc-provider-mock`` in its own
process, and the moves a browser makes there (pick a user, follow the redirects)."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx


@dataclass
class Provider:
    """The provider's issuer URL and its process."""

    issuer: str
    process: subprocess.Popen[bytes]

    def set_user(self, sub: str, **claims: Any) -> None:
        """Give the provider's user ``sub`` these claims (what its next ID token for them says)."""
        httpx.put(f"{self.issuer}/users/{sub}", json=claims, timeout=10).raise_for_status()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def provider_process() -> Iterator[Provider]:
    """Start the provider as a child process and wait until its discovery document answers."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "oidc_provider_mock", "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    issuer = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{issuer}/.well-known/openid-configuration", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                err = process.stderr.read().decode() if process.stderr and process.poll() is not None else ""
                raise RuntimeError(f"the OIDC provider did not start: {err}")
            time.sleep(0.05)
        yield Provider(issuer, process)
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def authorize_as(http: httpx.Client, authorize_url: str, sub: str) -> httpx.Response:
    """What a user does on the provider's page: choose the account ``sub`` and submit; the provider's answer
    (a redirect back to the client's callback)."""
    page = http.get(authorize_url)
    assert page.status_code == 200, page.text
    return http.post(authorize_url, data={"sub": sub})
