"""Which providers a server trusts: ``--oidc NAME=ISSUER`` with the environment, or a config file; and how
groups become team roles. Mistakes are refused with a message that says what to fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from runyard.cli import build_parser
from runyard.errors import UsageError
from runyard.server.sso.config import RoleRule, load_oidc_settings, parse_role_rules

ENV = {
    "RUNYARD_OIDC_KEYCLOAK_CLIENT_ID": "runyard",
    "RUNYARD_OIDC_KEYCLOAK_CLIENT_SECRET": "s3cret",
    "RUNYARD_OIDC_KEYCLOAK_ROLES": "ml-admins=research:admin, ml=research:member\nml=vision:viewer",
    "RUNYARD_OIDC_KEYCLOAK_LABEL": "Company SSO",
}


def test_flag_and_environment_make_a_provider() -> None:
    settings = load_oidc_settings(["keycloak=https://sso.example.com/realms/ml/"], environ=ENV)
    (p,) = settings.providers
    assert p.name == "keycloak"
    assert p.issuer == "https://sso.example.com/realms/ml"
    assert (p.client_id, p.client_secret, p.label) == ("runyard", "s3cret", "Company SSO")
    assert p.username_claim == "preferred_username" and p.groups_claim == "groups"
    assert p.token_auth_method == "client_secret_basic"
    assert p.role_rules == (
        RoleRule("ml-admins", "research", "admin"),
        RoleRule("ml", "research", "member"),
        RoleRule("ml", "vision", "viewer"),
    )
    assert p.managed_teams == {"research", "vision"}


def test_highest_role_per_team_wins() -> None:
    (p,) = load_oidc_settings(["keycloak=https://sso.example.com/realms/ml"], environ=ENV).providers
    assert p.team_roles(["ml", "ml-admins"]) == {"research": "admin", "vision": "viewer"}
    assert p.team_roles(["ml"]) == {"research": "member", "vision": "viewer"}
    assert p.team_roles(["other"]) == {}


def test_a_public_client_has_no_secret_and_authenticates_with_pkce_alone() -> None:
    (p,) = load_oidc_settings(
        ["google=https://accounts.google.com"], environ={"RUNYARD_OIDC_GOOGLE_CLIENT_ID": "123.apps"}
    ).providers
    assert p.client_secret is None and p.token_auth_method == "none"
    assert p.label == "Google"


def test_config_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ENTRA_SECRET", "from-env")
    path = tmp_path / "oidc.yaml"
    path.write_text(
        """
secret: shared-by-replicas
providers:
  entra:
    label: Microsoft
    issuer: https://login.microsoftonline.com/TENANT/v2.0
    client_id: 0000-1111
    client_secret_env: ENTRA_SECRET
    username_claim: email
    roles:
      "0b1c-admins-guid": research:admin
      "77aa-ml-guid": research:member
"""
    )
    settings = load_oidc_settings(config_file=path, environ={})
    (p,) = settings.providers
    assert settings.secret == "shared-by-replicas"
    assert (p.name, p.label, p.client_secret, p.username_claim) == ("entra", "Microsoft", "from-env", "email")
    assert p.team_roles(["77aa-ml-guid"]) == {"research": "member"}


@pytest.mark.parametrize(
    ("flags", "env", "message"),
    [
        (["keycloak"], {}, "write NAME=ISSUER_URL"),
        (["keycloak=https://sso.example.com"], {}, "RUNYARD_OIDC_KEYCLOAK_CLIENT_ID"),
        (["keycloak=http://sso.example.com"], ENV, "must be an https:// URL"),
        (["Key cloak=https://sso.example.com"], ENV, "lowercase letters"),
        (
            ["keycloak=https://sso.example.com"],
            {**ENV, "RUNYARD_OIDC_KEYCLOAK_ROLES": "ml-admins=research"},
            "is not GROUP=TEAM:ROLE",
        ),
        (
            ["keycloak=https://sso.example.com"],
            {**ENV, "RUNYARD_OIDC_KEYCLOAK_ROLES": "ml=research:owner"},
            "use one of viewer, member, admin",
        ),
    ],
)
def test_mistakes_are_refused_with_what_to_fix(flags: list[str], env: dict[str, str], message: str) -> None:
    with pytest.raises(UsageError, match=message):
        load_oidc_settings(flags, environ=env)


def test_config_file_mistakes(tmp_path: Path) -> None:
    missing = tmp_path / "nope.yaml"
    with pytest.raises(UsageError, match="cannot read it"):
        load_oidc_settings(config_file=missing, environ={})
    empty = tmp_path / "empty.yaml"
    empty.write_text("providers: {}\n")
    with pytest.raises(UsageError, match="expected a mapping"):
        load_oidc_settings(config_file=empty, environ={})
    unset = tmp_path / "unset.yaml"
    unset.write_text("providers: {k: {issuer: 'https://x.example', client_id: a, client_secret_env: NOT_SET_HERE}}")
    with pytest.raises(UsageError, match=r"\$NOT_SET_HERE, which is unset"):
        load_oidc_settings(config_file=unset, environ={})


def test_role_rules_from_a_mapping_or_a_list() -> None:
    assert parse_role_rules({"a": "t:admin"}, "x") == parse_role_rules(["a=t:admin"], "x")


def test_server_cli_takes_the_flags() -> None:
    args = build_parser().parse_args(
        ["server", "--db", "sqlite:///x.db", "--oidc", "kc=https://a.example", "--oidc", "g=https://b.example"]
    )
    assert args.oidc == ["kc=https://a.example", "g=https://b.example"] and args.oidc_config is None
