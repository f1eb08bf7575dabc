"""``runyard server --oidc`` / ``--oidc-config`` as users start it: a process that prints the callback URL to
register, and signs users in through a real provider; mistakes in the settings stop it with what to fix."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sso_provider import Provider, authorize_as


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RUNYARD_", "WANDB_"))}
    env["RUNYARD_DIR"] = str(tmp_path)
    env.update(extra)
    return env


def _server(tmp_path: Path) -> list[str]:
    return [sys.executable, "-m", "runyard.cli", "server", "--db", f"sqlite:///{tmp_path}/t.db", "--port", "0"]


@pytest.fixture
def server_procs() -> Iterator[list[subprocess.Popen[str]]]:
    procs: list[subprocess.Popen[str]] = []
    yield procs
    for proc in procs:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def test_missing_client_id_stops_the_server(tmp_path: Path) -> None:
    done = subprocess.run(
        [*_server(tmp_path), "--oidc", "kc=https://sso.example.com/realms/ml"],
        cwd=tmp_path,
        env=_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "RUNYARD_OIDC_KC_CLIENT_ID" in done.stderr and "Traceback" not in done.stderr


def test_server_from_a_config_file_signs_users_in(
    tmp_path: Path, provider: Provider, server_procs: list[subprocess.Popen[str]]
) -> None:
    config = tmp_path / "oidc.yaml"
    config.write_text(
        f"""
providers:
  kc:
    label: Company SSO
    issuer: {provider.issuer}
    client_id: runyard
    client_secret_env: KC_SECRET
    username_claim: email
    roles: {{ml: "research:member"}}
"""
    )
    proc = subprocess.Popen(
        [*_server(tmp_path), "--oidc-config", str(config)],
        cwd=tmp_path,
        env=_env(tmp_path, KC_SECRET="s3cret"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    server_procs.append(proc)
    assert proc.stdout is not None
    base = callback = None
    seen = []
    for line in proc.stdout:
        seen.append(line)
        if base is None and (found := re.search(r"at (http://[^/ ]+)/", line)):
            base = found.group(1)
        if found := re.search(r"single sign-on with Company SSO: register the redirect URI (\S+)", line):
            callback = found.group(1)
            break
    assert base and callback == f"{base}/api/v1/auth/oidc/kc/callback", "".join(seen)

    provider.set_user("kc-cli", email="eve@example.com", groups=["ml"])
    with httpx.Client(timeout=30) as http:
        assert http.get(f"{base}/api/v1/me").json()["oidc"] == [{"name": "kc", "label": "Company SSO"}]
        login = http.get(f"{base}/api/v1/auth/oidc/kc/login")
        assert login.status_code == 302
        back = authorize_as(http, login.headers["location"], "kc-cli")
        assert back.headers["location"].startswith(callback)
        done = http.get(back.headers["location"])
        assert done.status_code == 303, done.text
        me = http.get(f"{base}/api/v1/me").json()
    assert me["username"] == "eve-example.com" and me["roles"] == {"eve-example.com": "admin", "research": "member"}
