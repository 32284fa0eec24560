"""The audit gate: admits callers by role, area and reason, and keeps the trail of every read
and every refusal. Used by the case API and by `mappa picture show` alike.

A read and its record: the picture is read first, then its record is written in a transaction
of its own, and only then is anything returned, so there is no answer without its record. On
SQLite one writer at a time appends (a lock here, and SQLite's busy wait across processes), so
concurrent readers queue for the trail instead of failing on a locked database.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import date, datetime
from typing import NoReturn

from pydantic import BaseModel
from sqlalchemy import Engine
from sqlalchemy.engine import Connection

from mappa_bus import audit
from mappa_bus.access.admission import NotAdmittedError, admit
from mappa_bus.access.identity import NATIONAL, Reader
from mappa_bus.access.policy import ViewerRole
from mappa_bus.access.reasons import for_trail
from mappa_bus.agencies import Agency
from mappa_bus.case.fold import joined
from mappa_bus.case.merges import Merges
from mappa_bus.case.model import CasePicture
from mappa_bus.picture.store import (
    CaseFilter,
    find_cases,
    find_overdue,
    load_picture,
    matches,
    pictures_of,
    stored_merges,
)
from mappa_bus.picture.views import OverdueAction, case_areas, overdue_of
from mappa_bus.projection.database import snapshot
from mappa_bus.web.identity import Identity

UNIDENTIFIED = "(unidentified)"
_SUBJECT_WIDTH = 1_000


@dataclass(frozen=True)
class Caller:
    """Who a request comes from, once believed, and the role they read in."""

    reader: Reader
    role: ViewerRole

    @property
    def user(self) -> str:
        """The reader's name, as the trail records it."""
        return self.reader.user


@dataclass(frozen=True)
class Attempt:
    """A request as it arrives: who it established, the role and reason it gives, and what it
    asks for (the trail's subject)."""

    identity: Identity
    role: str | None
    reason: str | None
    subject: str


class Problem(BaseModel):
    """Why a request was refused, naming the header or parameter to fix where there is one."""

    detail: str
    header: str | None = None
    parameter: str | None = None


class Refusal(Exception):
    """A request answered with a problem instead of data."""

    def __init__(self, status: int, problem: Problem) -> None:
        super().__init__(problem.detail)
        self.status = status
        self.problem = problem


def refusal(status: int, detail: str, *, header: str | None = None) -> Refusal:
    """A refusal with `status`, saying `detail` (and which header to fix)."""
    return Refusal(status, Problem(detail=detail, header=header))


def not_found(case_id: str) -> Refusal:
    """The one answer for a case that has no event, and for one the caller may not see."""
    return refusal(404, f"no event of case {case_id!r} that you may see has reached the bus")


def _areas_text(reader: Reader | None) -> str:
    if reader is None:
        return ""
    return NATIONAL if reader.areas is None else ",".join(sorted(reader.areas))


class Gate:
    """Admits callers and keeps the trail: every admission, refusal and read is recorded."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._one_writer = threading.Lock() if engine.dialect.name == "sqlite" else None

    def admit(self, attempt: Attempt, readers: Collection[ViewerRole]) -> tuple[Caller, str]:
        """The caller and their reason as the trail keeps it, or a recorded refusal."""
        try:
            return self._check(attempt, readers)
        except Refusal as refused:
            self.refuse(attempt, refused)

    def _check(self, attempt: Attempt, readers: Collection[ViewerRole]) -> tuple[Caller, str]:
        identity = attempt.identity
        try:
            admitted = admit(
                identity.reader, identity.problem, attempt.role, attempt.reason, readers
            )
        except NotAdmittedError as error:
            raise refusal(error.status, error.detail, header=error.header) from error
        return Caller(admitted.reader, admitted.role), admitted.reason

    def refuse(self, attempt: Attempt, refused: Refusal) -> NoReturn:
        """Record the refused attempt (unless it offered no identity at all) and raise."""
        if attempt.identity.presented:
            self.record(attempt, refused.status, "refused")
        raise refused

    def record(
        self,
        attempt: Attempt,
        status: int,
        outcome: str,
        *,
        caller: Caller | None = None,
        reason: str | None = None,
        cases: Collection[str] = (),
    ) -> None:
        """Append one record of `attempt` to the trail, in its own transaction."""
        reader = caller.reader if caller else attempt.identity.reader
        role = caller.role.value if caller else (attempt.role or "")
        lock = self._one_writer
        if lock is not None:
            lock.acquire()
        try:
            with self.engine.begin() as connection:
                audit.record_read(
                    connection,
                    user=reader.user if reader else UNIDENTIFIED,
                    role=for_trail(role, 64) or UNIDENTIFIED,
                    areas=_areas_text(reader),
                    subject=for_trail(attempt.subject, _SUBJECT_WIDTH),
                    reason=reason if reason is not None else for_trail(attempt.reason),
                    outcome=outcome,
                    cases=sorted(cases),
                    status=status,
                )
        finally:
            if lock is not None:
                lock.release()

    def read_case(
        self,
        attempt: Attempt,
        caller: Caller,
        reason: str,
        case_id: str,
        known: Callable[[CasePicture], CasePicture | None] = lambda picture: picture,
        *,
        at: datetime | None = None,
    ) -> CasePicture:
        """What is `known` of one case's picture, recorded as read; a recorded 404 when there is
        nothing, or when the case is not in the caller's areas (answered alike). A case merged
        with others (by `at`, when given) reads as their one picture, and the record names
        every id of the group, so the trail of either id lists the read."""
        with snapshot(self.engine) as connection:
            group = stored_merges(connection, at).group(case_id)
            stored = _group_picture(connection, group)
        if stored is not None and not caller.reader.may_read_any_of(case_areas(stored)):
            self.record(attempt, 404, "other-area", caller=caller, reason=reason, cases=group)
            raise not_found(case_id)
        picture = None if stored is None else known(stored)
        if picture is None:
            self.record(attempt, 404, "not-found", caller=caller, reason=reason, cases=group)
            raise not_found(case_id)
        self.record(attempt, 200, "read", caller=caller, reason=reason, cases=group)
        # A picture as known at a moment is folded again from its entries: named again here.
        return picture.model_copy(update={"merged_case_ids": group[1:]})

    def list_cases(
        self,
        attempt: Attempt,
        caller: Caller,
        reason: str,
        where: CaseFilter,
        limit: int,
        offset: int,
    ) -> list[CasePicture]:
        """A page of pictures in the caller's areas; one record naming every case listed."""
        scoped = CaseFilter(**{**where.__dict__, "areas": caller.reader.areas})
        with snapshot(self.engine) as connection:
            found = find_cases(connection, scoped, limit=limit, offset=offset)
            merges = stored_merges(connection)
            pictures = [
                shown
                for picture in found
                if (shown := _listed(connection, merges, picture, scoped)) is not None
            ]
        listed = [case for picture in pictures for case in merges.group(picture.case_id)]
        self.record(attempt, 200, "read", caller=caller, reason=reason, cases=listed)
        return pictures

    def list_overdue(
        self,
        attempt: Attempt,
        caller: Caller,
        reason: str,
        today: date,
        owner: Agency | None,
        limit: int,
        offset: int,
    ) -> tuple[list[OverdueAction], bool]:
        """The overdue actions the caller may see in one page of `limit` cases (in the
        caller's areas, with an open action due before `today`), and whether the store may hold
        more after it; one record naming every case whose actions are listed."""
        with snapshot(self.engine) as connection:
            pictures = find_overdue(
                connection, today, caller.reader.areas, limit=limit, offset=offset
            )
        actions = [
            action
            for picture in pictures
            for action in overdue_of(picture, caller.role, today, owner)
        ]
        listed = sorted({action.case_id for action in actions})
        self.record(attempt, 200, "read", caller=caller, reason=reason, cases=listed)
        return actions, len(pictures) == limit

    def read_trail(
        self,
        attempt: Attempt,
        caller: Caller,
        reason: str,
        *,
        case_id: str | None,
        user: str | None,
        after: int,
        limit: int,
    ) -> list[audit.AuditRecord]:
        """A page of the trail for a case (and every id merged with it: who read either) or a
        user; this reading of it is recorded after."""
        with snapshot(self.engine) as connection:
            group = None if case_id is None else stored_merges(connection).group(case_id)
            records = audit.reads(connection, case_ids=group, user=user, after=after, limit=limit)
        self.record(attempt, 200, "read", caller=caller, reason=reason)
        return records


def _listed(
    connection: Connection, merges: Merges, row: CasePicture, where: CaseFilter
) -> CasePicture | None:
    """What a caseload lists for a row `where` found: the row's own picture, or, for an id of
    a merged group, the group's one picture under the kept id if that matches `where`. The
    group is listed at the first of its ids (in id order) whose row `where` finds, so that a
    person is listed once whichever rows match and on whichever page they fall."""
    group = merges.group(merges.kept(row.case_id))
    if len(group) == 1:
        return row
    rows = list(pictures_of(connection, group).values())
    first = min(
        (picture.case_id for picture in rows if matches(picture, where)), default=row.case_id
    )
    if first != row.case_id:
        return None
    whole = joined(group, rows)
    return whole if matches(whole, where) else None


def _group_picture(connection: Connection, group: tuple[str, ...]) -> CasePicture | None:
    """The picture of a group of ids (one id: its stored picture), or None when none of its
    ids has an event."""
    pictures = [picture for case_id in group if (picture := load_picture(connection, case_id))]
    if len(group) == 1 or not pictures:
        return pictures[0] if pictures else None
    return joined(group, pictures)
