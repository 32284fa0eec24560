"""Admission: whether an established identity may read what a set of roles guards, in which
role, and with what reason. Pure; the HTTP gate and the commands record the outcome."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from mappa_bus.access.identity import Reader
from mappa_bus.access.policy import ViewerRole, known_role
from mappa_bus.access.reasons import ReasonError, checked_reason

ROLE_HEADER = "X-Mappa-Role"
REASON_HEADER = "X-Mappa-Reason"


class NotAdmittedError(PermissionError):
    """Why a reader is not admitted: an HTTP-style status, what to fix, and where."""

    def __init__(self, status: int, detail: str, header: str | None = None) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.header = header


@dataclass(frozen=True)
class Admitted:
    """A reader admitted in one role, with the reason the trail keeps."""

    reader: Reader
    role: ViewerRole
    reason: str


def acting_role(reader: Reader, requested: str | None) -> ViewerRole | str | None:
    """The role `reader` reads in: the one asked for if the reader holds it (else the asked-for
    text, to be refused), or their only role; None when they hold several and must choose."""
    if requested:
        role = known_role(requested.strip())
        return role if role is not None and role in reader.roles else requested.strip()
    if len(reader.roles) == 1:
        return next(iter(reader.roles))
    return None


def admit(
    reader: Reader | None,
    problem: str | None,
    requested_role: str | None,
    reason: str | None,
    readers: Collection[ViewerRole],
) -> Admitted:
    """`reader` admitted to what `readers` may read, or `NotAdmittedError` saying why."""
    if reader is None:
        raise NotAdmittedError(401, problem or "who are you?", "Authorization")
    role = acting_role(reader, requested_role)
    if role is None:
        held = ", ".join(sorted(reader.roles)) or "none"
        raise NotAdmittedError(403, f"say which of your roles you read in ({held})", ROLE_HEADER)
    if not isinstance(role, ViewerRole):
        raise NotAdmittedError(403, f"you do not hold the role {role[:64]!r}", ROLE_HEADER)
    if role not in readers:
        allowed = ", ".join(sorted(readers))
        raise NotAdmittedError(403, f"role {role} may not read this (allowed: {allowed})")
    if reader.areas is not None and not reader.areas:
        raise NotAdmittedError(403, "your identity names no MAPPA area you work in")
    try:
        kept = checked_reason(reason)
    except ReasonError as error:
        raise NotAdmittedError(400, str(error), REASON_HEADER) from error
    return Admitted(reader, role, kept)
