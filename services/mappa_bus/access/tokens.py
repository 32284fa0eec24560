"""Verify OpenID Connect access tokens against the issuer's published keys.

PyJWT does the cryptography and the registered-claim checks (signature, `iss`, `aud`, `exp`,
`nbf`); this module says what is acceptable: only the asymmetric algorithms an issuer signs
with (never `none`, never a shared-secret HMAC, whose "key" would be the public JWKS), the
issuer found through its discovery document, and the keys from its `jwks_uri`. A token signed
with a key the cached set lacks makes the client fetch the set again (at most every
`cooldown` seconds), so the issuer can rotate keys without the service restarting.
"""

from __future__ import annotations

import json
import threading
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import jwt

from mappa_bus.access.identity import ClaimNames, ClaimsError, Reader, reader_from_claims

ALGORITHMS: tuple[str, ...] = (
    "RS256",
    "RS384",
    "RS512",
    "PS256",
    "PS384",
    "PS512",
    "ES256",
    "ES384",
)
_TIMEOUT_S = 10.0


class TokenError(Exception):
    """A token that is not accepted; the message says why, naming no secret."""


@dataclass(frozen=True)
class IssuerSettings:
    """Which issuer to trust, for which audience, and where its tokens keep the claims."""

    issuer: str
    audience: str
    claims: ClaimNames = field(default_factory=ClaimNames)
    leeway_s: float = 30.0
    """Clock skew tolerated on `exp` and `nbf`."""
    discovery_url: str | None = None
    """Where this service reads the issuer's discovery document, when it reaches the issuer by
    another address than its public one (inside docker compose, say); None: under the issuer's
    own URL. The document must still name `issuer` as its issuer."""
    jwks_uri: str | None = None
    """Where the keys are; None: from the issuer's discovery document."""
    refresh_cooldown_s: float = 30.0
    """How soon after one fetch of the keys a token with an unknown key may cause another (a
    flood of made-up key ids must not become a flood of requests to the issuer)."""


class TokenVerifier:
    """Verifies access tokens of one issuer. Nothing is fetched until the first token comes, so
    a service starts (and says so) even while its issuer is down; that token is then refused."""

    def __init__(self, settings: IssuerSettings) -> None:
        self.settings = settings
        self._keys: jwt.PyJWKClient | None = None
        self._lock = threading.Lock()

    def verify(self, token: str) -> Reader:
        """The reader `token` vouches for, or `TokenError` saying why it is refused."""
        claims = self.claims(token)
        try:
            return reader_from_claims(claims, self.settings.claims)
        except ClaimsError as error:
            raise TokenError(str(error)) from error

    def claims(self, token: str) -> dict[str, Any]:
        """The verified claims of `token`."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as error:
            raise TokenError("not a signed JWT") from error
        algorithm = header.get("alg")
        if algorithm not in ALGORITHMS:
            raise TokenError(f"tokens signed with {algorithm!r} are not accepted")
        try:
            key = self._key_client().get_signing_key_from_jwt(token)
            return jwt.decode(
                token,
                key=key,
                algorithms=list(ALGORITHMS),
                audience=self.settings.audience,
                issuer=self.settings.issuer,
                leeway=self.settings.leeway_s,
                options={"require": ["exp", "iat", "iss", "aud"]},
            )
        except jwt.ExpiredSignatureError as error:
            raise TokenError("the token has expired") from error
        except jwt.ImmatureSignatureError as error:
            raise TokenError("the token is not valid yet") from error
        except jwt.InvalidAudienceError as error:
            raise TokenError(f"the token is not for {self.settings.audience!r}") from error
        except jwt.InvalidIssuerError as error:
            raise TokenError("the token is from another issuer") from error
        except jwt.InvalidSignatureError as error:
            raise TokenError("the token's signature does not verify") from error
        except jwt.PyJWKClientError as error:
            raise TokenError("the token's signing key is not the issuer's") from error
        except jwt.PyJWTError as error:
            raise TokenError(f"the token is not valid ({type(error).__name__})") from error

    def discovery(self) -> Mapping[str, Any]:
        """The issuer's discovery document (read now)."""
        return discover(self.settings.issuer, self.settings.discovery_url)

    def _key_client(self) -> jwt.PyJWKClient:
        with self._lock:
            if self._keys is None:
                uri = self.settings.jwks_uri or self.discovery()["jwks_uri"]
                self._keys = jwt.PyJWKClient(
                    uri,
                    cache_keys=True,
                    lifespan=300,
                    timeout=_TIMEOUT_S,
                    cooldown_duration=self.settings.refresh_cooldown_s,
                )
            return self._keys


def discover(issuer: str, url: str | None = None) -> Mapping[str, Any]:
    """The issuer's OpenID Connect discovery document (from `url`, else under the issuer's own
    URL); `TokenError` if it cannot be had or is another issuer's."""
    url = url or issuer.rstrip("/") + "/.well-known/openid-configuration"
    if not url.startswith(("https://", "http://")):
        raise TokenError(f"the issuer must be an http(s) URL, not {issuer!r}")
    try:
        with urllib.request.urlopen(url, timeout=_TIMEOUT_S) as response:  # noqa: S310 (checked above)
            document: dict[str, Any] = json.load(response)
    except (OSError, ValueError) as error:
        raise TokenError(f"the issuer's discovery document could not be read ({error})") from error
    if document.get("issuer") != issuer or "jwks_uri" not in document:
        raise TokenError(f"{url} does not describe issuer {issuer!r}")
    return document
