"""The accounts room on SQLite and PostgreSQL: users and passwords, keys, sessions, teams, invitations, setup."""

from __future__ import annotations

import time

import pytest

from runyard.errors import ConflictError, NotFoundError, UsageError
from runyard.store import Store


def test_users_and_passwords(store: Store) -> None:
    assert store.accounts.user_count() == 0
    ada = store.accounts.create_user("ada", "correct horse", site_admin=True)
    assert ada.site_admin and ada.has_password
    assert store.accounts.verify_password("ada", "correct horse") is not None
    assert store.accounts.verify_password("ada", "wrong horse!") is None
    assert store.accounts.verify_password("nobody", "correct horse") is None
    with pytest.raises(ConflictError):
        store.accounts.create_user("ada", "another one")
    with pytest.raises(UsageError, match="8 characters"):
        store.accounts.create_user("bob", "short")
    with pytest.raises(UsageError, match="not allowed"):
        store.accounts.create_user("../x", "long enough")
    for page in ("settings", "Login", "api"):  # their workspace URLs are the server's own pages
        with pytest.raises(UsageError, match="taken by the server's own pages"):
            store.accounts.create_user(page, "long enough")
        with pytest.raises(UsageError, match="taken by the server's own pages"):
            store.accounts.create_team(page, "ada")
    assert store.accounts.find_or_create_sso_user("invite", external_id="https://idp sub-1").username == "invite2"
    assert store.accounts.roles("ada") == {"ada": "admin"}
    store.accounts.set_disabled("ada", True)
    assert store.accounts.verify_password("ada", "correct horse") is None


def test_keys_prefix_and_revocation(store: Store) -> None:
    store.accounts.create_user("ada", "correct horse")
    info, key = store.accounts.create_key("ada", "laptop")
    assert len(key) == 40 and info.prefix == key[:8]
    assert store.accounts.key_user(key) == "ada"
    assert store.api_key_owner(key) == "ada"
    listed = store.accounts.list_keys("ada")
    assert [(k.id, k.prefix, k.name) for k in listed] == [(info.id, key[:8], "laptop")]
    assert listed[0].last_used_at is None or listed[0].last_used_at <= time.time()
    assert store.accounts.revoke_key(info.id)
    assert not store.accounts.revoke_key(info.id)
    assert store.accounts.key_user(key) is None
    assert store.api_key_owner(key) is None
    assert store.accounts.list_keys("ada") == []
    # A key of a name that is no user (the local key of `runyard ui`) does not sign anyone in on a server.
    local = store.create_api_key("someone")
    assert store.api_key_owner(local) == "someone"
    assert store.accounts.key_user(local) is None


def test_sessions(store: Store) -> None:
    store.accounts.create_user("ada", "correct horse")
    token, info = store.accounts.create_session("ada", 3600)
    found = store.accounts.session(token)
    assert found is not None and found.username == "ada" and found.csrf_token == info.csrf_token
    assert store.accounts.session("not-a-token") is None
    expired, _ = store.accounts.create_session("ada", -1)
    assert store.accounts.session(expired) is None
    store.accounts.end_session(token)
    assert store.accounts.session(token) is None


def test_teams_and_invitations(store: Store) -> None:
    store.accounts.create_user("ada", "correct horse")
    store.accounts.create_user("bob", "correct horse")
    store.accounts.create_team("vision", "ada")
    with pytest.raises(ConflictError):
        store.accounts.create_team("bob", "ada")
    store.accounts.set_member("vision", "bob", "viewer")
    assert store.accounts.members("vision") == [("ada", "admin"), ("bob", "viewer")]
    assert store.accounts.roles("bob") == {"vision": "viewer", "bob": "admin"}
    with pytest.raises(UsageError, match="no admin left"):
        store.accounts.remove_member("vision", "ada")
    with pytest.raises(NotFoundError):
        store.accounts.set_member("nope", "bob", "member")
    token, _ = store.accounts.create_invitation("vision", "member", "ada", 3600)
    invite = store.accounts.invitation(token)
    assert invite is not None and (invite.team, invite.role) == ("vision", "member")
    assert store.accounts.accept_invitation(token, "cy", "correct horse") is not None
    assert store.accounts.accept_invitation(token, "dee", "correct horse") is None  # one use
    assert store.accounts.invitation(token) is None
    assert store.accounts.roles("cy")["vision"] == "member"
    assert store.accounts.teams("cy") == [("vision", "member")]
    assert store.accounts.teams() == [("vision", None)]


def test_setup_token_is_one_time(store: Store) -> None:
    first = store.accounts.new_setup_token()
    token = store.accounts.new_setup_token()
    assert first and token and first != token
    assert store.accounts.use_setup_token(first, "root", "correct horse") is None  # replaced
    made = store.accounts.use_setup_token(token, "root", "correct horse")
    assert made is not None and made.site_admin
    assert store.accounts.use_setup_token(token, "root2", "correct horse") is None
    assert store.accounts.new_setup_token() is None


def test_login_failures_are_counted_per_name_and_address(store: Store) -> None:
    since = time.time() - 60
    for _ in range(3):
        store.accounts.record_login_failure("Ada", "10.0.0.1")
    assert store.accounts.login_failures("ada", "10.0.0.9", since)[0] == 3
    assert store.accounts.login_failures("bob", "10.0.0.1", since)[0] == 3
    assert store.accounts.login_failures("bob", "10.0.0.9", since)[0] == 0
    store.accounts.clear_login_failures("ada")
    assert store.accounts.login_failures("ada", "10.0.0.9", since)[0] == 0
