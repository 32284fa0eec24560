"""How a service or command learns who its caller is, from the settings and the operator's
explicit choice: an OpenID Connect issuer, or (only when asked for, and only on loopback)
development identity from headers or options."""

from __future__ import annotations

import ipaddress

from mappa_bus.access.tokens import TokenError, TokenVerifier
from mappa_bus.settings import Settings
from mappa_bus.web.identity import (
    Authenticator,
    BearerTokens,
    DevelopmentHeaders,
    Identity,
    claimed_reader,
)

NO_ISSUER = (
    "no OpenID Connect issuer is configured, and no reader may be taken on their word. Set "
    "MAPPA_OIDC_ISSUER to the issuer's URL (locally: `deploy/keycloak/keycloak-local start`, "
    "then MAPPA_OIDC_ISSUER=http://127.0.0.1:8180/realms/mappa; see docs/runbook.md, Identity), "
    "or pass --insecure-dev-identity to develop on loopback with identity headers."
)


class IdentityConfigError(RuntimeError):
    """The service cannot know who its callers are as configured."""


def is_loopback(host: str) -> bool:
    """Whether `host` (an address to bind or a name) is this machine only."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def http_authenticator(settings: Settings, *, insecure: bool, host: str) -> Authenticator:
    """The authenticator an HTTP service bound to `host` uses."""
    if insecure:
        if not is_loopback(host):
            raise IdentityConfigError(
                f"--insecure-dev-identity serves loopback only, not {host!r}: anyone who can "
                "reach the port could claim any identity"
            )
        return DevelopmentHeaders()
    issuer = settings.issuer()
    if issuer is None:
        raise IdentityConfigError(NO_ISSUER)
    return BearerTokens(TokenVerifier(issuer))


def command_identity(
    settings: Settings,
    *,
    token: str | None,
    insecure: bool,
    user: str | None,
    roles: str | None,
    areas: str | None,
) -> Identity:
    """Who runs a command that reads case-level data: the reader of an access token verified
    against the issuer, or, with `insecure`, the user, roles and areas the options give."""
    if insecure:
        if not user or not roles:
            return Identity(None, "development identity: give --user and --as")
        return Identity(claimed_reader(user, roles, areas))
    issuer = settings.issuer()
    if issuer is None:
        raise IdentityConfigError(NO_ISSUER)
    if not token:
        return Identity(None, "give an access token (--token or MAPPA_ACCESS_TOKEN)")
    try:
        return Identity(TokenVerifier(issuer).verify(token))
    except TokenError as error:
        return Identity(None, str(error))
