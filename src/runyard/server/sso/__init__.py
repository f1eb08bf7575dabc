"""Single sign-on through OpenID Connect providers (Keycloak, Entra ID, Google, any issuer with discovery).

:mod:`.config` reads which providers a server trusts, :mod:`.state` keeps a login's state in a signed cookie
(so any replica can finish a login another one started), :mod:`.flow` talks to the provider (discovery, the
authorization code flow with PKCE, ID token verification) through Authlib.
"""
