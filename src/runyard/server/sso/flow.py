"""The authorization code flow with PKCE against one provider, through Authlib.

:class:`OidcClient` discovers the provider (``/.well-known/openid-configuration``, remembered for an hour),
builds the URL that sends a user there, trades the code it returns for tokens, and verifies the ID token:
its signature against the provider's published keys (JWKS), its issuer, audience (runyard's client id), expiry
and nonce. The outcome is an :class:`SsoIdentity`; deciding which user that is belongs to the accounts.
Every failure is an :class:`SsoError` whose message says what went wrong and what to do.
"""

from __future__ import annotations

import threading
import time
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx
from authlib.integrations.base_client.errors import OAuthError
from authlib.oauth2.rfc6749.errors import OAuth2Error
from authlib.oidc.core import CodeIDToken
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from joserfc.jws import JWSRegistry

from runyard.server.sso.config import OidcProvider
from runyard.server.sso.state import LoginState

with warnings.catch_warnings():
    # Authlib prefers the httpx2 package when it is installed and warns that plain httpx, which runyard's
    # other parts use, is its fallback: both work the same here.
    warnings.simplefilter("ignore", DeprecationWarning)
    from authlib.integrations.httpx_client import OAuth2Client

__all__ = ["OidcClient", "SsoError", "SsoIdentity"]

_METADATA_TTL_S = 3600.0
_TIMEOUT_S = 10.0
_LEEWAY_S = 60


class SsoError(Exception):
    """A sign-in that cannot finish; ``status`` is the HTTP status to answer with (400: the browser's request,
    502: the provider)."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


@dataclass(frozen=True)
class SsoIdentity:
    """Who the provider says signed in.

    Attributes:
        provider: the provider's name in runyard.
        subject: the provider's stable id for the user (``sub``): what links them to a runyard user.
        username: the name from the provider's username claim (a new user's suggested name).
        email: the ``email`` claim, if any.
        groups: the user's groups from the provider's groups claim.
        team_roles: the managed teams the groups give the user a role in, with the role.
        managed_teams: every team the provider's role rules name; memberships there follow ``team_roles``.
        claims: the ID token's claims.
    """

    provider: str
    subject: str
    username: str
    email: str | None
    groups: tuple[str, ...]
    team_roles: dict[str, str]
    managed_teams: frozenset[str]
    claims: Mapping[str, Any] = field(default_factory=dict)


class OidcClient:
    """Talks to one provider; one per provider per server process (what it remembers is the provider's public
    metadata and keys, never a login's state)."""

    def __init__(self, provider: OidcProvider, transport: httpx.BaseTransport | None = None) -> None:
        self.provider = provider
        self._transport = transport
        self._lock = threading.Lock()
        self._metadata: dict[str, Any] | None = None
        self._metadata_at = 0.0
        self._jwks: dict[str, Any] | None = None

    def _http(self) -> httpx.Client:
        return httpx.Client(timeout=_TIMEOUT_S, transport=self._transport, follow_redirects=False)

    def _get_json(self, url: str, what: str) -> dict[str, Any]:
        name = self.provider.name
        try:
            with self._http() as http:
                response = http.get(url, headers={"accept": "application/json"})
        except httpx.HTTPError as exc:
            raise SsoError(
                f"cannot reach the sign-in provider {name!r} ({what} at {url}): {exc or type(exc).__name__}. "
                "Try again later; if it persists, ask the server's admin to check the provider",
                502,
            ) from exc
        if response.status_code != 200:
            raise SsoError(
                f"the sign-in provider {name!r} answered {response.status_code} for its {what} ({url}): "
                "check the issuer URL in runyard's --oidc settings",
                502,
            )
        try:
            data = response.json()
        except ValueError as exc:
            raise SsoError(f"the sign-in provider {name!r} sent a {what} that is not JSON ({url})", 502) from exc
        if not isinstance(data, dict):
            raise SsoError(f"the sign-in provider {name!r} sent a {what} that is not a JSON object ({url})", 502)
        return data

    def metadata(self) -> dict[str, Any]:
        """The provider's discovery document, fetched at most once an hour.

        Raises:
            SsoError: the provider cannot be reached, or its document lacks what the flow needs or names
                another issuer.
        """
        with self._lock:
            if self._metadata is not None and time.monotonic() - self._metadata_at < _METADATA_TTL_S:
                return self._metadata
        url = f"{self.provider.issuer}/.well-known/openid-configuration"
        data = self._get_json(url, "discovery document")
        missing = [k for k in ("issuer", "authorization_endpoint", "token_endpoint", "jwks_uri") if not data.get(k)]
        if missing:
            raise SsoError(f"the discovery document of {self.provider.name!r} ({url}) lacks {', '.join(missing)}", 502)
        if str(data["issuer"]).rstrip("/") != self.provider.issuer:
            raise SsoError(
                f"the discovery document at {url} names the issuer {data['issuer']!r}, not {self.provider.issuer!r}: "
                "set runyard's issuer URL to exactly the provider's",
                502,
            )
        with self._lock:
            self._metadata, self._metadata_at = data, time.monotonic()
        return data

    def _keys(self, force: bool = False) -> KeySet:
        with self._lock:
            jwks = None if force else self._jwks
        if jwks is None:
            jwks = self._get_json(str(self.metadata()["jwks_uri"]), "signing keys (JWKS)")
            with self._lock:
                self._jwks = jwks
        try:
            return KeySet.import_key_set(jwks)  # type: ignore[arg-type,no-any-return]
        except (JoseError, ValueError, KeyError, TypeError) as exc:
            raise SsoError(f"the signing keys of {self.provider.name!r} are unreadable: {exc}", 502) from exc

    def _oauth(self, redirect_uri: str) -> OAuth2Client:
        p = self.provider
        return OAuth2Client(
            client_id=p.client_id,
            client_secret=p.client_secret,
            scope=" ".join(p.scopes),
            redirect_uri=redirect_uri,
            code_challenge_method="S256",
            token_endpoint_auth_method=p.token_auth_method,
            timeout=_TIMEOUT_S,
            transport=self._transport,
        )

    def authorization_url(self, login: LoginState, redirect_uri: str) -> str:
        """Where to send the user's browser to sign in for ``login`` (state, nonce and PKCE challenge in it)."""
        endpoint = str(self.metadata()["authorization_endpoint"])
        with self._oauth(redirect_uri) as oauth:
            url, _state = oauth.create_authorization_url(
                endpoint, state=login.state, nonce=login.nonce, code_verifier=login.verifier
            )
        return str(url)

    def finish(self, login: LoginState, code: str, redirect_uri: str) -> SsoIdentity:
        """Trade ``code`` for tokens and verify the ID token; the identity it proves.

        Raises:
            SsoError: the provider refused the code (used already, expired, or for another client), cannot be
                reached, or sent an ID token that does not verify.
        """
        meta = self.metadata()
        name = self.provider.name
        try:
            with self._oauth(redirect_uri) as oauth:
                token = oauth.fetch_token(
                    str(meta["token_endpoint"]),
                    code=code,
                    code_verifier=login.verifier,
                    redirect_uri=redirect_uri,
                )
        except (OAuthError, OAuth2Error) as exc:
            error = getattr(exc, "error", "") or "error"
            detail = getattr(exc, "description", "") or ""
            hint = (
                "the sign-in code was used already or expired: start again from the login page"
                if error == "invalid_grant"
                else "check runyard's client id and secret for this provider"
            )
            raise SsoError(
                f"the sign-in provider {name!r} refused the sign-in code ({error}: {detail}); {hint}"
            ) from exc
        except httpx.HTTPError as exc:
            raise SsoError(
                f"cannot reach the sign-in provider {name!r} to finish signing in: {exc or type(exc).__name__}. "
                "Try again later",
                502,
            ) from exc
        except ValueError as exc:  # a token endpoint answering something that is not JSON
            raise SsoError(f"the sign-in provider {name!r} sent an unreadable token response: {exc}", 502) from exc
        id_token = token.get("id_token")
        if not id_token:
            raise SsoError(
                f"the sign-in provider {name!r} sent no ID token: is 'openid' among the client's scopes there?", 502
            )
        claims = self.verify_id_token(str(id_token), login.nonce, access_token=token.get("access_token"))
        return self.identity(claims)

    def verify_id_token(self, id_token: str, nonce: str, access_token: str | None = None) -> dict[str, Any]:
        """The claims of ``id_token`` once its signature, issuer, audience, expiry and ``nonce`` check out.

        Raises:
            SsoError: any of them does not (the message names which).
        """
        meta = self.metadata()
        algorithms = meta.get("id_token_signing_alg_values_supported") or ["RS256"]
        registry = JWSRegistry(algorithms=list(algorithms), strict_check_header=False)
        name = self.provider.name
        try:
            try:
                decoded = jwt.decode(id_token, self._keys(), registry=registry)
            except JoseError:
                # The provider may have rotated its keys since they were fetched: try once with fresh ones.
                decoded = jwt.decode(id_token, self._keys(force=True), registry=registry)
        except (JoseError, ValueError) as exc:
            raise SsoError(
                f"the ID token from {name!r} does not verify against the provider's signing keys "
                f"({type(exc).__name__}: {exc}): sign-in refused",
            ) from exc
        options = {
            "iss": {"essential": True, "values": [str(meta["issuer"])]},
            "aud": {"essential": True, "values": [self.provider.client_id]},
            "sub": {"essential": True},
        }
        params: dict[str, Any] = {"nonce": nonce, "client_id": self.provider.client_id}
        if access_token:
            params["access_token"] = access_token
        claims = CodeIDToken(decoded.claims, decoded.header, options, params)
        try:
            claims.validate(leeway=_LEEWAY_S)
        except JoseError as exc:
            which = getattr(exc, "claim", None) or ""
            why = {
                "aud": f"it was issued for another client, not runyard's client id {self.provider.client_id!r}",
                "iss": f"it was issued by another issuer, not {meta['issuer']!r}",
                "exp": "it has expired",
                "nonce": "its nonce is not this sign-in's (a replayed token)",
            }.get(which, str(exc))
            raise SsoError(f"the ID token from {name!r} is not valid for this sign-in: {why}; sign-in refused") from exc
        return dict(claims)

    def identity(self, claims: Mapping[str, Any]) -> SsoIdentity:
        """The identity ``claims`` describe: username and groups from the provider's configured claims.

        Raises:
            SsoError: the username claim is missing or empty.
        """
        p = self.provider
        raw_name = claims.get(p.username_claim)
        if not isinstance(raw_name, str) or not raw_name.strip():
            present = ", ".join(sorted(claims)) or "none"
            raise SsoError(
                f"the ID token from {p.name!r} has no {p.username_claim!r} claim to name the user (claims: {present}): "
                f"set the provider's username claim in runyard (e.g. email), or have the provider send it"
            )
        raw_groups = claims.get(p.groups_claim) or []
        if isinstance(raw_groups, str):
            raw_groups = [raw_groups]
        groups = tuple(str(g) for g in raw_groups) if isinstance(raw_groups, list) else ()
        email = claims.get("email")
        return SsoIdentity(
            provider=p.name,
            subject=str(claims["sub"]),
            username=raw_name.strip(),
            email=email if isinstance(email, str) else None,
            groups=groups,
            team_roles=p.team_roles(groups),
            managed_teams=p.managed_teams,
            claims=dict(claims),
        )
