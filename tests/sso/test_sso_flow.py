"""The authorization code flow against a real provider process: PKCE, state and nonce, and the ID token's
checks (signature, issuer, audience, expiry, nonce), before any account is involved."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from sso_provider import Provider, authorize_as, free_port

from runyard.server.sso.config import OidcProvider, parse_role_rules
from runyard.server.sso.flow import OidcClient, SsoError
from runyard.server.sso.state import LoginState

CALLBACK = "http://127.0.0.1:9/api/v1/auth/oidc/kc/callback"


def client_for(provider: Provider, client_id: str = "runyard", **kw: object) -> OidcClient:
    return OidcClient(
        OidcProvider(
            name="kc",
            issuer=provider.issuer,
            client_id=client_id,
            client_secret="s3cret",
            role_rules=parse_role_rules("ml-admins=research:admin, ml=research:member", "test"),
            **kw,  # type: ignore[arg-type]
        )
    )


def code_for(client: OidcClient, login: LoginState, sub: str) -> str:
    url = client.authorization_url(login, CALLBACK)
    query = parse_qs(urlsplit(url).query)
    assert query["code_challenge_method"] == ["S256"] and query["code_challenge"][0]
    assert query["state"] == [login.state] and query["nonce"] == [login.nonce]
    with httpx.Client(timeout=10) as http:
        answer = authorize_as(http, url, sub)
    assert answer.status_code == 302, answer.text
    back = parse_qs(urlsplit(answer.headers["location"]).query)
    assert back["state"] == [login.state]
    return back["code"][0]


def test_identity_from_a_verified_id_token(provider: Provider) -> None:
    provider.set_user("u-1", preferred_username="ana", email="ana@example.com", groups=["ml", "ml-admins"])
    client = client_for(provider)
    login = LoginState.new("kc", "/")
    identity = client.finish(login, code_for(client, login, "u-1"), CALLBACK)
    assert (identity.subject, identity.username, identity.email) == ("u-1", "ana", "ana@example.com")
    assert identity.groups == ("ml", "ml-admins")
    assert identity.team_roles == {"research": "admin"}
    assert identity.claims["aud"] in ("runyard", ["runyard"]) and identity.claims["nonce"] == login.nonce


def test_a_code_is_good_once(provider: Provider) -> None:
    provider.set_user("u-2", preferred_username="bo")
    client = client_for(provider)
    login = LoginState.new("kc", "/")
    code = code_for(client, login, "u-2")
    client.finish(login, code, CALLBACK)
    with pytest.raises(SsoError, match=r"refused the sign-in code \(invalid_grant.*used already or expired"):
        client.finish(login, code, CALLBACK)


def test_a_token_for_another_client_or_nonce_is_refused(provider: Provider) -> None:
    provider.set_user("u-3", preferred_username="cy")
    # A real ID token, signed by the provider, but issued to another application.
    other = client_for(provider, client_id="someone-else")
    login = LoginState.new("kc", "/")
    with other._oauth(CALLBACK) as oauth:
        token = oauth.fetch_token(
            other.metadata()["token_endpoint"],
            code=code_for(other, login, "u-3"),
            code_verifier=login.verifier,
            redirect_uri=CALLBACK,
        )
    runyard = client_for(provider)
    with pytest.raises(SsoError, match="issued for another client, not runyard's client id 'runyard'"):
        runyard.verify_id_token(token["id_token"], login.nonce)
    assert other.verify_id_token(token["id_token"], login.nonce)["sub"] == "u-3"
    with pytest.raises(SsoError, match="nonce is not this sign-in's"):
        other.verify_id_token(token["id_token"], LoginState.new("kc", "/").nonce)
    header, payload, signature = token["id_token"].split(".")
    forged = f"{header}.{payload[:-4]}AAAA.{signature}"
    with pytest.raises(SsoError, match="does not verify against the provider's signing keys"):
        other.verify_id_token(forged, login.nonce)


def test_missing_username_claim_says_which(provider: Provider) -> None:
    provider.set_user("u-4", email="d@example.com")
    client = client_for(provider, username_claim="upn")
    login = LoginState.new("kc", "/")
    with pytest.raises(SsoError, match="no 'upn' claim to name the user"):
        client.finish(login, code_for(client, login, "u-4"), CALLBACK)


def test_provider_down_is_a_502_saying_so() -> None:
    down = OidcClient(OidcProvider(name="kc", issuer=f"http://127.0.0.1:{free_port()}", client_id="runyard"))
    with pytest.raises(SsoError, match="cannot reach the sign-in provider 'kc'") as caught:
        down.authorization_url(LoginState.new("kc", "/"), CALLBACK)
    assert caught.value.status == 502


def test_wrong_issuer_url_says_to_check_it(provider: Provider) -> None:
    wrong = OidcClient(OidcProvider(name="kc", issuer=f"{provider.issuer}/realms/nope", client_id="runyard"))
    with pytest.raises(SsoError, match=r"answered 404 for its discovery document.*check the issuer URL") as caught:
        wrong.metadata()
    assert caught.value.status == 502
