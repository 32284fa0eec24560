"""Who is calling an HTTP app: an OpenID Connect access token (or the session a person signed in
with), and nothing a caller can merely say.

An app is given one `Authenticator`:
- `BearerTokens`: `Authorization: Bearer <access token>`, verified against the issuer;
- `SignedInSessions`: the alerts page's session, made at sign-in from a verified token, with
  `BearerTokens` as the fallback for machine clients of the same app;
- `DevelopmentHeaders`: `X-Mappa-User`, `X-Mappa-Role` and `X-Mappa-Area` believed as they come,
  only for development behind `--insecure-dev-identity`, and then marked on every response.

Whatever the mode, a reader with several roles picks the one they read in with `X-Mappa-Role`;
it can only narrow to a role the issuer granted.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final, Protocol

from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mappa_bus.access.admission import ROLE_HEADER
from mappa_bus.access.identity import NATIONAL, Reader
from mappa_bus.access.policy import known_role
from mappa_bus.access.tokens import TokenError, TokenVerifier
from mappa_bus.catalogue import Area

USER_HEADER: Final = "X-Mappa-User"
AREA_HEADER: Final = "X-Mappa-Area"
AUTHORIZATION_HEADER: Final = "Authorization"
IDENTITY_MODE_HEADER: Final = "X-Mappa-Identity"
INSECURE: Final = "insecure-development"
SESSION_KEY: Final = "reader"
_CLAIMED = (USER_HEADER.lower(), AREA_HEADER.lower(), AUTHORIZATION_HEADER.lower())


@dataclass(frozen=True)
class Identity:
    """What a request established about who sent it."""

    reader: Reader | None
    problem: str | None = None
    """Why no reader was established."""
    presented: bool = True
    """Whether the request offered any identity at all (a token, a session, identity headers):
    a bare request is nobody's attempt, and is refused without a record in the trail."""


class Authenticator(Protocol):
    """Establishes who sent a request."""

    mode: str

    def identify(self, request: HTTPConnection) -> Identity:
        """The identity `request` establishes."""
        ...


def _offered(request: HTTPConnection) -> bool:
    return any(name in request.headers for name in _CLAIMED)


class BearerTokens:
    """Identity from an OpenID Connect access token in the Authorization header."""

    mode = "oidc"

    def __init__(self, verifier: TokenVerifier) -> None:
        self.verifier = verifier

    def identify(self, request: HTTPConnection) -> Identity:
        """The token's reader, or why there is none."""
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            problem = "send an OpenID Connect access token: Authorization: Bearer <token>"
            return Identity(None, problem, presented=_offered(request))
        try:
            return Identity(self.verifier.verify(token.strip()))
        except TokenError as error:
            return Identity(None, str(error))


class SignedInSessions:
    """The reader a person signed in as (kept in the app's signed session cookie), else the
    bearer token a machine client sends."""

    mode = "oidc"

    def __init__(self, bearer: BearerTokens) -> None:
        self.bearer = bearer

    def identify(self, request: HTTPConnection) -> Identity:
        """The signed-in reader, or the token's, or why there is none."""
        stored = request.session.get(SESSION_KEY) if "session" in request.scope else None
        reader = None if stored is None else reader_from_session(stored)
        return Identity(reader) if reader is not None else self.bearer.identify(request)


def reader_to_session(reader: Reader) -> dict[str, object]:
    """`reader` as the session keeps it (JSON)."""
    areas = [NATIONAL] if reader.areas is None else sorted(reader.areas)
    return {"user": reader.user, "roles": sorted(reader.roles), "areas": areas}


def reader_from_session(stored: object) -> Reader | None:
    """The reader a session holds; None for anything else."""
    if not isinstance(stored, dict):
        return None
    user, roles, areas = stored.get("user"), stored.get("roles"), stored.get("areas")
    if not isinstance(user, str) or not isinstance(roles, list) or not isinstance(areas, list):
        return None
    return Reader(
        user=user,
        roles=frozenset(role for r in roles if (role := known_role(str(r))) is not None),
        areas=None if NATIONAL in areas else frozenset(areas_named(areas)),
    )


class DevelopmentHeaders:
    """Development only: the caller's own word, from headers. Areas default to every area."""

    mode = INSECURE

    def identify(self, request: HTTPConnection) -> Identity:
        """The reader the headers claim to be."""
        user = request.headers.get(USER_HEADER)
        role = request.headers.get(ROLE_HEADER)
        if not user or not role:
            problem = f"development mode: say who you are in {USER_HEADER} and {ROLE_HEADER}"
            return Identity(None, problem, presented=_offered(request) or bool(role))
        return Identity(claimed_reader(user, role, request.headers.get(AREA_HEADER)))


def claimed_reader(user: str, roles: str, areas: str | None) -> Reader:
    """Development only: the reader someone claims to be, from comma-separated roles and
    areas (none given: every area)."""
    granted = frozenset(r for part in roles.split(",") if (r := known_role(part.strip())))
    claimed = [part.strip() for part in (areas or NATIONAL).split(",")]
    scoped = None if NATIONAL in claimed else frozenset(areas_named(claimed))
    return Reader(user=user, roles=granted, areas=scoped)


def areas_named(values: Sequence[object]) -> list[Area]:
    found = []
    for value in values:
        try:
            found.append(Area(str(value)))
        except ValueError:
            continue
    return found


class InsecureMarker:
    """Marks every response of an app in development identity mode, errors included, so no one
    mistakes it for a deployed service."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def marked(message: Message) -> None:
            if message["type"] == "http.response.start":
                header = (IDENTITY_MODE_HEADER.lower().encode(), INSECURE.encode())
                message["headers"] = [*message.get("headers", []), header]
            await send(message)

        await self.app(scope, receive, marked if scope["type"] == "http" else send)
