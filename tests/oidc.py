"""A small OpenID Connect issuer for tests that need tokens without Keycloak's start-up time:
a real HTTP server on a free loopback port serving a discovery document and a JWKS, and RSA keys
that sign real JWTs. The API verifies them exactly as it verifies Keycloak's (tests against the
local Keycloak, in tests/integration, cover the real issuer).

For sign-in, a token endpoint redeems codes a test grants (`grant_code`) for the claims it
chose, checking the PKCE verifier against the challenge the page sent; there is no login form
(the test plays the browser and takes the code straight to the page's callback)."""

from __future__ import annotations

import base64
import hashlib
import json
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

AUDIENCE = "mappa-api"


@dataclass
class LocalIssuer:
    """An issuer at `url` whose current signing key is the last of `keys`."""

    url: str
    keys: list[tuple[str, rsa.RSAPrivateKey]] = field(default_factory=list)
    codes: dict[str, tuple[str, str, str, dict[str, Any]]] = field(default_factory=dict)
    """Per code granted: the PKCE challenge, nonce and client it was for, and the token claims."""
    backchannel: str | None = None
    """Where services reach it when that is not `url` (as Keycloak's
    --hostname-backchannel-dynamic answers inside docker compose): its discovery document then
    names the token endpoint and keys there, and the browser's endpoints at `url`."""

    def rotate(self) -> str:
        """Add a new signing key (published beside the old ones); its key id."""
        kid = uuid.uuid4().hex[:12]
        self.keys.append((kid, rsa.generate_private_key(public_exponent=65537, key_size=2048)))
        return kid

    def retire_all_but_newest(self) -> None:
        """Stop publishing every key but the newest."""
        del self.keys[:-1]

    def jwks(self) -> dict[str, Any]:
        """The published key set."""
        published = []
        for kid, key in self.keys:
            jwk = json.loads(RSAAlgorithm.to_jwk(key.public_key()))
            published.append({**jwk, "kid": kid, "use": "sig", "alg": "RS256"})
        return {"keys": published}

    def token(
        self,
        user: str = "pat",
        roles: list[str] | str = "police",
        areas: list[str] | None = None,
        *,
        lifetime_s: int = 300,
        **overrides: Any,
    ) -> str:
        """An access token as the issuer would sign it; `overrides` replace or add claims
        (`None` removes one)."""
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self.url,
            "aud": AUDIENCE,
            "sub": str(uuid.uuid5(uuid.NAMESPACE_URL, user)),
            "preferred_username": user,
            "iat": now,
            "nbf": now,
            "exp": now + lifetime_s,
            "mappa_roles": [roles] if isinstance(roles, str) else roles,
            "mappa_areas": areas if areas is not None else ["kent"],
        }
        claims.update(overrides)
        claims = {name: value for name, value in claims.items() if value is not None}
        kid, key = self.keys[-1]
        return jwt.encode(claims, key, algorithm="RS256", headers={"kid": kid})

    def grant_code(self, challenge: str, nonce: str, client_id: str, **claims: Any) -> str:
        """A code the token endpoint redeems once, for the verifier of `challenge` (S256), with
        an ID token for `client_id` carrying `nonce` and an access token of `claims` (as
        `token` takes them)."""
        code = uuid.uuid4().hex
        self.codes[code] = (challenge, nonce, client_id, claims)
        return code

    def redeem(self, form: dict[str, str]) -> dict[str, Any] | None:
        """The token endpoint's answer to `form`, or None for a refused grant."""
        granted = self.codes.pop(form.get("code", ""), None)
        if granted is None or form.get("grant_type") != "authorization_code":
            return None
        challenge, nonce, client_id, claims = granted
        verifier = form.get("code_verifier", "").encode()
        digest = base64.urlsafe_b64encode(hashlib.sha256(verifier).digest()).rstrip(b"=")
        if digest.decode() != challenge or form.get("client_id") != client_id:
            return None
        id_token = self.token(aud=client_id, nonce=nonce, mappa_roles=None, mappa_areas=None)
        return {
            "access_token": self.token(**claims),
            "id_token": id_token,
            "token_type": "Bearer",
            "expires_in": 300,
        }

    def discovery(self) -> dict[str, Any]:
        """The discovery document."""
        served = self.backchannel or self.url
        return {
            "issuer": self.url,
            "jwks_uri": f"{served}/certs",
            "authorization_endpoint": f"{self.url}/auth",
            "token_endpoint": f"{served}/token",
            "id_token_signing_alg_values_supported": ["RS256"],
        }


def _handler(issuer: LocalIssuer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path.endswith("/.well-known/openid-configuration"):
                self._answer(200, issuer.discovery())
            elif self.path.endswith("/certs"):
                self._answer(200, issuer.jwks())
            else:
                self.send_error(404)

        def do_POST(self) -> None:
            if not self.path.endswith("/token"):
                self.send_error(404)
                return
            length = int(self.headers.get("content-length", "0"))
            form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
            answer = issuer.redeem(form)
            if answer is None:
                self._answer(400, {"error": "invalid_grant"})
            else:
                self._answer(200, answer)

        def _answer(self, status: int, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *_args: object) -> None:
            return

    return Handler


def serve_issuer() -> Iterator[LocalIssuer]:
    """Run an issuer on a free loopback port until the generator is closed."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    issuer = LocalIssuer(f"http://127.0.0.1:{server.server_address[1]}/realms/test")
    issuer.rotate()
    server.RequestHandlerClass = _handler(issuer)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield issuer
    finally:
        server.shutdown()
        server.server_close()
