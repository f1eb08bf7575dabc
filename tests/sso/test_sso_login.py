"""Single sign-on end to end, as a browser does it: runyard's login URL → the provider's page (a real provider
process on loopback) → runyard's callback → a session cookie; users and their team roles land in the store, on
SQLite and PostgreSQL."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

import httpx
import pytest
import uvicorn
from sso_provider import Provider, authorize_as, free_port

from runyard.server import create_app
from runyard.server.serve import bind
from runyard.server.sso.config import OidcSettings, load_oidc_settings
from runyard.store import Store

ROLES = "ml-admins=research:admin, ml=research:member, vision=vision:viewer"


@dataclass
class Runyard:
    url: str
    store: Store


def oidc_settings(provider: Provider) -> OidcSettings:
    """The provider as ``kc``, and a provider ``down`` nobody answers for."""
    env = {
        "RUNYARD_OIDC_KC_CLIENT_ID": "runyard",
        "RUNYARD_OIDC_KC_CLIENT_SECRET": "s3cret",
        "RUNYARD_OIDC_KC_ROLES": ROLES,
        "RUNYARD_OIDC_DOWN_CLIENT_ID": "runyard",
        "RUNYARD_OIDC_SECRET": "shared by the replicas",
    }
    return load_oidc_settings([f"kc={provider.issuer}", f"down=http://127.0.0.1:{free_port()}"], environ=env)


@contextmanager
def serving(store: Store, oidc: OidcSettings, sock: socket.socket, public_url: str | None = None) -> Iterator[str]:
    """A runyard server with accounts over ``store`` on ``sock`` (loopback), in a thread; its URL."""
    app = create_app(store, accounts=True, oidc=oidc, public_url=public_url)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the server did not start"
        time.sleep(0.005)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


@pytest.fixture
def runyard(store: Store, provider: Provider) -> Iterator[Runyard]:
    """A runyard server on loopback trusting the provider."""
    with serving(store, oidc_settings(provider), bind("127.0.0.1", 0)) as url:
        yield Runyard(url, store)


def start(http: httpx.Client, runyard: Runyard, next_path: str = "/") -> str:
    """Open runyard's login URL; the provider's authorization URL it redirects to."""
    answer = http.get(f"{runyard.url}/api/v1/auth/oidc/kc/login", params={"next": next_path})
    assert answer.status_code == 302, answer.text
    assert "runyard_oidc" in answer.cookies
    return answer.headers["location"]


def sign_in(runyard: Runyard, sub: str, next_path: str = "/") -> tuple[httpx.Response, httpx.Client]:
    """The whole round trip for the provider's user ``sub``: runyard's final answer, and the browser."""
    http = httpx.Client(timeout=30)
    back = authorize_as(http, start(http, runyard, next_path), sub)
    assert back.status_code == 302 and back.headers["location"].startswith(runyard.url), back.text
    return http.get(back.headers["location"]), http


def signed_in_user(runyard: Runyard, answer: httpx.Response) -> str:
    token = answer.cookies.get("runyard_session")
    assert token, f"no session cookie: {answer.status_code} {answer.text}"
    assert answer.cookies.get("runyard_csrf")
    session = runyard.store.accounts.session(token)
    assert session is not None
    return session.username


def me(http: httpx.Client, runyard: Runyard) -> dict[str, object]:
    """``/api/v1/me`` as the browser ``http`` (with its cookies) sees it."""
    answer = http.get(f"{runyard.url}/api/v1/me")
    assert answer.status_code == 200, answer.text
    body: dict[str, object] = answer.json()
    return body


def test_first_sign_in_creates_the_user_with_roles_from_groups(runyard: Runyard, provider: Provider) -> None:
    with httpx.Client(timeout=30) as anonymous:
        before = me(anonymous, runyard)
    assert before["anonymous"] is True and before["oidc"] == [
        {"name": "kc", "label": "Kc"},
        {"name": "down", "label": "Down"},
    ]
    provider.set_user("kc-ana", preferred_username="ana", email="ana@example.com", groups=["ml", "ml-admins"])
    answer, http = sign_in(runyard, "kc-ana", next_path="/ana/mnist")
    assert answer.status_code == 303 and answer.headers["location"] == "/ana/mnist"
    assert signed_in_user(runyard, answer) == "ana"
    body = me(http, runyard)
    assert (body["username"], body["anonymous"], body["site_admin"]) == ("ana", False, False)
    assert body["roles"] == {"ana": "admin", "research": "admin"}
    user = runyard.store.accounts.get_user("ana")
    assert user is not None and not user.has_password and user.external_id == f"{provider.issuer} kc-ana"
    assert runyard.store.accounts.roles("ana") == {"ana": "admin", "research": "admin"}
    assert runyard.store.accounts.members("research") == [("ana", "admin")]


def test_changed_groups_change_roles_on_the_next_sign_in(runyard: Runyard, provider: Provider) -> None:
    accounts = runyard.store.accounts
    provider.set_user("kc-bo", preferred_username="bo", groups=["ml-admins", "vision"])
    signed_in_user(runyard, sign_in(runyard, "kc-bo")[0])
    assert accounts.roles("bo") == {"bo": "admin", "research": "admin", "vision": "viewer"}
    accounts.create_team("papers", "bo")  # a team no rule names: single sign-on leaves it alone

    # Demoted in one team, out of another; renamed at the provider: still the same account.
    provider.set_user("kc-bo", preferred_username="bo.renamed", groups=["ml"])
    answer, http = sign_in(runyard, "kc-bo")
    assert signed_in_user(runyard, answer) == "bo"
    assert accounts.roles("bo") == {"bo": "admin", "research": "member", "papers": "admin"}
    assert me(http, runyard)["roles"] == {"bo": "admin", "research": "member", "papers": "admin"}

    provider.set_user("kc-bo", preferred_username="bo", groups=[])
    signed_in_user(runyard, sign_in(runyard, "kc-bo")[0])
    assert accounts.roles("bo") == {"bo": "admin", "papers": "admin"}


def test_a_taken_name_is_not_handed_over(runyard: Runyard, provider: Provider) -> None:
    runyard.store.accounts.create_user("cy", "a long password")
    provider.set_user("kc-cy", preferred_username="cy")
    assert signed_in_user(runyard, sign_in(runyard, "kc-cy")[0]) == "cy2"
    taken = runyard.store.accounts.get_user("cy")
    assert taken is not None and taken.external_id is None and taken.has_password


def test_only_local_paths_after_sign_in(runyard: Runyard, provider: Provider) -> None:
    provider.set_user("kc-di", preferred_username="di")
    answer, _ = sign_in(runyard, "kc-di", next_path="https://evil.example/")
    assert answer.headers["location"] == "/"
    answer, _ = sign_in(runyard, "kc-di", next_path="//evil.example/")
    assert answer.headers["location"] == "/"


def test_bad_state_is_refused(runyard: Runyard, provider: Provider) -> None:
    provider.set_user("kc-ed", preferred_username="ed")
    with httpx.Client(timeout=30) as http:
        back = authorize_as(http, start(http, runyard), "kc-ed")
        parts = urlsplit(back.headers["location"])
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        query["state"] = "forged"
        answer = http.get(urlunsplit(parts._replace(query=urlencode(query))))
    assert answer.status_code == 400
    assert "state mismatch" in answer.text and "runyard_session" not in answer.cookies
    assert runyard.store.accounts.get_user("ed") is None


def test_a_callback_from_another_browser_is_refused(runyard: Runyard, provider: Provider) -> None:
    # The login started in one browser; its callback URL opened in another (a login CSRF attempt).
    provider.set_user("kc-fa", preferred_username="fa")
    with httpx.Client(timeout=30) as http:
        back = authorize_as(http, start(http, runyard), "kc-fa")
    with httpx.Client(timeout=30) as other:
        answer = other.get(back.headers["location"])
    assert answer.status_code == 400 and "no sign-in in progress" in answer.text


def test_a_replayed_callback_is_refused(runyard: Runyard, provider: Provider) -> None:
    provider.set_user("kc-gu", preferred_username="gu")
    with httpx.Client(timeout=30) as http:
        login_url = http.get(f"{runyard.url}/api/v1/auth/oidc/kc/login")
        state_cookie = login_url.cookies["runyard_oidc"]
        back = authorize_as(http, login_url.headers["location"], "kc-gu")
        first = http.get(back.headers["location"])
        assert first.status_code == 303 and signed_in_user(runyard, first) == "gu"
        assert "runyard_oidc" not in http.cookies  # the state cookie is spent
    # Someone who copied both the callback URL and the state cookie tries again: the code is spent.
    with httpx.Client(timeout=30, cookies={"runyard_oidc": state_cookie}) as replay:
        again = replay.get(back.headers["location"])
    assert again.status_code == 400
    assert "used already or expired" in again.text and "runyard_session" not in again.cookies


def test_denied_at_the_provider(runyard: Runyard) -> None:
    with httpx.Client(timeout=30) as http:
        authorize_url = start(http, runyard)
        back = http.post(authorize_url, data={"action": "deny"})
        assert back.status_code == 302
        answer = http.get(back.headers["location"])
    assert answer.status_code == 400 and "access_denied" in answer.text


def test_provider_down_is_a_clear_page_not_a_500(runyard: Runyard) -> None:
    answer = httpx.get(f"{runyard.url}/api/v1/auth/oidc/down/login", timeout=30)
    assert answer.status_code == 502
    assert answer.headers["content-type"].startswith("text/html")
    assert "cannot reach the sign-in provider &#x27;down&#x27;" in answer.text and "Try again later" in answer.text


def test_unknown_provider(runyard: Runyard) -> None:
    answer = httpx.get(f"{runyard.url}/api/v1/auth/oidc/nope/login", timeout=30)
    assert answer.status_code == 404 and "known: kc, down" in answer.text


def test_another_replica_finishes_the_sign_in(store_url: str, runyard: Runyard, provider: Provider) -> None:
    """Two servers on one database behind one address: the login starts on one, the callback lands on the other,
    and the session works on both."""
    other_store = Store.open(store_url)
    try:
        with serving(other_store, oidc_settings(provider), bind("127.0.0.1", 0), public_url=runyard.url) as other:
            provider.set_user("kc-ha", preferred_username="ha", groups=["vision"])
            with httpx.Client(timeout=30) as http:
                back = authorize_as(http, start(http, runyard), "kc-ha")
                assert back.headers["location"].startswith(runyard.url)
                # The load balancer sends the callback to the other replica.
                done = http.get(back.headers["location"].replace(runyard.url, other, 1))
                assert done.status_code == 303, done.text
                for replica in (runyard.url, other):
                    body = http.get(f"{replica}/api/v1/me").json()
                    assert body["username"] == "ha" and body["roles"] == {"ha": "admin", "vision": "viewer"}
    finally:
        other_store.close()
