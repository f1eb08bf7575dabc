"""Who is calling: HTTP Basic with the API key as password, as the wandb client sends it (``api:<key>``).

Keys are checked through the app's :class:`~runyard.server.auth.KeyCache` (shared with runyard's own ingest
API); failures are answered in the shape the wandb client reports.
"""

from __future__ import annotations

from fastapi import Request

from runyard.server.auth import KeyCache, api_key_of
from runyard.server.deps import User, current_user
from runyard.server.errors import ApiError, error_body

__all__ = ["AuthError", "Caller", "caller_of", "unauthorized_body"]


class Caller:
    """An authenticated wandb client: the key's owner, the entity its runs go to by default, and the owner as a
    :class:`~runyard.server.deps.User` (with their roles, for :mod:`runyard.server.access`)."""

    __slots__ = ("entity", "user", "username")

    def __init__(self, username: str, entity: str, user: User | None = None) -> None:
        self.username = username
        self.entity = entity
        self.user = user if user is not None else User(username=username, entity=entity)


class AuthError(ApiError):
    """A request without a valid key: 401, answered in W&B's error shape as well as runyard's."""

    def __init__(self, message: str) -> None:
        super().__init__(401, message)


def unauthorized_body(message: str) -> dict[str, object]:
    """The client shows ``errors[0].message`` (GraphQL's shape); runyard's own ``error`` sits beside it."""
    return {"errors": [{"message": message}], **error_body(401, message)}


def caller_of(request: Request, keys: KeyCache) -> Caller:
    """The authenticated caller, or a 401 the wandb client reports as an authentication failure."""
    key = api_key_of(request)
    if key is None:
        raise AuthError("authentication failed: an API key is required (HTTP Basic, user api, the key as password)")
    if request.app.state.accounts:
        try:
            user = current_user(request)  # the key's owner with their roles (runyard.server.identity)
        except ApiError as exc:
            raise AuthError(f"authentication failed: {exc.message}") from exc
        return Caller(user.username, user.entity, user)
    owner = keys.owner(key)
    if owner is None:
        raise AuthError("authentication failed: invalid API key (runyard ui prints a working one)")
    return Caller(owner, current_user(request).entity)
