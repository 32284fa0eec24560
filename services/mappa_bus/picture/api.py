"""The case-picture query API: each role's view of a case, and every read of one audited.

Who is calling: in development the caller says so in `X-Mappa-User` and `X-Mappa-Role`; given
`tokens`, the service takes both from `Authorization: Bearer <token>` and ignores those headers
(a header anyone can set is no identity in production). Every route that returns case data
wants a reason in `X-Mappa-Reason`, and writes its audit record in the same transaction as the
read, so there is no read without its record. Refused attempts are recorded too.

Lists (`/cases`, `/changes`) write one record for the query and one per case listed (subject
`case:<id>:listed`): "who has seen case X" is then answered by the trail alone, without
re-running a query against data that has changed since.
"""

# No `from __future__ import annotations`: FastAPI reads the routes' annotations at runtime,
# and they name dependencies local to `create_app`.

import hmac
import re
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any, NoReturn
from urllib.parse import urlencode

from fastapi import Depends, FastAPI, Header, Path, Query, Request, Response
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import AfterValidator, AwareDatetime, BaseModel, BeforeValidator, ConfigDict
from sqlalchemy import Engine, text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import SQLAlchemyError

from mappa_bus import audit
from mappa_bus.agencies import Agency
from mappa_bus.catalogue import Area
from mappa_bus.catalogue.vocabulary import Category, Level
from mappa_bus.picture.fold import as_known_at, shared_by
from mappa_bus.picture.model import CasePicture, Status, TimelineEntry
from mappa_bus.picture.store import CaseFilter, find_cases, load_picture
from mappa_bus.picture.views import (
    AUDIT_READERS,
    CASE_VIEWS,
    MIN_REASON_LENGTH,
    CaseSummary,
    CaseView,
    FieldGroup,
    ViewerRole,
    known_role,
    summary_of,
    view_of,
    visible_entries,
)
from mappa_bus.web.hosts import LOOPBACK
from mappa_bus.web.security import secure

USER_HEADER = "X-Mappa-User"
ROLE_HEADER = "X-Mappa-Role"
REASON_HEADER = "X-Mappa-Reason"
AUTHORIZATION_HEADER = "Authorization"

# The audit table's column widths: a longer claimed name or role is kept cut, not refused
# unrecorded.
_USER_WIDTH, _ROLE_WIDTH = 128, 64
_UNIDENTIFIED = "(unidentified)"
_CASE_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_-]{2,63}$"  # the catalogue's CaseId
_MAX_PAGE = 500
_MAX_OFFSET = 2**31 - 1  # what both databases take as a row offset


@dataclass(frozen=True)
class Caller:
    """Who a request comes from, once believed."""

    user: str
    role: ViewerRole


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


@dataclass(frozen=True)
class Claim:
    """What a request says about who sent it and why, before any of it is believed."""

    user: str | None
    role: str | None
    reason: str | None
    problem: Refusal | None = None


_RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})")


def _rfc3339(value: object) -> object:
    # Pydantic would also take a number of seconds since 1970, or a date alone: the document
    # promises RFC 3339, so anything else is refused rather than guessed at.
    if not isinstance(value, str) or not _RFC3339.fullmatch(value):
        raise ValueError("give an RFC 3339 date-time with its offset, e.g. 2024-05-01T12:00:00Z")
    return value


def _to_utc(moment: datetime) -> datetime:
    try:
        return moment.astimezone(UTC)
    except OverflowError:
        # Within a day of year 1 or 9999 (e.g. 0001-01-01T00:00:00+01:00) there may be no UTC
        # form; compared with when events reached the bus, the nearest end answers the same.
        end = datetime.min if moment.year == 1 else datetime.max
        return end.replace(tzinfo=UTC)


def _assume_utc(moment: datetime) -> datetime:
    # SQLite keeps no offset; the trail is written in UTC, so that is what it reads back as.
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


Moment = Annotated[AwareDatetime, BeforeValidator(_rfc3339), AfterValidator(_to_utc)]
CaseId = Annotated[str, Path(pattern=_CASE_ID_PATTERN, description="Pseudonymous case id.")]
Limit = Annotated[int, Query(ge=1, le=_MAX_PAGE, description="Page size.")]
Offset = Annotated[int, Query(ge=0, le=_MAX_OFFSET, description="Cases to skip (case-id order).")]


class CasePage(BaseModel):
    """One page of case summaries, in case-id order."""

    model_config = ConfigDict(frozen=True)

    cases: list[CaseSummary]
    limit: int
    offset: int


class CaseTimeline(BaseModel):
    """A case's events as one role may see them."""

    model_config = ConfigDict(frozen=True)

    case_id: str
    role: ViewerRole
    withheld: tuple[FieldGroup, ...]
    timeline: tuple[TimelineEntry, ...]


class CaseAsKnownAt(BaseModel):
    """A case as the bus knew it at `at`, and what each agency had shared of it by then."""

    model_config = ConfigDict(frozen=True)

    at: datetime
    view: CaseView
    shared_by: dict[Agency, tuple[TimelineEntry, ...]]
    """Per agency, its entries recorded by `at` of the sections this role may see (an agency
    with none of those is left out)."""


class AuditEntry(BaseModel):
    """One record of the audit trail."""

    model_config = ConfigDict(frozen=True)

    at: Annotated[datetime, AfterValidator(_assume_utc)]
    user: str
    role: str
    subject: str
    reason: str
    outcome: str


class AuditTrail(BaseModel):
    """Audit records, oldest first."""

    model_config = ConfigDict(frozen=True)

    records: list[AuditEntry]


class Health(BaseModel):
    """The service answers and its database does."""

    status: str


_WHY = {
    400: "No reason given, or one too short to say why.",
    401: "The caller did not say who they are (or the token is unknown).",
    403: "The role may not read this.",
    404: "The bus has no event of this case.",
    503: "The database does not answer.",
}


def _problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The `responses=` a route documents for its refusals (422 FastAPI adds itself)."""
    return {status: {"model": Problem, "description": _WHY[status]} for status in statuses}


_REFUSALS = _problems(400, 401, 403)
_CASE_REFUSALS = _problems(400, 401, 403, 404)


def _refuse(status: int, detail: str, *, header: str | None = None) -> Refusal:
    return Refusal(status, Problem(detail=detail, header=header))


def _check(claim: Claim, readers: Collection[ViewerRole]) -> Caller:
    """The caller `claim` describes, if it may read what `readers` guards; else why not."""
    if claim.problem is not None:
        raise claim.problem
    if not claim.user:
        raise _refuse(401, "say who you are", header=USER_HEADER)
    if not claim.role:
        raise _refuse(401, "say which role you read in", header=ROLE_HEADER)
    role = known_role(claim.role)
    if role is None:
        raise _refuse(403, f"there is no role {claim.role!r}", header=ROLE_HEADER)
    if role not in readers:
        allowed = ", ".join(sorted(readers))
        raise _refuse(
            403, f"role {role} may not read this (allowed: {allowed})", header=ROLE_HEADER
        )
    if len((claim.reason or "").strip()) < MIN_REASON_LENGTH:
        detail = f"say why you read this (at least {MIN_REASON_LENGTH} characters)"
        raise _refuse(400, detail, header=REASON_HEADER)
    return Caller(claim.user, role)


class Gate:
    """Admits callers and keeps the trail: every admission, refusal and read is recorded."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def admit(self, claim: Claim, subject: str, readers: Collection[ViewerRole]) -> Caller:
        """The caller, or a recorded refusal."""
        try:
            return _check(claim, readers)
        except Refusal as refusal:
            self.refuse(claim, subject, refusal)

    def refuse(self, claim: Claim, subject: str, refusal: Refusal) -> NoReturn:
        """Record the refused attempt (in its own transaction: nothing else happens) and raise."""
        with self.engine.begin() as connection:
            _record(connection, claim.user, claim.role, claim.reason, subject, "refused")
        raise refusal

    def read_case(
        self,
        caller: Caller,
        reason: str | None,
        case_id: str,
        subject: str,
        known: Callable[[CasePicture], CasePicture | None] = lambda picture: picture,
    ) -> CasePicture:
        """What is `known` of one case's picture, recorded as read; 404, recorded too, when
        there is nothing."""
        with self.engine.begin() as connection:
            stored = load_picture(connection, case_id)
            picture = None if stored is None else known(stored)
            outcome = "read" if picture is not None else "not-found"
            _record(connection, caller.user, caller.role, reason, subject, outcome)
        if picture is None:
            raise _refuse(404, f"no event of case {case_id!r} had reached the bus")
        return picture

    def list_cases(
        self, caller: Caller, reason: str | None, subject: str, where: CaseFilter, page: CasePage
    ) -> CasePage:
        """A page of summaries; the query and every case on the page recorded as read."""
        with self.engine.begin() as connection:
            pictures = find_cases(connection, where, limit=page.limit, offset=page.offset)
            _record(connection, caller.user, caller.role, reason, subject, "read")
            for picture in pictures:
                listed = f"case:{picture.case_id}:listed"
                _record(connection, caller.user, caller.role, reason, listed, "read")
        return page.model_copy(update={"cases": [summary_of(p) for p in pictures]})

    def read_trail(
        self,
        caller: Caller,
        reason: str | None,
        subject: str,
        case_id: str | None,
        user: str | None,
    ) -> AuditTrail:
        """The trail for a case or a user; this reading of it is recorded after it is read."""
        with self.engine.begin() as connection:
            prefix = None if case_id is None else f"case:{case_id}"
            records = [
                AuditEntry.model_validate(record.__dict__)
                for record in audit.reads(connection, subject_prefix=prefix, user=user)
                if prefix is None or _is_of_case(record.subject, prefix)
            ]
            _record(connection, caller.user, caller.role, reason, subject, "read")
        return AuditTrail(records=records)


def _is_of_case(subject: str, prefix: str) -> bool:
    # `case:ab1` is a prefix of `case:ab12` too; a case's subjects are it or it and a colon.
    return subject == prefix or subject.startswith(f"{prefix}:")


def _record(
    connection: Connection,
    user: str | None,
    role: str | None,
    reason: str | None,
    subject: str,
    outcome: str,
) -> None:
    audit.record_read(
        connection,
        user=(user or _UNIDENTIFIED)[:_USER_WIDTH],
        role=(role or _UNIDENTIFIED)[:_ROLE_WIDTH],
        subject=subject,
        reason=(reason or "").strip(),
        outcome=outcome,
    )


def _query_subject(path: str, **parameters: object) -> str:
    """An audit subject for a query: its path and the parameters given, in a fixed order."""
    given = {name: _plain(value) for name, value in parameters.items() if value is not None}
    # Colons left as they are: the subject is for people reading the trail.
    return f"{path}?{urlencode(given, safe=':')}" if given else path


def _plain(value: object) -> str:
    if isinstance(value, datetime):  # already in UTC (`Moment`)
        return value.isoformat().replace("+00:00", "Z")
    return str(int(value)) if isinstance(value, int) else str(value)


# ---- who is calling -----------------------------------------------------------------------

Reason = Annotated[
    str | None,
    Header(
        alias=REASON_HEADER,
        description=f"Why you read this (at least {MIN_REASON_LENGTH} characters); audited.",
    ),
]


def _header_claim(
    user: Annotated[str | None, Header(alias=USER_HEADER, description="Who you are.")] = None,
    role: Annotated[
        str | None,
        Header(alias=ROLE_HEADER, description="The role you read in: " + ", ".join(ViewerRole)),
    ] = None,
    reason: Reason = None,
) -> Claim:
    """Development identity: the caller's own word, from headers."""
    return Claim(user, role, reason)


def _bearer_claim(tokens: Mapping[str, Caller]) -> Callable[..., Claim]:
    """Identity from a bearer token; the role headers are not even read."""
    bearer = HTTPBearer(auto_error=False, description="A token issued to one user in one role.")

    def claim(
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
        reason: Reason = None,
    ) -> Claim:
        caller = _caller_for(tokens, credentials.credentials) if credentials else None
        if caller is None:
            problem = _refuse(401, "send a known bearer token", header=AUTHORIZATION_HEADER)
            return Claim(None, None, reason, problem)
        return Claim(caller.user, caller.role, reason)

    return claim


def _caller_for(tokens: Mapping[str, Caller], token: str) -> Caller | None:
    # Compare against every token in constant time: a lookup by key would leak, through its
    # timing, how much of a guess was right.
    found = None
    for known, caller in tokens.items():
        if hmac.compare_digest(known.encode(), token.encode()):
            found = caller
    return found


# ---- the application ----------------------------------------------------------------------


def create_app(
    engine: Engine,
    *,
    tokens: Mapping[str, Caller] | None = None,
    hosts: Sequence[str] = LOOPBACK,
) -> FastAPI:
    """The API over the pictures (and audit trail) in `engine`'s database, answering `hosts`."""
    # No /docs: Swagger UI would come from a public CDN onto the origin of case data.
    app = FastAPI(
        title="MAPPA Bus case pictures",
        version="1",
        description=__doc__,
        docs_url=None,
        redoc_url=None,
    )
    gate = Gate(engine)
    identify = _header_claim if tokens is None else _bearer_claim(tokens)
    app.add_exception_handler(Refusal, _refusal_response)
    _case_routes(app, gate, identify)
    _list_routes(app, gate, identify)
    _audit_routes(app, gate, identify)
    _health_route(app, engine)
    secure(app, hosts)
    return app


def _refusal_response(_request: Request, error: Exception) -> Response:
    assert isinstance(error, Refusal)  # registered for Refusal only
    return JSONResponse(error.problem.model_dump(exclude_none=True), status_code=error.status)


def _case_routes(app: FastAPI, gate: Gate, identify: Callable[..., Claim]) -> None:
    @app.get("/cases/{case_id}", response_model=CaseView, responses=_CASE_REFUSALS)
    def case(case_id: CaseId, claim: Annotated[Claim, Depends(identify)]) -> CaseView:
        """The case as the caller's role may see it."""
        subject = f"case:{case_id}"
        caller = gate.admit(claim, subject, CASE_VIEWS)
        return view_of(gate.read_case(caller, claim.reason, case_id, subject), caller.role)

    @app.get("/cases/{case_id}/timeline", response_model=CaseTimeline, responses=_CASE_REFUSALS)
    def timeline(case_id: CaseId, claim: Annotated[Claim, Depends(identify)]) -> CaseTimeline:
        """The case's events of the sections the caller's role may see, in time order."""
        subject = f"case:{case_id}:timeline"
        caller = gate.admit(claim, subject, CASE_VIEWS)
        view = view_of(gate.read_case(caller, claim.reason, case_id, subject), caller.role)
        return CaseTimeline(
            case_id=case_id, role=view.role, withheld=view.withheld, timeline=view.timeline
        )

    @app.get("/cases/{case_id}/as-known-at", response_model=CaseAsKnownAt, responses=_CASE_REFUSALS)
    def known_at(
        case_id: CaseId,
        at: Annotated[Moment, Query(description="RFC 3339 moment, with its offset.")],
        claim: Annotated[Claim, Depends(identify)],
    ) -> CaseAsKnownAt:
        """The case as the bus knew it at `at` (events recorded by then, whenever they
        happened), and what each agency had shared of it: what a decision then was based on."""
        subject = f"case:{case_id}:as-known-at:{_plain(at)}"
        caller = gate.admit(claim, subject, CASE_VIEWS)
        past = gate.read_case(caller, claim.reason, case_id, subject, lambda p: known_then(p, at))
        return as_known_at_view(past, caller.role, at)


def known_then(picture: CasePicture, at: datetime) -> CasePicture | None:
    """The picture as known at `at`; None when no event of it had reached the bus by then."""
    past = as_known_at(picture, at)
    return past if past.timeline else None


def as_known_at_view(past: CasePicture, role: ViewerRole, at: datetime) -> CaseAsKnownAt:
    groups = CASE_VIEWS[role]
    shared = {
        agency: visible
        for agency, entries in shared_by(past).items()
        if (visible := visible_entries(entries, groups))
    }
    return CaseAsKnownAt(at=at, view=view_of(past, role), shared_by=shared)


def _list_routes(app: FastAPI, gate: Gate, identify: Callable[..., Claim]) -> None:
    @app.get("/cases", response_model=CasePage, responses=_REFUSALS)
    def cases(
        claim: Annotated[Claim, Depends(identify)],
        area: Area | None = None,
        level: Level | None = None,
        category: Category | None = None,
        status: Status | None = None,
        limit: Limit = 100,
        offset: Offset = 0,
    ) -> CasePage:
        """Summaries (core fields only) of the cases matching every filter given."""
        filters = {"area": area, "level": level, "category": category, "status": status}
        subject = _query_subject("cases", **filters, limit=limit, offset=offset)
        caller = gate.admit(claim, subject, CASE_VIEWS)
        if category is not None and FieldGroup.MANAGEMENT not in CASE_VIEWS[caller.role]:
            # The category is in the management section: filtering by it would disclose it.
            detail = f"role {caller.role} may not see a case's category, so not filter by it"
            gate.refuse(claim, subject, Refusal(403, Problem(detail=detail, parameter="category")))
        where = CaseFilter(area=area, level=level, category=category, status=status)
        page = CasePage(cases=[], limit=limit, offset=offset)
        return gate.list_cases(caller, claim.reason, subject, where, page)

    @app.get("/changes", response_model=CasePage, responses=_REFUSALS)
    def changes(
        claim: Annotated[Claim, Depends(identify)],
        since: Annotated[Moment, Query(description="RFC 3339 moment, with its offset.")],
        limit: Limit = 100,
        offset: Offset = 0,
    ) -> CasePage:
        """Summaries of the cases with an event recorded after `since`."""
        subject = _query_subject("changes", since=since, limit=limit, offset=offset)
        caller = gate.admit(claim, subject, CASE_VIEWS)
        page = CasePage(cases=[], limit=limit, offset=offset)
        return gate.list_cases(caller, claim.reason, subject, CaseFilter(changed_since=since), page)


def _audit_routes(app: FastAPI, gate: Gate, identify: Callable[..., Claim]) -> None:
    # Reading is the only route: the trail is append-only, and the API offers no way round that.
    @app.get("/audit", response_model=AuditTrail, responses=_REFUSALS)
    def audit_trail(
        claim: Annotated[Claim, Depends(identify)],
        case_id: Annotated[str | None, Query(pattern=_CASE_ID_PATTERN)] = None,
        user: Annotated[str | None, Query(min_length=1, max_length=_USER_WIDTH)] = None,
    ) -> AuditTrail:
        """The audit records of one case (every route's), or of one user, or all of them."""
        subject = _query_subject("audit", case_id=case_id, user=user)
        caller = gate.admit(claim, subject, AUDIT_READERS)
        return gate.read_trail(caller, claim.reason, subject, case_id, user)


def _health_route(app: FastAPI, engine: Engine) -> None:
    @app.get("/healthz", response_model=Health, responses=_problems(503))
    def healthz() -> Health:
        """Whether the service and its database answer."""
        try:
            with engine.connect() as connection:
                connection.execute(text("SELECT 1"))
        except SQLAlchemyError as error:
            raise _refuse(503, "the database does not answer") from error
        return Health(status="ok")
