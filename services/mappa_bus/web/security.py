"""One security policy for every HTTP app of the bus: which hosts and origins it answers, and
the headers on every response it sends, error responses included.

Hosts: a page of another site whose name is rebound to 127.0.0.1 (DNS rebinding) is
same-origin with a server on loopback, so it could read what the server answers; a server that
answers only the names it is known by (`Host`) defeats that. The port is not part of the check:
the names are what a rebinding attack changes.

Origins: a request that changes something and says where it comes from (`Origin`, which every
browser sends with a POST) must come from a page of an allowed host. A client without one (a
script, `curl`) is not a browser page, and the routes' own intent header covers the rest.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from fastapi import FastAPI, Request
from fastapi.responses import PlainTextResponse, Response
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mappa_bus.web.hosts import LOOPBACK, origin_allowed

# Nothing cached (the pages and answers hold OFFICIAL-SENSITIVE content), scripts and styles
# from this origin only, never framed, no referrer sent elsewhere, no type guessed.
HEADERS: Final = (
    (b"cache-control", b"no-store"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (
        b"content-security-policy",
        b"default-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
    ),
)
_SAFE_METHODS: Final = frozenset({"GET", "HEAD", "OPTIONS"})


class _OriginCheck:
    """Refuses a state-changing request whose `Origin` is not a page of an allowed host."""

    def __init__(self, app: ASGIApp, hosts: Sequence[str]) -> None:
        self.app = app
        self.hosts = tuple(hosts)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] not in _SAFE_METHODS:
            origin = Request(scope).headers.get("origin")
            if origin is not None and not origin_allowed(origin, self.hosts):
                refusal = PlainTextResponse("requests from this origin are refused", 403)
                await refusal(scope, receive, send)
                return
        await self.app(scope, receive, send)


class SecurityHeaders:
    """Adds `HEADERS` to every HTTP response passing through that does not set its own."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", [])}
                extra = [header for header in HEADERS if header[0] not in present]
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        await self.app(scope, receive, with_headers)


async def _server_error(_request: Request, _error: Exception) -> Response:
    # Starlette answers an unhandled error outside every middleware an app adds, so the
    # headers go on this answer here.
    headers = {name.decode(): value.decode() for name, value in HEADERS}
    return PlainTextResponse("Internal Server Error", 500, headers=headers)


def secure(app: FastAPI, hosts: Sequence[str] = LOOPBACK) -> None:
    """Apply the policy to `app`: only `hosts` answered (checked before any route, so also
    before a slash redirect, which would echo the Host), state-changing requests only from
    their pages, `HEADERS` on every response. Call it once, after adding any other middleware
    (the policy must be the outermost)."""
    app.add_middleware(_OriginCheck, hosts=hosts)
    app.add_middleware(TrustedHostMiddleware, allowed_hosts=list(hosts), www_redirect=False)
    app.add_middleware(SecurityHeaders)
    app.add_exception_handler(Exception, _server_error)
