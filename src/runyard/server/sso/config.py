"""Which OpenID Connect providers a server trusts, and how their groups become team roles.

Providers come from ``runyard server --oidc NAME=ISSUER`` with the rest from the environment
(``RUNYARD_OIDC_<NAME>_CLIENT_ID``, ``_CLIENT_SECRET``, ``_LABEL``, ``_USERNAME_CLAIM``, ``_GROUPS_CLAIM``,
``_ROLES``, ``_SCOPES``), or from a YAML or JSON file (``--oidc-config``)::

    secret: a long random string shared by every replica   # or RUNYARD_OIDC_SECRET
    providers:
      keycloak:
        issuer: https://sso.example.com/realms/ml
        client_id: runyard
        client_secret_env: KEYCLOAK_CLIENT_SECRET
        roles: {ml-admins: "research:admin", ml: "research:member"}

A role rule ``GROUP=TEAM:ROLE`` gives members of the provider's group ``GROUP`` the role ``ROLE`` in ``TEAM``;
a user in several mapped groups gets the highest role for each team.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from runyard.errors import UsageError
from runyard.store.accounts.room import check_name

__all__ = ["ROLES", "OidcProvider", "OidcSettings", "RoleRule", "load_oidc_settings", "parse_role_rules"]

ROLES = ("viewer", "member", "admin")
_RANK = {role: rank for rank, role in enumerate(ROLES)}
_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,31}$")
_AUTH_METHODS = ("client_secret_basic", "client_secret_post", "none")


@dataclass(frozen=True)
class RoleRule:
    """Members of the provider's group ``group`` get ``role`` in team ``team``."""

    group: str
    team: str
    role: str


def parse_role_rules(text: str | Mapping[str, str] | Sequence[str], where: str) -> tuple[RoleRule, ...]:
    """Role rules from ``"ml-admins=research:admin, ml=research:member"``, a list of such, or a mapping.

    Raises:
        UsageError: a rule is not ``GROUP=TEAM:ROLE`` or names an unknown role; the message names ``where``.
    """
    pairs: list[tuple[str, str]] = []
    if isinstance(text, Mapping):
        pairs = [(str(k), str(v)) for k, v in text.items()]
    else:
        items = re.split(r"[,\n]", text) if isinstance(text, str) else [str(t) for t in text]
        for item in items:
            item = item.strip()
            if not item:
                continue
            group, sep, target = item.rpartition("=")
            if not sep:
                raise UsageError(f"{where}: role rule {item!r} is not GROUP=TEAM:ROLE (e.g. ml-admins=research:admin)")
            pairs.append((group, target))
    rules = []
    for group, target in pairs:
        team, sep, role = target.strip().rpartition(":")
        group, team, role = group.strip(), team.strip(), role.strip().lower()
        if not group or not sep or not team:
            raise UsageError(
                f"{where}: role rule {group}={target} is not GROUP=TEAM:ROLE (e.g. ml-admins=research:admin)"
            )
        try:
            check_name(team, "team name")
        except UsageError as exc:
            raise UsageError(f"{where}: role rule {group}={target}: {exc}") from exc
        if role not in _RANK:
            raise UsageError(f"{where}: role rule {group}={target} names role {role!r}; use one of {', '.join(ROLES)}")
        rules.append(RoleRule(group, team, role))
    return tuple(rules)


@dataclass(frozen=True)
class OidcProvider:
    """One OpenID Connect provider users may sign in with.

    Attributes:
        name: the provider's name in runyard's URLs (``/api/v1/auth/oidc/<name>/login``).
        issuer: the issuer URL; its ``/.well-known/openid-configuration`` says where everything else is.
        client_id: runyard's client id at the provider (the ID token's audience).
        client_secret: runyard's client secret (None for a public client, which relies on PKCE alone).
        label: what the login page's button says.
        scopes: the scopes asked for.
        username_claim: the ID token claim a new user's name comes from (``preferred_username``, ``email``...).
        groups_claim: the ID token claim that lists the user's groups (``groups`` for Keycloak and Entra ID).
        role_rules: how groups become team roles; teams named in a rule are managed by this provider.
        token_auth_method: how runyard authenticates at the token endpoint.
    """

    name: str
    issuer: str
    client_id: str
    client_secret: str | None = None
    label: str = ""
    scopes: tuple[str, ...] = ("openid", "profile", "email")
    username_claim: str = "preferred_username"
    groups_claim: str = "groups"
    role_rules: tuple[RoleRule, ...] = ()
    token_auth_method: str = "client_secret_basic"

    @property
    def managed_teams(self) -> frozenset[str]:
        """The teams whose memberships this provider's groups decide."""
        return frozenset(rule.team for rule in self.role_rules)

    def team_roles(self, groups: Iterable[str]) -> dict[str, str]:
        """Each managed team the user belongs to, with the highest role their ``groups`` give them there."""
        have = set(groups)
        roles: dict[str, str] = {}
        for rule in self.role_rules:
            if rule.group in have and _RANK[rule.role] > _RANK.get(roles.get(rule.team, ""), -1):
                roles[rule.team] = rule.role
        return roles


@dataclass(frozen=True)
class OidcSettings:
    """The providers a server trusts, and the key that signs login state (the same on every replica)."""

    providers: tuple[OidcProvider, ...] = ()
    secret: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def provider(self, name: str) -> OidcProvider | None:
        """The provider called ``name``, or None."""
        return next((p for p in self.providers if p.name == name), None)


def _env(name: str, key: str, environ: Mapping[str, str]) -> str | None:
    value = environ.get(f"RUNYARD_OIDC_{name.upper().replace('-', '_')}_{key}")
    return value if value else None


def _check_issuer(issuer: str, where: str) -> str:
    parts = urlsplit(issuer)
    loopback = parts.hostname in ("localhost", "127.0.0.1", "::1")
    if parts.scheme not in ("https", "http") or not parts.hostname or (parts.scheme == "http" and not loopback):
        raise UsageError(
            f"{where}: the issuer {issuer!r} must be an https:// URL (http:// only on loopback), "
            "e.g. https://sso.example.com/realms/ml"
        )
    return issuer.rstrip("/")


def _provider(name: str, values: Mapping[str, Any], where: str) -> OidcProvider:
    if not _NAME.match(name):
        raise UsageError(f"{where}: provider name {name!r} must be lowercase letters, digits, - or _ (e.g. keycloak)")
    issuer = values.get("issuer")
    if not issuer:
        raise UsageError(f"{where}: provider {name!r} has no issuer URL")
    client_id = values.get("client_id")
    if not client_id:
        raise UsageError(
            f"{where}: provider {name!r} has no client id: set RUNYARD_OIDC_{name.upper().replace('-', '_')}"
            "_CLIENT_ID or client_id in the --oidc-config file (the id the provider gave runyard)"
        )
    secret = values.get("client_secret")
    secret_env = values.get("client_secret_env")
    if not secret and secret_env:
        secret = os.environ.get(str(secret_env))
        if not secret:
            raise UsageError(f"{where}: provider {name!r} reads its client secret from ${secret_env}, which is unset")
    scopes = values.get("scopes") or ("openid", "profile", "email")
    if isinstance(scopes, str):
        scopes = scopes.replace(",", " ").split()
    scopes = tuple(str(s) for s in scopes)
    if "openid" not in scopes:
        scopes = ("openid", *scopes)
    method = str(values.get("token_auth_method") or ("client_secret_basic" if secret else "none"))
    if method not in _AUTH_METHODS:
        raise UsageError(
            f"{where}: provider {name!r} token_auth_method {method!r}: use one of {', '.join(_AUTH_METHODS)}"
        )
    roles = values.get("roles") or ()
    return OidcProvider(
        name=name,
        issuer=_check_issuer(str(issuer), where),
        client_id=str(client_id),
        client_secret=str(secret) if secret else None,
        label=str(values.get("label") or name.replace("-", " ").replace("_", " ").title()),
        scopes=scopes,
        username_claim=str(values.get("username_claim") or "preferred_username"),
        groups_claim=str(values.get("groups_claim") or "groups"),
        role_rules=parse_role_rules(roles, f"{where}, provider {name!r}"),
        token_auth_method=method,
    )


def load_oidc_settings(
    flags: Sequence[str] = (),
    config_file: str | Path | None = None,
    environ: Mapping[str, str] | None = None,
) -> OidcSettings:
    """The providers of ``--oidc NAME=ISSUER`` flags (details from the environment) and of ``config_file``.

    Raises:
        UsageError: a flag, variable or file entry is missing or malformed; the message says which and how to fix it.
    """
    environ = os.environ if environ is None else environ
    providers: dict[str, OidcProvider] = {}
    secret = environ.get("RUNYARD_OIDC_SECRET") or None
    if config_file is not None:
        providers_in_file, file_secret = _read_file(Path(config_file))
        providers.update(providers_in_file)
        secret = secret or file_secret
    for flag in flags:
        name, sep, issuer = flag.partition("=")
        name = name.strip().lower()
        if not sep or not issuer.strip():
            raise UsageError(
                f"--oidc {flag!r}: write NAME=ISSUER_URL, e.g. --oidc keycloak=https://sso.example.com/realms/ml"
            )
        values = {
            "issuer": issuer.strip(),
            "client_id": _env(name, "CLIENT_ID", environ),
            "client_secret": _env(name, "CLIENT_SECRET", environ),
            "label": _env(name, "LABEL", environ),
            "username_claim": _env(name, "USERNAME_CLAIM", environ),
            "groups_claim": _env(name, "GROUPS_CLAIM", environ),
            "roles": _env(name, "ROLES", environ) or "",
            "scopes": _env(name, "SCOPES", environ),
            "token_auth_method": _env(name, "TOKEN_AUTH_METHOD", environ),
        }
        if name in providers:
            raise UsageError(f"--oidc {flag!r}: provider {name!r} is named twice")
        providers[name] = _provider(name, values, f"--oidc {name}")
    return OidcSettings(providers=tuple(providers.values()), secret=secret)


def _read_file(path: Path) -> tuple[dict[str, OidcProvider], str | None]:
    import yaml

    where = f"--oidc-config {path}"
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"{where}: cannot read it ({exc.strerror or exc})") from exc
    try:
        data = json.loads(text) if path.suffix.lower() == ".json" else yaml.safe_load(text)
    except (ValueError, yaml.YAMLError) as exc:
        raise UsageError(f"{where}: not valid {'JSON' if path.suffix.lower() == '.json' else 'YAML'}: {exc}") from exc
    if not isinstance(data, dict) or not isinstance(data.get("providers"), dict) or not data["providers"]:
        raise UsageError(f"{where}: expected a mapping with 'providers: {{NAME: {{issuer: ..., client_id: ...}}}}'")
    providers = {}
    for name, values in data["providers"].items():
        if not isinstance(values, dict):
            raise UsageError(f"{where}: provider {name!r} must be a mapping of issuer, client_id, ...")
        providers[str(name)] = _provider(str(name), values, where)
    secret = data.get("secret")
    return providers, str(secret) if secret else None
