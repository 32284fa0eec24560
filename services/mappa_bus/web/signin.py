"""Signing a person in to a page app: OpenID Connect's authorization-code flow with PKCE, and a
signed session cookie that keeps who they are.

Authlib runs the flow (the redirect to the issuer, `state`, `nonce`, the PKCE verifier kept in
the session, the code exchanged for tokens, the ID token checked); what the session then keeps
is the reader of the *access token*, verified by the app's own `TokenVerifier` (signature,
issuer, audience, expiry) exactly as an API verifies a bearer token. The ID token's claims are
never read for who the person is: it is addressed to the page's client, not to the API.

The cookie is Starlette's `SessionMiddleware` (signed with itsdangerous, HttpOnly, SameSite=lax
so that the issuer's redirect back carries it, `Secure` unless served over loopback http).

`DevelopmentSignIn` (only behind `--insecure-dev-identity`, on loopback) writes the session from
what the person types, and every page says so.
"""

# No `from __future__ import annotations`: FastAPI reads the routes' annotations at runtime.

import secrets
from dataclasses import dataclass
from typing import Annotated, Final, Protocol
from urllib.parse import urlencode

import httpx
import structlog
from authlib.integrations.starlette_client import (  # type: ignore[import-untyped]
    OAuth,
    OAuthError,
)
from fastapi import FastAPI, Query, Request
from fastapi.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import HTTPConnection

from mappa_bus.access.identity import Reader
from mappa_bus.access.tokens import TokenError, TokenVerifier
from mappa_bus.web.identity import (
    INSECURE,
    SESSION_KEY,
    Authenticator,
    BearerTokens,
    DevelopmentHeaders,
    Identity,
    SignedInSessions,
    claimed_reader,
    reader_from_session,
    reader_to_session,
)
from mappa_bus.web.modes import is_loopback

log = structlog.get_logger(__name__)

LOGIN: Final = "/auth/login"
CALLBACK: Final = "/auth/callback"
LOGOUT: Final = "/auth/logout"
SESSION_COOKIE: Final = "mappa_session"
SESSION_MAX_AGE_S: Final = 8 * 60 * 60
"""A working day: after it, the person signs in again (the issuer may still remember them)."""
_NEXT: Final = "next"
_LOGOUT_HINT: Final = "id_token"
_SCOPE: Final = "openid profile"


@dataclass(frozen=True)
class WebClient:
    """The page's client at the issuer, and its session cookie."""

    client_id: str = "mappa-web"
    client_secret: str | None = None
    """For an issuer that made the client confidential; Keycloak's local realm has none."""
    session_secret: str | None = None
    """Signs the cookie; None: random per process (everyone signs in again after a restart)."""
    secure_cookie: bool = True
    """Whether the cookie is sent over https only (false only for loopback http)."""


class SignIn(Protocol):
    """Adds the sign-in routes to an app, and says how the app's APIs identify callers."""

    authenticator: Authenticator
    insecure: bool

    def add_routes(self, app: FastAPI) -> None:
        """`/auth/login`, `/auth/callback`, `/auth/logout`."""
        ...


def signed_in(request: HTTPConnection) -> Reader | None:
    """The reader signed in on `request`'s session, if any."""
    return reader_from_session(request.session.get(SESSION_KEY))


def remember_destination(request: Request) -> None:
    """Keep the page asked for, to go back to it once signed in."""
    request.session[_NEXT] = request.url.path


def _sign_in_as(request: Request, reader: Reader, id_token: str | None = None) -> RedirectResponse:
    """A fresh session holding `reader` (nothing of the session before sign-in carries over,
    so a session planted before cannot be taken over), and back to the page asked for. The
    ID token is kept only to name the session when signing out at the issuer."""
    destination = request.session.get(_NEXT)
    request.session.clear()
    request.session[SESSION_KEY] = reader_to_session(reader)
    if id_token:
        request.session[_LOGOUT_HINT] = id_token
    if not isinstance(destination, str) or not destination.startswith("/"):
        destination = "/"
    if destination.startswith("//"):  # another site, to a browser
        destination = "/"
    return RedirectResponse(destination, status_code=303)


def add_session(app: FastAPI, client: WebClient) -> None:
    """Keep sessions in a signed, HttpOnly, SameSite=lax cookie of `SESSION_MAX_AGE_S`."""
    app.add_middleware(
        SessionMiddleware,
        secret_key=client.session_secret or secrets.token_urlsafe(32),
        session_cookie=SESSION_COOKIE,
        max_age=SESSION_MAX_AGE_S,
        same_site="lax",  # strict would drop the cookie on the issuer's redirect back
        https_only=client.secure_cookie,
    )


class OidcSignIn:
    """Sign-in at the issuer `verifier` trusts, as `client`."""

    insecure = False

    def __init__(self, verifier: TokenVerifier, client: WebClient) -> None:
        self.verifier = verifier
        self.client = client
        self.authenticator: Authenticator = SignedInSessions(BearerTokens(verifier))
        settings = verifier.settings
        # Where this service reads the issuer's metadata (MAPPA_OIDC_DISCOVERY_URL), as its
        # verifier does: inside docker compose the issuer's public address (the browser's,
        # localhost) is not this container's, and the document's token endpoint and keys, which
        # this service fetches, are then at the address the document was read from.
        metadata = settings.discovery_url or (
            settings.issuer.rstrip("/") + "/.well-known/openid-configuration"
        )
        self._oauth = OAuth()
        self._oauth.register(
            name="issuer",
            client_id=client.client_id,
            client_secret=client.client_secret,
            server_metadata_url=metadata,
            client_kwargs={"scope": _SCOPE, "code_challenge_method": "S256"},
        )

    def add_routes(self, app: FastAPI) -> None:
        issuer = self._oauth.create_client("issuer")

        @app.get(LOGIN, include_in_schema=False)
        async def login(request: Request) -> Response:
            """Off to the issuer to sign in; it sends the person back to the callback."""
            try:
                answer: Response = await issuer.authorize_redirect(
                    request, str(request.url_for("auth_callback"))
                )
            except httpx.HTTPError as error:
                return _issuer_unreachable(error)
            return answer

        @app.get(CALLBACK, include_in_schema=False, name="auth_callback")
        async def callback(request: Request) -> Response:
            """The issuer's answer: the code exchanged, the access token verified, signed in."""
            try:
                token = await issuer.authorize_access_token(request)
            except OAuthError as error:
                log.info("a sign-in was refused", error=error.error)
                return _refused(f"the sign-in did not complete ({error.error})")
            except httpx.HTTPError as error:
                return _issuer_unreachable(error)
            try:
                reader = await run_in_threadpool(self.verifier.verify, token["access_token"])
            except (TokenError, KeyError) as error:
                log.warning("the issuer's access token was not accepted", error=str(error))
                return _refused("the issuer's token is not accepted here")
            log.info("signed in", roles=[role.value for role in sorted(reader.roles)])
            id_token = token.get("id_token")
            return _sign_in_as(request, reader, id_token if isinstance(id_token, str) else None)

        @app.get(LOGOUT, include_in_schema=False)
        async def logout(request: Request) -> Response:
            """Signed out here, then at the issuer (when it says how), and back to the page."""
            id_token = request.session.get(_LOGOUT_HINT)
            request.session.clear()
            try:
                metadata = await issuer.load_server_metadata()
            except httpx.HTTPError:
                metadata = {}  # signed out here at least; the issuer's session ends on its own
            end_session = metadata.get("end_session_endpoint")
            if not isinstance(end_session, str):
                return RedirectResponse("/", status_code=303)
            ending = {
                "client_id": self.client.client_id,
                "post_logout_redirect_uri": str(request.base_url),
            }
            if isinstance(id_token, str):
                # The issuer knows then whose session ends, and need not ask to be sure.
                ending["id_token_hint"] = id_token
            query = urlencode(ending)
            return RedirectResponse(f"{end_session}?{query}", status_code=303)


def _issuer_unreachable(error: Exception) -> Response:
    log.warning("the issuer could not be reached", error=type(error).__name__)
    return PlainTextResponse("the sign-in service does not answer; try again shortly", 503)


def _refused(detail: str) -> Response:
    page = f'<p>{detail}.</p><p><a href="{LOGIN}">Sign in again</a></p>'
    return HTMLResponse(page, status_code=400)


class DevelopmentSessions:
    """Development only: the session a person wrote at the development sign-in, else identity
    headers (for scripts)."""

    mode = INSECURE

    def __init__(self) -> None:
        self.headers = DevelopmentHeaders()

    def identify(self, request: HTTPConnection) -> Identity:
        """The reader of the session, else of the headers."""
        reader = signed_in(request) if "session" in request.scope else None
        return Identity(reader) if reader is not None else self.headers.identify(request)


_FORM: Final = """<!doctype html>
<html lang="en-GB"><head><meta charset="utf-8"><title>Development sign-in</title>
<link rel="stylesheet" href="/static/alerts.css"></head><body>
<p class="insecure" role="alert">INSECURE DEVELOPMENT IDENTITY: anyone may say who they are.</p>
<h1>Development sign-in</h1>
<form method="get" action="/auth/login">
<p><label for="user">User</label> <input id="user" name="user" required></p>
<p><label for="role">Role(s), comma-separated</label>
<input id="role" name="role" value="coordinator" required></p>
<p><label for="area">Area(s), comma-separated, or national</label>
<input id="area" name="area" value="national" required></p>
<p><button type="submit">Sign in</button></p>
</form></body></html>
"""


class DevelopmentSignIn:
    """Development only (`--insecure-dev-identity`, loopback only): whoever the person says."""

    insecure = True

    def __init__(self) -> None:
        self.authenticator: Authenticator = DevelopmentSessions()

    def add_routes(self, app: FastAPI) -> None:
        @app.get(LOGIN, include_in_schema=False)
        async def login(
            request: Request,
            user: Annotated[str | None, Query(max_length=128)] = None,
            role: Annotated[str | None, Query(max_length=256)] = None,
            area: Annotated[str | None, Query(max_length=512)] = None,
        ) -> Response:
            """The form, or (filled in) signed in as what it says."""
            client = request.client
            if client is None or not is_loopback(client.host):
                return PlainTextResponse("development sign-in is for this machine only", 403)
            if not user or not user.strip() or not role:
                return HTMLResponse(_FORM)
            return _sign_in_as(request, claimed_reader(user.strip(), role, area))

        @app.get(LOGOUT, include_in_schema=False)
        async def logout(request: Request) -> Response:
            """Signed out."""
            request.session.clear()
            return RedirectResponse(LOGIN, status_code=303)


def sign_in_for(authenticator: Authenticator, client: WebClient) -> SignIn:
    """How people sign in to a page app whose APIs `authenticator` (from `http_authenticator`)
    would guard: at its issuer, or in development mode as whoever they say."""
    if isinstance(authenticator, BearerTokens):
        return OidcSignIn(authenticator.verifier, client)
    if isinstance(authenticator, SignedInSessions):
        return OidcSignIn(authenticator.bearer.verifier, client)
    if authenticator.mode == INSECURE:
        return DevelopmentSignIn()
    raise ValueError(f"no sign-in for identity mode {authenticator.mode!r}")
