"""Team memberships that follow a single sign-on provider's groups.

A provider's role rules (``ml-admins=research:admin``) name the teams it manages. At each sign-in the user's
memberships in exactly those teams are made to match what their groups give them: added, role changed, or
removed; teams no rule names are left alone. A managed team that does not exist yet is created (a rule is an
admin's decision that it should). The team-admin safeguard of manual edits does not apply here: the provider
is the authority for its teams, and site admins manage any team.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

import sqlalchemy as sa

from runyard.errors import StoreError
from runyard.store.accounts.tables import memberships
from runyard.store.schema import entities

if TYPE_CHECKING:
    from runyard.store.store import Store

__all__ = ["sync_sso_memberships"]


def sync_sso_memberships(
    store: Store, username: str, team_roles: Mapping[str, str], managed_teams: Iterable[str]
) -> dict[str, str | None]:
    """Make ``username``'s roles in ``managed_teams`` equal ``team_roles`` (a team missing there: no membership).

    Returns:
        The teams that changed, each with the new role (None: removed). A managed name that is a user's entity,
        not a team, is skipped.
    """
    for attempt in range(3):
        try:
            return _sync(store, username, team_roles, set(managed_teams))
        except sa.exc.IntegrityError as exc:
            # Another replica created the same team or membership at the same moment: read again and redo.
            if attempt == 2:
                raise StoreError(
                    f"could not update {username!r}'s teams from single sign-on: they keep changing"
                ) from exc
        except sa.exc.SQLAlchemyError as exc:
            raise StoreError(f"could not update {username!r}'s teams from single sign-on: {exc}") from exc
    raise AssertionError("unreachable")


def _sync(store: Store, username: str, team_roles: Mapping[str, str], managed: set[str]) -> dict[str, str | None]:
    now = time.time()
    changed: dict[str, str | None] = {}
    with store._write_engine.begin() as conn:
        for team in sorted(managed):
            want = team_roles.get(team)
            row = conn.execute(sa.select(entities.c.id, entities.c.kind).where(entities.c.name == team)).first()
            if row is None:
                if want is None:
                    continue
                conn.execute(sa.insert(entities).values(name=team, created_at=now, kind="team"))
                row = conn.execute(sa.select(entities.c.id, entities.c.kind).where(entities.c.name == team)).first()
                assert row is not None
            if row.kind != "team":
                continue
            where = (memberships.c.entity_id == row.id, memberships.c.username == username)
            have = conn.execute(sa.select(memberships.c.role).where(*where)).scalar()
            if want is None:
                if have is not None:
                    conn.execute(sa.delete(memberships).where(*where))
                    changed[team] = None
            elif have is None:
                conn.execute(
                    sa.insert(memberships).values(entity_id=row.id, username=username, role=want, created_at=now)
                )
                changed[team] = want
            elif have != want:
                conn.execute(sa.update(memberships).where(*where).values(role=want))
                changed[team] = want
    return changed
