"""The server's single sign-on: its providers, one :class:`~runyard.server.sso.flow.OidcClient` each, and the key
that signs login state. Made once per app by :func:`runyard.server.app.create_app` when providers are configured."""

from __future__ import annotations

import hashlib
import secrets
import sys
from typing import TYPE_CHECKING

from runyard.errors import UsageError
from runyard.server.sso.config import OidcProvider, OidcSettings
from runyard.server.sso.state import StateSigner

if TYPE_CHECKING:
    import httpx

    from runyard.server.sso.flow import OidcClient

__all__ = ["SsoService"]


class SsoService:
    """Everything single sign-on needs at request time.

    Args:
        settings: the providers and the shared state secret.
        public_url: the address users reach the server at (``runyard server --url``); the callback URL the
            providers redirect to is built on it (else on the address each request came to).
        transport: an httpx transport for talking to providers (None: the network).
    """

    def __init__(
        self, settings: OidcSettings, public_url: str | None = None, transport: httpx.BaseTransport | None = None
    ) -> None:
        try:
            from runyard.server.sso.flow import OidcClient
        except ImportError as exc:
            raise UsageError(
                f"single sign-on needs Authlib ({exc.name} is missing): install runyard's oidc extra "
                "(pip install -e '.[oidc]' in a clone)"
            ) from exc
        self.settings = settings
        self.public_url = public_url.rstrip("/") if public_url else None
        self.clients: dict[str, OidcClient] = {p.name: OidcClient(p, transport) for p in settings.providers}
        self.signer = StateSigner.from_secret(self._secret(settings))

    @staticmethod
    def _secret(settings: OidcSettings) -> str:
        if settings.secret:
            return settings.secret
        client_secrets = sorted(p.client_secret for p in settings.providers if p.client_secret)
        if client_secrets:
            # Every replica has the same client secrets: a key derived from them is shared without more setup.
            return hashlib.sha256("\0".join(client_secrets).encode("utf-8")).hexdigest()
        print(
            "runyard server: single sign-on with public clients only and no RUNYARD_OIDC_SECRET: login state is "
            "signed with a key of this process; with several replicas, give them all the same RUNYARD_OIDC_SECRET",
            file=sys.stderr,
        )
        return secrets.token_hex(32)

    @property
    def providers(self) -> tuple[OidcProvider, ...]:
        """The configured providers, in configuration order."""
        return self.settings.providers

    def listed(self) -> list[dict[str, str]]:
        """The providers as the login page lists them: ``[{name, label}]``."""
        return [{"name": p.name, "label": p.label} for p in self.providers]

    def callback_url(self, name: str, request_base: str) -> str:
        """The redirect URI registered at provider ``name``: ``<server>/api/v1/auth/oidc/<name>/callback``."""
        base = self.public_url or request_base.rstrip("/")
        return f"{base}/api/v1/auth/oidc/{name}/callback"
