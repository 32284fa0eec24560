"""A small OpenID Connect issuer for tests that need tokens without Keycloak's start-up time:
a real HTTP server on a free loopback port serving a discovery document and a JWKS, and RSA keys
that sign real JWTs. The API verifies them exactly as it verifies Keycloak's (tests against the
local Keycloak, in tests/integration, cover the real issuer)."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

AUDIENCE = "mappa-api"


@dataclass
class LocalIssuer:
    """An issuer at `url` whose current signing key is the last of `keys`."""

    url: str
    keys: list[tuple[str, rsa.RSAPrivateKey]] = field(default_factory=list)

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


def _handler(issuer: LocalIssuer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path.endswith("/.well-known/openid-configuration"):
                body = {"issuer": issuer.url, "jwks_uri": f"{issuer.url}/certs"}
            elif self.path.endswith("/certs"):
                body = issuer.jwks()
            else:
                self.send_error(404)
                return
            data = json.dumps(body).encode()
            self.send_response(200)
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
