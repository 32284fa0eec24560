"""Who is reading: a person or service as an OpenID Connect issuer vouches for them.

Pure: turning a verified token's claims into a `Reader`. The claim names differ between issuers
(Keycloak puts what a realm maps wherever it is told; Entra ID has `roles` and `groups`; HMPPS
Auth has `authorities` such as `ROLE_MAPPA_POLICE`), so they are configuration (`ClaimNames`).
Verifying the token itself is `tokens.py`'s work.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from mappa_bus.access.policy import ViewerRole, known_role
from mappa_bus.catalogue import Area

NATIONAL = "national"
"""The area claim of a reader whose work covers every area (a national analyst, an auditor)."""


@dataclass(frozen=True)
class ClaimNames:
    """Where an issuer's access tokens carry the reader's name, roles and areas.

    A name may be a dotted path into nested claims (Keycloak's `realm_access.roles`). Values are
    read case-insensitively with `_` as `-`, after `prefix` is taken off (HMPPS Auth's
    `ROLE_MAPPA_CHILDRENS_SERVICES` is role `childrens-services` with prefix `ROLE_MAPPA_`).
    """

    user: str = "preferred_username"
    roles: str = "mappa_roles"
    areas: str = "mappa_areas"
    prefix: str = ""


@dataclass(frozen=True)
class Reader:
    """A person or service, as verified: the name the audit trail records, the roles they may
    read in, and the areas they may read (None: every area, a national role)."""

    user: str
    roles: frozenset[ViewerRole]
    areas: frozenset[Area] | None = field(default=frozenset())

    @property
    def national(self) -> bool:
        """Whether the reader's work covers every area."""
        return self.areas is None

    def may_read_any_of(self, areas: Iterable[Area]) -> bool:
        """Whether one of `areas` is the reader's (always, for a national reader)."""
        return self.areas is None or not self.areas.isdisjoint(areas)


class ClaimsError(ValueError):
    """A verified token that does not say who the reader is."""


def reader_from_claims(claims: Mapping[str, Any], names: ClaimNames) -> Reader:
    """The reader a verified token's `claims` describe. Roles and areas this bus does not know
    are ignored (an issuer serves other applications too); a token with no name is refused."""
    user = _lookup(claims, names.user)
    if not isinstance(user, str) or not user.strip():
        user = claims.get("sub")
    if not isinstance(user, str) or not user.strip():
        raise ClaimsError(f"the token names no user (claim {names.user!r} nor 'sub')")
    roles = frozenset(
        role
        for value in _values(_lookup(claims, names.roles), names.prefix)
        if (role := known_role(value)) is not None
    )
    area_values = set(_values(_lookup(claims, names.areas), names.prefix))
    areas = None if NATIONAL in area_values else frozenset(_areas(area_values))
    return Reader(user=user, roles=roles, areas=areas)


def _lookup(claims: Mapping[str, Any], path: str) -> object:
    value: object = claims
    for part in path.split("."):
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    return value


def _values(value: object, prefix: str) -> list[str]:
    items = [value] if isinstance(value, str) else value if isinstance(value, list) else []
    normalised = []
    for item in items:
        if not isinstance(item, str):
            continue
        if prefix and item.upper().startswith(prefix.upper()):
            item = item[len(prefix) :]
        normalised.append(item.strip().lower().replace("_", "-"))
    return normalised


def _areas(values: Iterable[str]) -> Iterable[Area]:
    for value in values:
        try:
            yield Area(value)
        except ValueError:
            continue
