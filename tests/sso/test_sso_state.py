"""The login state cookie: signed, short-lived, bound to its provider and its ``state``; any replica with the
same secret can read it."""

from __future__ import annotations

import pytest

from runyard.server.sso.state import MAX_AGE_S, LoginState, StateError, StateSigner


def test_a_replica_with_the_same_secret_reads_it() -> None:
    login = LoginState.new("keycloak", "/ana/mnist")
    value = StateSigner.from_secret("shared").dump(login)
    assert StateSigner.from_secret("shared").load(value, "keycloak", login.state) == login


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ("other-secret", "not signed by this server"),
        ("tampered", "not signed by this server"),
        ("other-provider", "was started with 'keycloak', not 'google'"),
        ("other-state", "state mismatch"),
        ("missing", "holds no sign-in in progress"),
        ("expired", "expired"),
    ],
)
def test_refused(change: str, message: str) -> None:
    signer = StateSigner.from_secret("shared")
    login = LoginState.new("keycloak", "/")
    value: str | None = signer.dump(login)
    provider, state, now = "keycloak", login.state, None
    if change == "other-secret":
        signer = StateSigner.from_secret("another")
    elif change == "tampered":
        assert value is not None
        body, mac = value.split(".")
        value = body[:-2] + ("AA" if body[-2:] != "AA" else "BB") + "." + mac
    elif change == "other-provider":
        provider = "google"
    elif change == "other-state":
        state = LoginState.new("keycloak", "/").state
    elif change == "missing":
        value = None
    elif change == "expired":
        now = login.issued + MAX_AGE_S + 1
    with pytest.raises(StateError, match=message):
        signer.load(value, provider, state, now=now)
