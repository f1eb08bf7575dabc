"""The web app on a team server (``create_app(..., accounts=True)``) in a real browser: signing in, the CSRF
header on changes, API keys, invitations, the privacy toggle and read-only views for viewers and visitors.

Users and the team are made through the store's accounts room; runs are logged through the real SDK into the
team's entity; everything else goes through the app in Debian's Chromium against a real server on loopback.
"""

from __future__ import annotations

import importlib.util
import json
import re
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from playwright.sync_api import expect

from runyard.store import Store

from .conftest import _free_port, log_run, screenshot

TEAM = "lab"
# The privacy rules are enforced by runyard.server.guards; until that lands beside the accounts, a private run
# is readable by anyone and the privacy tests cannot pass.
needs_privacy = pytest.mark.skipif(
    importlib.util.find_spec("runyard.server.guards") is None, reason="privacy is not enforced by this server yet"
)
PASSWORDS = {"ada": "ada-secret-1", "bob": "bob-secret-2", "vic": "vic-secret-3"}


@contextmanager
def _serve(store: Store) -> Iterator[str]:
    """A server with accounts over ``store`` on a free loopback port, in a thread; yields its base URL."""
    import uvicorn

    from runyard.server import create_app

    port = _free_port()
    config = uvicorn.Config(create_app(store, accounts=True), host="127.0.0.1", port=port, log_level="warning")
    srv = uvicorn.Server(config)
    thread = threading.Thread(target=srv.run, name="runyard-test-team-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not srv.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test server did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        srv.should_exit = True
        thread.join(timeout=10)


@pytest.fixture
def team_server(store_url: str) -> Iterator[tuple[str, Store]]:
    """A server with accounts over a store holding: ada (admin of the team ``lab``), bob (member), vic (viewer),
    and one finished private run ``alpha`` in ``lab/vision``. Yields the base URL and the open store."""
    store = Store.open(store_url, crash_timeout=300.0)
    accounts = store.accounts
    for name, password in PASSWORDS.items():
        accounts.create_user(name, password)
    accounts.create_team(TEAM, "ada")
    accounts.set_member(TEAM, "bob", "member")
    accounts.set_member(TEAM, "vic", "viewer")
    log_run("vision", "alpha", steps=5, entity=TEAM)
    try:
        with _serve(store) as base:
            yield base, store
    finally:
        store.close()


def _run(store: Store, name: str = "alpha") -> Any:
    runs = [r for r in store.list_runs(TEAM, "vision") if r.name == name]
    assert len(runs) == 1
    return runs[0]


def sign_in(page: Any, base: str, username: str, next_path: str = "/") -> None:
    page.goto(f"{base}/login?next={next_path}")
    page.get_by_test_id("login-username").fill(username)
    page.get_by_test_id("login-password").fill(PASSWORDS[username])
    page.get_by_test_id("login-submit").click()
    expect(page.get_by_test_id("user-menu")).to_have_attribute("data-username", username)


def _get(url: str, key: str | None = None) -> tuple[int, Any]:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {key}"} if key else {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as err:
        return err.code, None


def test_wrong_then_right_password_signs_in_and_returns_to_next(team_server: tuple[str, Store], page: Any) -> None:
    base, _ = team_server
    page.goto(base + "/settings")
    # the settings need a signed-in user: the visitor is sent to the login page, which remembers where they were
    expect(page).to_have_url(re.compile(r"/login\?next=%2Fsettings$"))
    expect(page.get_by_test_id("sign-in")).to_be_visible()

    page.get_by_test_id("login-username").fill("bob")
    page.get_by_test_id("login-password").fill("not-his-password")
    page.get_by_test_id("login-submit").click()
    expect(page.get_by_test_id("login-error")).to_be_visible()
    assert page.get_by_test_id("user-menu").count() == 0
    expect(page.get_by_test_id("login-password")).to_have_value("")  # the wrong password is not kept

    page.get_by_test_id("login-password").fill(PASSWORDS["bob"])
    page.get_by_test_id("login-submit").click()
    expect(page).to_have_url(f"{base}/settings")
    expect(page.get_by_test_id("settings-page")).to_be_visible()
    page.get_by_test_id("user-menu").click()
    expect(page.get_by_test_id("signed-in-as")).to_contain_text("bob")
    screenshot(page, "accounts-signed-in")

    # the session cookie is the server's, HttpOnly: the page cannot read it, only the CSRF token
    cookies = {c["name"]: c for c in page.context.cookies()}
    assert cookies["runyard_session"]["httpOnly"] is True
    assert "runyard_session" not in page.evaluate("document.cookie")
    assert "runyard_csrf" in page.evaluate("document.cookie")

    page.get_by_test_id("sign-out").click()
    expect(page.get_by_test_id("sign-in")).to_be_visible()
    page.goto(base + "/settings")
    expect(page).to_have_url(re.compile(r"/login\?next="))


def test_changes_from_the_app_carry_the_csrf_token(team_server: tuple[str, Store], page: Any) -> None:
    base, store = team_server
    run = _run(store)
    sign_in(page, base, "bob")
    page.goto(f"{base}/{TEAM}/vision/runs/{run.run_id}")
    page.get_by_test_id("run-name").click()
    page.get_by_test_id("run-name-input").fill("alpha-renamed")
    page.get_by_test_id("run-name-input").press("Enter")
    expect(page.get_by_test_id("run-name")).to_have_text("alpha-renamed")
    assert store.get_run(TEAM, "vision", run.run_id).name == "alpha-renamed"

    # the same change without the header, from the same signed-in page, is refused: the token is what lets it in
    status = page.evaluate(
        """async (url) => (await fetch(url, {method: "PATCH", credentials: "same-origin",
             headers: {"Content-Type": "application/json"}, body: JSON.stringify({name: "forged"})})).status""",
        f"/api/v1/runs/{TEAM}/vision/{run.run_id}",
    )
    assert status == 403
    assert store.get_run(TEAM, "vision", run.run_id).name == "alpha-renamed"


def test_api_key_is_shown_once_listed_by_prefix_and_revoked(team_server: tuple[str, Store], page: Any) -> None:
    base, store = team_server
    sign_in(page, base, "bob", "/settings")
    expect(page.get_by_test_id("keys-empty")).to_be_visible()
    page.get_by_test_id("key-name").fill("laptop")
    page.get_by_test_id("key-create").click()
    value = page.get_by_test_id("new-key-value")
    expect(value).to_be_visible()
    key = value.inner_text().strip()
    assert re.fullmatch(r"[0-9a-f]{40}", key), key
    expect(page.get_by_test_id("new-key")).to_contain_text("only time")
    rows = page.get_by_test_id("key-row")
    expect(rows).to_have_count(1)
    prefix = rows.first.get_attribute("data-prefix") or ""
    assert prefix and key.startswith(prefix) and len(prefix) < len(key)
    screenshot(page, "accounts-new-key")

    # the key works, as bob
    status, me = _get(base + "/api/v1/me", key)
    assert status == 200 and me["username"] == "bob"

    # shown once: after a reload only the prefix is left, in the page and in what the server sends
    page.reload()
    expect(rows).to_have_count(1)
    expect(rows.first.get_by_test_id("key-prefix")).to_have_text(f"{prefix}…")
    assert key not in page.content()
    assert page.get_by_test_id("new-key").count() == 0
    expect(rows.first.get_by_test_id("key-last-used")).not_to_have_text("never")

    rows.first.get_by_test_id("key-revoke").click()
    page.get_by_test_id("confirm-ok").click()
    expect(page.get_by_test_id("keys-empty")).to_be_visible()
    status, _ = _get(base + "/api/v1/keys", key)
    assert status == 401
    assert store.accounts.list_keys("bob") == []


def test_invitation_link_creates_a_viewer(team_server: tuple[str, Store], page: Any, browser: Any) -> None:
    base, store = team_server
    sign_in(page, base, "ada", "/settings?tab=teams")
    page.locator(f'[data-testid="team-row"][data-team="{TEAM}"]').get_by_test_id("team-link").click()
    expect(page.get_by_test_id("team-page")).to_have_attribute("data-admin", "true")
    page.get_by_test_id("invite-role").select_option("viewer")
    page.get_by_test_id("invite-create").click()
    link = page.get_by_test_id("invite-link").inner_text().strip()
    assert re.fullmatch(re.escape(base) + r"/invite(/|\?token=)[\w-]+", link), link

    guest = browser.new_context(viewport={"width": 1200, "height": 800})
    try:
        other = guest.new_page()
        other.goto(link)
        expect(other.get_by_test_id("invite-summary")).to_contain_text("viewer")
        other.get_by_test_id("invite-username").fill("newbie")
        other.get_by_test_id("invite-password").fill("newbie-pass-4")
        other.get_by_test_id("invite-repeat").fill("newbie-pass-4")
        other.get_by_test_id("invite-accept").click()
        expect(other.get_by_test_id("user-menu")).to_have_attribute("data-username", "newbie")
        expect(other.get_by_test_id("team-page")).to_have_attribute("data-team", TEAM)
        newbie = other.locator('[data-testid="member-row"][data-username="newbie"]')
        expect(newbie).to_have_attribute("data-role", "viewer")
        # a viewer sees the members but cannot change them
        assert other.get_by_test_id("member-role").count() == 0
    finally:
        guest.close()
    assert store.accounts.roles("newbie").get(TEAM) == "viewer"

    # the admin's page shows the new member, with a role the admin can change
    page.reload()
    row = page.locator('[data-testid="member-row"][data-username="newbie"]')
    row.get_by_test_id("member-role").select_option("member")
    expect(row).to_have_attribute("data-role", "member")
    assert store.accounts.roles("newbie").get(TEAM) == "member"


@needs_privacy
def test_privacy_toggle_shows_and_hides_a_run_from_anonymous_visitors(
    team_server: tuple[str, Store], page: Any, browser: Any
) -> None:
    base, store = team_server
    run = _run(store)
    url = f"{base}/{TEAM}/vision/runs/{run.run_id}"
    anonymous = browser.new_context(viewport={"width": 1200, "height": 800})
    try:
        visitor = anonymous.new_page()
        visitor.goto(url)
        expect(visitor.get_by_test_id("empty")).to_contain_text("No such run")
        expect(visitor.get_by_test_id("private-hint")).to_be_visible()

        sign_in(page, base, "bob")
        page.goto(url)
        expect(page.get_by_test_id("privacy-private")).to_have_attribute("aria-checked", "true")
        page.get_by_test_id("privacy-public").click()
        expect(page.get_by_test_id("privacy-public")).to_have_attribute("aria-checked", "true")
        assert store.get_run(TEAM, "vision", run.run_id).visibility == "public"

        visitor.reload()
        expect(visitor.get_by_test_id("run-name")).to_have_text("alpha")
        # read-only for the visitor: no actions, a disabled privacy switch that says why
        expect(visitor.get_by_test_id("run-name")).to_have_attribute("data-readonly", "true")
        assert visitor.get_by_test_id("run-delete").count() == 0
        expect(visitor.get_by_test_id("privacy-public")).to_be_disabled()
        expect(visitor.get_by_test_id("privacy-readonly")).to_contain_text("Sign in")
        screenshot(visitor, "accounts-public-run-anonymous")

        page.get_by_test_id("privacy-private").click()
        expect(page.get_by_test_id("privacy-private")).to_have_attribute("aria-checked", "true")
        visitor.reload()
        expect(visitor.get_by_test_id("empty")).to_contain_text("No such run")
        assert visitor.get_by_test_id("run-name").count() == 0
    finally:
        anonymous.close()


def test_viewer_sees_no_edit_controls(team_server: tuple[str, Store], page: Any) -> None:
    base, store = team_server
    run = _run(store)
    sign_in(page, base, "vic")
    page.goto(f"{base}/{TEAM}/vision/runs/{run.run_id}")
    expect(page.get_by_test_id("run-name")).to_have_text("alpha")
    expect(page.get_by_test_id("run-name")).to_have_attribute("data-readonly", "true")
    expect(page.get_by_test_id("run-description")).to_have_attribute("data-readonly", "true")
    expect(page.get_by_test_id("tags")).to_have_attribute("data-readonly", "true")
    assert page.get_by_test_id("run-delete").count() == 0
    assert page.get_by_test_id("run-stop").count() == 0
    assert page.get_by_test_id("tag-add").count() == 0
    expect(page.get_by_test_id("privacy-public")).to_be_disabled()
    expect(page.get_by_test_id("privacy-readonly")).to_contain_text("viewer")
    page.get_by_test_id("run-name").click()
    assert page.get_by_test_id("run-name-input").count() == 0
    screenshot(page, "accounts-viewer-run")

    page.goto(f"{base}/{TEAM}/vision")
    expect(page.locator('[data-testid="run-row"]')).to_have_count(1)
    assert page.get_by_test_id("run-kebab").count() == 0

    # the project's privacy is a badge for a viewer, a switch for the team's admin
    page.goto(base + "/")
    expect(page.get_by_test_id("project-privacy")).to_have_attribute("data-visibility", "private")
    assert page.get_by_test_id("project-privacy-public").count() == 0


def test_too_many_failures_say_how_long_to_wait(team_server: tuple[str, Store], page: Any) -> None:
    from runyard.server.routes.accounts import LOGIN_FAILURES

    base, _ = team_server
    page.goto(base + "/login")
    for _ in range(LOGIN_FAILURES):
        page.get_by_test_id("login-username").fill("vic")
        page.get_by_test_id("login-password").fill("guess")
        page.get_by_test_id("login-submit").click()
        expect(page.get_by_test_id("login-error")).to_be_visible()
        expect(page.get_by_test_id("login-submit")).to_be_enabled()
    # one more, even with the right password, is refused until the window has passed: the page says how long
    page.get_by_test_id("login-username").fill("vic")
    page.get_by_test_id("login-password").fill(PASSWORDS["vic"])
    page.get_by_test_id("login-submit").click()
    wait = re.compile(r"Too many failed sign-ins: try again in \d+ s\.")
    expect(page.get_by_test_id("login-error")).to_have_text(wait)
    expect(page.get_by_test_id("login-submit")).to_be_disabled()
    assert page.get_by_test_id("user-menu").count() == 0


@needs_privacy
def test_project_privacy_switch_is_the_entity_admins(team_server: tuple[str, Store], page: Any, browser: Any) -> None:
    base, store = team_server
    anonymous = browser.new_context(viewport={"width": 1200, "height": 800})
    try:
        visitor = anonymous.new_page()
        visitor.goto(base + "/")
        expect(visitor.get_by_test_id("empty")).to_be_visible()
        assert visitor.get_by_test_id("project-row").count() == 0

        # a member of the team sees the privacy as a badge, not a switch
        sign_in(page, base, "bob")
        row = page.locator('[data-testid="project-row"][data-project="vision"]')
        expect(row.get_by_test_id("project-privacy")).to_have_attribute("data-visibility", "private")
        assert row.get_by_test_id("project-privacy-public").count() == 0

        page.context.clear_cookies()
        sign_in(page, base, "ada")
        row.get_by_test_id("project-privacy-public").click()
        expect(row.get_by_test_id("project-privacy")).to_have_attribute("data-visibility", "public")
        project = store.get_project(TEAM, "vision")
        assert project is not None and project.visibility == "public"

        visitor.reload()
        expect(visitor.locator('[data-testid="project-row"][data-project="vision"]')).to_be_visible()
        visitor.get_by_test_id("project-link").click()
        expect(visitor.locator('[data-testid="run-row"][data-run-name="alpha"]')).to_be_visible()
        assert visitor.get_by_test_id("run-kebab").count() == 0

        row.get_by_test_id("project-privacy-private").click()
        expect(row.get_by_test_id("project-privacy")).to_have_attribute("data-visibility", "private")
        visitor.goto(base + "/")
        expect(visitor.get_by_test_id("empty")).to_be_visible()
        assert visitor.get_by_test_id("project-row").count() == 0
    finally:
        anonymous.close()


def test_first_admin_from_the_setup_link_then_creates_a_user(store_url: str, page: Any) -> None:
    store = Store.open(store_url, crash_timeout=300.0)
    try:
        token = store.accounts.new_setup_token()
        assert token is not None
        with _serve(store) as base:
            page.goto(base + "/login")
            expect(page.get_by_test_id("setup-needed")).to_be_visible()

            page.goto(f"{base}/setup?token={token}")
            page.get_by_test_id("setup-username").fill("root-admin")
            page.get_by_test_id("setup-password").fill("first-pass-5")
            page.get_by_test_id("setup-repeat").fill("first-pass-6")
            page.get_by_test_id("setup-submit").click()
            expect(page.get_by_test_id("setup-error")).to_contain_text("differ")  # checked before it is sent
            assert store.accounts.user_count() == 0
            page.get_by_test_id("setup-repeat").fill("first-pass-5")
            page.get_by_test_id("setup-submit").click()
            expect(page.get_by_test_id("user-menu")).to_have_attribute("data-username", "root-admin")
            expect(page.get_by_test_id("settings-page")).to_be_visible()

            # a site admin has the Users tab: create a user, who can then sign in
            page.get_by_test_id("settings-tab-users").click()
            expect(page.locator('[data-testid="user-row"][data-username="root-admin"]')).to_be_visible()
            page.get_by_test_id("user-name").fill("carol")
            page.get_by_test_id("user-password").fill("carol-pass-7")
            page.get_by_test_id("user-create").click()
            expect(page.locator('[data-testid="user-row"][data-username="carol"]')).to_be_visible()
            user = store.accounts.get_user("carol")
            assert user is not None and not user.site_admin

            # the link works once
            page.goto(f"{base}/setup?token={token}")
            page.get_by_test_id("setup-username").fill("second")
            page.get_by_test_id("setup-password").fill("second-pass")
            page.get_by_test_id("setup-repeat").fill("second-pass")
            page.get_by_test_id("setup-submit").click()
            expect(page.get_by_test_id("setup-error")).to_contain_text("set up already")
            assert store.accounts.get_user("second") is None
    finally:
        store.close()
