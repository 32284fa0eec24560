"""The case-picture query API: each role's view of a case, and every request audited.

Who is calling comes from an OpenID Connect access token (`Authorization: Bearer`), verified
against the issuer's keys; its claims give the reader's name, roles and areas
(`mappa_bus.web.identity`). A reader with several roles picks one in `X-Mappa-Role`. Every route
that returns case data wants a reason in `X-Mappa-Reason` (10 to 500 readable characters).

Every request that reaches a route leaves one record in the audit trail: reads with the case ids
they returned, refusals (400, 401, 403, 404, 422) with the status answered. A request that
offers no identity at all (no token, no identity header) is refused unrecorded: it is nobody's
attempt, and recording it would let any web page grow the trail. A case outside the reader's
areas is answered exactly as a case that does not exist.
"""

# No `from __future__ import annotations`: FastAPI reads the routes' annotations at runtime,
# and they name dependencies local to `create_app`.

import re
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, date, datetime
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Header, Path, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.security import HTTPBearer
from pydantic import AfterValidator, AwareDatetime, BaseModel, BeforeValidator, ConfigDict
from sqlalchemy import Engine, text
from sqlalchemy.exc import SQLAlchemyError

from mappa_bus import audit
from mappa_bus.access.admission import REASON_HEADER, ROLE_HEADER
from mappa_bus.access.policy import (
    AUDIT_READERS,
    CASE_VIEWS,
    LIST_READERS,
    MAX_REASON_LENGTH,
    MIN_REASON_LENGTH,
    OVERDUE_READERS,
    PLAN_READERS,
    FieldGroup,
    ViewerRole,
)
from mappa_bus.agencies import Agency
from mappa_bus.case.model import Status, TimelineEntry
from mappa_bus.catalogue import CASE_ID_PATTERN, Area
from mappa_bus.catalogue.vocabulary import Category, Level
from mappa_bus.picture.gate import Attempt, Gate, Problem, Refusal, refusal
from mappa_bus.picture.store import CaseFilter
from mappa_bus.picture.views import (
    CaseAsKnownAt,
    CasePlan,
    CaseSummary,
    CaseView,
    OverdueAction,
    as_known_at_view,
    known_then,
    plan_of,
    summary_of,
    view_of,
)
from mappa_bus.web.hosts import LOOPBACK
from mappa_bus.web.identity import (
    AREA_HEADER,
    USER_HEADER,
    Authenticator,
    InsecureMarker,
)
from mappa_bus.web.security import secure

MAX_PAGE = 500
_MAX_OFFSET = 2**31 - 1  # what both databases take as a row offset


_RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})")


def _rfc3339(value: object) -> object:
    # Pydantic would also take a number of seconds since 1970, or a date alone: the document
    # promises RFC 3339, so anything else is refused rather than guessed at.
    if not isinstance(value, str) or not _RFC3339.fullmatch(value):
        raise ValueError("give an RFC 3339 date-time with its offset, e.g. 2024-05-01T12:00:00Z")
    return value


_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _iso_date(value: object) -> object:
    # As for moments: pydantic would take a number of seconds since 1970 as a date too.
    if not isinstance(value, str) or not _ISO_DATE.fullmatch(value):
        raise ValueError("give an ISO 8601 date, e.g. 2024-05-01")
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
Day = Annotated[date, BeforeValidator(_iso_date)]
CaseId = Annotated[str, Path(pattern=CASE_ID_PATTERN, description="Pseudonymous case id.")]
Limit = Annotated[int, Query(ge=1, le=MAX_PAGE, description="Page size.")]
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


class OverduePage(BaseModel):
    """The overdue plan actions of one page of cases (earliest due first, then case id): every
    open action past its due date in force that the caller's role may see. A page of `limit`
    cases may list fewer actions (an agency sees its own only); `next_offset` is where the next
    page starts, None when there is none."""

    model_config = ConfigDict(frozen=True)

    today: date
    actions: list[OverdueAction]
    limit: int
    offset: int
    next_offset: int | None


class AuditEntry(BaseModel):
    """One record of the audit trail."""

    model_config = ConfigDict(frozen=True)

    id: int
    at: Annotated[datetime, AfterValidator(_assume_utc)]
    user: str
    role: str
    areas: str
    subject: str
    cases: tuple[str, ...]
    reason: str
    outcome: str
    status: int | None


class AuditTrail(BaseModel):
    """A page of audit records, oldest first; `next_after` fetches the next page."""

    model_config = ConfigDict(frozen=True)

    records: list[AuditEntry]
    next_after: int | None


class Health(BaseModel):
    """The service answers and its database does."""

    status: str


_WHY = {
    400: "No reason given, or one too short or too long.",
    401: "No valid access token (or signed-in session).",
    403: "The role may not read this, or the reader does not hold the role.",
    404: "The bus has no event of this case that the caller may see.",
    503: "The database does not answer.",
}


def _problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The `responses=` a route documents for its refusals (422 FastAPI adds itself)."""
    return {status: {"model": Problem, "description": _WHY[status]} for status in statuses}


_REFUSALS = _problems(400, 401, 403)
_CASE_REFUSALS = _problems(400, 401, 403, 404)


def _subject(request: Request) -> str:
    """What a request asked for, as the trail keeps it: method, path and query."""
    query = request.url.query
    return f"{request.method} {request.url.path}" + (f"?{query}" if query else "")


Reason = Annotated[
    str | None,
    Header(
        alias=REASON_HEADER,
        description=f"Why you read this ({MIN_REASON_LENGTH} to {MAX_REASON_LENGTH} readable "
        "characters); audited.",
    ),
]
RoleChoice = Annotated[
    str | None,
    Header(
        alias=ROLE_HEADER,
        description="The role you read in, when your identity holds several: "
        + ", ".join(ViewerRole),
    ),
]


def _text(header: str | None) -> str | None:
    """A header as the sender wrote it: HTTP hands over bytes, which Starlette reads as Latin-1;
    a client sending UTF-8 (every browser, curl) meant UTF-8."""
    if header is None:
        return None
    try:
        return header.encode("latin-1").decode("utf-8")
    except UnicodeError:
        return header


def _attempt_dependency(authenticator: Authenticator) -> Callable[..., Attempt]:
    """The dependency every route starts with: who is calling and what they ask."""
    if authenticator.mode == "oidc":
        bearer = HTTPBearer(
            auto_error=False,
            description="An OpenID Connect access token from the configured issuer.",
        )

        def attempt(
            request: Request,
            _token: Annotated[object, Depends(bearer)],
            role: RoleChoice = None,
            reason: Reason = None,
        ) -> Attempt:
            identity = authenticator.identify(request)
            return Attempt(identity, _text(role), _text(reason), _subject(request))

        return attempt

    def development_attempt(
        request: Request,
        role: RoleChoice = None,
        reason: Reason = None,
        _user: Annotated[
            str | None, Header(alias=USER_HEADER, description="Development only: who you are.")
        ] = None,
        _area: Annotated[
            str | None,
            Header(alias=AREA_HEADER, description="Development only: your areas (or national)."),
        ] = None,
    ) -> Attempt:
        identity = authenticator.identify(request)
        return Attempt(identity, _text(role), _text(reason), _subject(request))

    return development_attempt


# ---- the application ----------------------------------------------------------------------


def case_api_for(engine: Engine) -> Callable[[Authenticator, Sequence[str]], FastAPI]:
    """What makes the API over `engine`'s store for a given authenticator and hosts: for a
    page that mounts the case API under its own sign-in (the alerts page)."""

    def case_api(authenticator: Authenticator, hosts: Sequence[str]) -> FastAPI:
        return create_app(engine, authenticator, hosts=hosts)

    return case_api


def create_app(
    engine: Engine, authenticator: Authenticator, *, hosts: Sequence[str] = LOOPBACK
) -> FastAPI:
    """The API over the pictures (and audit trail) in `engine`'s database, answering `hosts`,
    identifying callers with `authenticator`."""
    # No /docs: Swagger UI would come from a public CDN onto the origin of case data.
    insecure = authenticator.mode != "oidc"
    app = FastAPI(
        title="MAPPA Bus case pictures" + (" (INSECURE DEVELOPMENT IDENTITY)" if insecure else ""),
        version="1",
        description=__doc__,
        docs_url=None,
        redoc_url=None,
    )
    gate = Gate(engine)
    attempt = _attempt_dependency(authenticator)
    app.add_exception_handler(Refusal, _refusal_response)
    app.add_exception_handler(RequestValidationError, _invalid_request(gate, authenticator))
    _case_routes(app, gate, attempt)
    _list_routes(app, gate, attempt)
    _audit_routes(app, gate, attempt)
    _health_route(app, engine)
    secure(app, hosts)
    if insecure:
        app.add_middleware(InsecureMarker)
    return app


def _refusal_response(_request: Request, error: Exception) -> Response:
    assert isinstance(error, Refusal)  # registered for Refusal only
    return JSONResponse(error.problem.model_dump(exclude_none=True), status_code=error.status)


def _invalid_request(
    gate: Gate, authenticator: Authenticator
) -> Callable[[Request, Exception], Awaitable[Response]]:
    async def invalid(request: Request, error: Exception) -> Response:
        assert isinstance(error, RequestValidationError)  # registered for it only
        identity = authenticator.identify(request)
        attempt = Attempt(
            identity,
            _text(request.headers.get(ROLE_HEADER)),
            _text(request.headers.get(REASON_HEADER)),
            _subject(request),
        )
        if identity.presented:
            gate.record(attempt, 422, "refused")
        details = [
            {
                "loc": list(item.get("loc", ())),
                "msg": str(item.get("msg", "")),
                "type": str(item.get("type", "")),
            }
            for item in error.errors()
        ]
        return JSONResponse({"detail": details}, status_code=422)

    return invalid


def _case_routes(app: FastAPI, gate: Gate, attempt: Callable[..., Attempt]) -> None:
    @app.get("/cases/{case_id}", response_model=CaseView, responses=_CASE_REFUSALS)
    def case(case_id: CaseId, asked: Annotated[Attempt, Depends(attempt)]) -> CaseView:
        """The case as the caller's role may see it."""
        caller, reason = gate.admit(asked, CASE_VIEWS)
        return view_of(gate.read_case(asked, caller, reason, case_id), caller.role)

    @app.get("/cases/{case_id}/timeline", response_model=CaseTimeline, responses=_CASE_REFUSALS)
    def timeline(case_id: CaseId, asked: Annotated[Attempt, Depends(attempt)]) -> CaseTimeline:
        """The case's events of the sections the caller's role may see, in time order."""
        caller, reason = gate.admit(asked, CASE_VIEWS)
        view = view_of(gate.read_case(asked, caller, reason, case_id), caller.role)
        return CaseTimeline(
            case_id=case_id, role=view.role, withheld=view.withheld, timeline=view.timeline
        )

    @app.get("/cases/{case_id}/as-known-at", response_model=CaseAsKnownAt, responses=_CASE_REFUSALS)
    def known_at(
        case_id: CaseId,
        at: Annotated[Moment, Query(description="RFC 3339 moment, with its offset.")],
        asked: Annotated[Attempt, Depends(attempt)],
    ) -> CaseAsKnownAt:
        """The case as the bus knew it at `at`, as far as the caller's role may learn it (the
        state when the latest event it may see had been recorded), and what each agency had
        shared of it: what a decision then was based on."""
        caller, reason = gate.admit(asked, CASE_VIEWS)

        def then(picture: Any) -> Any:
            return known_then(picture, at, caller.role)

        past = gate.read_case(asked, caller, reason, case_id, then, at=at)
        return as_known_at_view(past, caller.role, at)

    @app.get("/cases/{case_id}/plan", response_model=CasePlan, responses=_CASE_REFUSALS)
    def plan(case_id: CaseId, asked: Annotated[Attempt, Depends(attempt)]) -> CasePlan:
        """The case's risk assessments and risk management plan as the caller's role may see
        them: a Duty to Co-operate agency sees its own actions only."""
        caller, reason = gate.admit(asked, PLAN_READERS)
        return plan_of(gate.read_case(asked, caller, reason, case_id), caller.role)


def _list_routes(app: FastAPI, gate: Gate, attempt: Callable[..., Attempt]) -> None:
    @app.get("/cases", response_model=CasePage, responses=_REFUSALS)
    def cases(
        asked: Annotated[Attempt, Depends(attempt)],
        area: Area | None = None,
        level: Level | None = None,
        category: Category | None = None,
        status: Status | None = None,
        limit: Limit = 100,
        offset: Offset = 0,
    ) -> CasePage:
        """Summaries of the cases in the caller's areas matching every filter given: a
        caseload, for the roles that manage cases."""
        caller, reason = gate.admit(asked, LIST_READERS)
        where = CaseFilter(area=area, level=level, category=category, status=status)
        pictures = gate.list_cases(asked, caller, reason, where, limit, offset)
        summaries = [summary_of(picture, caller.role) for picture in pictures]
        return CasePage(cases=summaries, limit=limit, offset=offset)

    @app.get("/changes", response_model=CasePage, responses=_REFUSALS)
    def changes(
        asked: Annotated[Attempt, Depends(attempt)],
        since: Annotated[Moment, Query(description="RFC 3339 moment, with its offset.")],
        limit: Limit = 100,
        offset: Offset = 0,
    ) -> CasePage:
        """Summaries of the cases in the caller's areas with an event recorded after `since`."""
        caller, reason = gate.admit(asked, LIST_READERS)
        where = CaseFilter(changed_since=since)
        pictures = gate.list_cases(asked, caller, reason, where, limit, offset)
        summaries = [summary_of(picture, caller.role) for picture in pictures]
        return CasePage(cases=summaries, limit=limit, offset=offset)

    @app.get("/overdue-actions", response_model=OverduePage, responses=_REFUSALS)
    def overdue_actions(
        asked: Annotated[Attempt, Depends(attempt)],
        today: Annotated[
            Day | None, Query(description="The day to judge by (ISO date); today in UTC if none.")
        ] = None,
        owner: Annotated[Agency | None, Query(description="Only this agency's actions.")] = None,
        limit: Limit = 100,
        offset: Annotated[
            int, Query(ge=0, le=_MAX_OFFSET, description="Cases to skip (due-date order).")
        ] = 0,
    ) -> OverduePage:
        """The open plan actions past their due date in force, in the caller's areas: every
        one for the coordinator and the Responsible Authority, an agency's own for a Duty to
        Co-operate agency."""
        caller, reason = gate.admit(asked, OVERDUE_READERS)
        day = today or datetime.now(UTC).date()
        actions, more = gate.list_overdue(asked, caller, reason, day, owner, limit, offset)
        following = offset + limit if more and offset + limit <= _MAX_OFFSET else None
        return OverduePage(
            today=day, actions=actions, limit=limit, offset=offset, next_offset=following
        )


def _audit_routes(app: FastAPI, gate: Gate, attempt: Callable[..., Attempt]) -> None:
    # Reading is the only route: the trail is append-only, and the API offers no way round that.
    @app.get("/audit", response_model=AuditTrail, responses=_REFUSALS)
    def audit_trail(
        asked: Annotated[Attempt, Depends(attempt)],
        case_id: Annotated[str | None, Query(pattern=CASE_ID_PATTERN)] = None,
        user: Annotated[str | None, Query(min_length=1, max_length=1_000)] = None,
        after: Annotated[int, Query(ge=0, le=_MAX_OFFSET, description="Last id seen.")] = 0,
        limit: Annotated[int, Query(ge=1, le=audit.MAX_PAGE)] = 100,
    ) -> AuditTrail:
        """A page of the audit records naming one case, or of one user, or all of them."""
        caller, reason = gate.admit(asked, AUDIT_READERS)
        records = gate.read_trail(
            asked, caller, reason, case_id=case_id, user=user, after=after, limit=limit
        )
        entries = [AuditEntry.model_validate(record.__dict__) for record in records]
        last = entries[-1].id if len(entries) == limit else None
        return AuditTrail(records=entries, next_after=last)


def _health_route(app: FastAPI, engine: Engine) -> None:
    @app.get("/healthz", response_model=Health, responses=_problems(503))
    def healthz() -> Health:
        """Whether the service and its database answer."""
        try:
            with engine.connect() as connection:
                connection.execute(text("SELECT 1"))
        except SQLAlchemyError as error:
            raise refusal(503, "the database does not answer") from error
        return Health(status="ok")
