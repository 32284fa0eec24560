"""A real OpenID Connect issuer for the tests: Keycloak with the realm `mappa`.

`KEYCLOAK_ISSUER` (with `MAPPA_TEST_KEYCLOAK_CREDENTIALS`, the path of its credentials file)
names one already running; otherwise `LocalKeycloak` runs the project's `deploy/keycloak/
keycloak-local` on free ports chosen at run time, with a data dir of the session's own.
"""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from tests.ports import free_ports

REPO = Path(__file__).resolve().parent.parent
KEYCLOAK_LOCAL = REPO / "deploy" / "keycloak" / "keycloak-local"
AUDIENCE = "mappa-api"
WEB_CLIENT_ID = "mappa-web"
SERVICE_CLIENT_ID = "mappa-analyst-service"


class KeycloakUnavailable(Exception):
    """No Keycloak could be had for the tests (the reason is the message)."""


@dataclass(frozen=True)
class KeycloakUnderTest:
    """The session's issuer, its realm users' passwords, and tokens from it.

    `local` is the keycloak-local instance this session started, None for one given by
    `KEYCLOAK_ISSUER`.
    """

    issuer: str
    credentials_path: Path
    token_endpoint: str
    jwks_uri: str
    local: LocalKeycloak | None = None
    audience: str = AUDIENCE
    web_client_id: str = WEB_CLIENT_ID

    @classmethod
    def discover(
        cls, issuer: str, credentials_path: Path, local: LocalKeycloak | None = None
    ) -> KeycloakUnderTest:
        """Read the endpoints from the issuer's discovery document."""
        document = discovery(issuer)
        return cls(
            issuer=issuer,
            credentials_path=credentials_path,
            token_endpoint=document["token_endpoint"],
            jwks_uri=document["jwks_uri"],
            local=local,
        )

    def credentials(self) -> dict[str, Any]:
        """The credentials file as keycloak-local writes it: admin, users, clients."""
        document: dict[str, Any] = json.loads(self.credentials_path.read_text(encoding="utf-8"))
        return document

    def password(self, user: str) -> str:
        """The generated password of realm user `user` (e.g. `housing-kent`)."""
        password: str = self.credentials()["users"][user]
        return password

    def token(self, user: str, client: str = WEB_CLIENT_ID) -> str:
        """An access token for `user` from the password grant of (public) `client`."""
        return self._grant(
            {
                "grant_type": "password",
                "client_id": client,
                "username": user,
                "password": self.password(user),
                "scope": "openid",
            }
        )

    def service_token(self, client: str = SERVICE_CLIENT_ID) -> str:
        """An access token for confidential `client`'s service account (client credentials)."""
        secret = self.credentials()["clients"][client]
        return self._grant(
            {"grant_type": "client_credentials", "client_id": client, "client_secret": secret}
        )

    def _grant(self, form: dict[str, str]) -> str:
        answer = httpx.post(self.token_endpoint, data=form, timeout=30)
        answer.raise_for_status()
        token: str = answer.json()["access_token"]
        return token


def discovery(issuer: str) -> dict[str, Any]:
    """The issuer's OpenID Connect discovery document."""
    answer = httpx.get(f"{issuer}/.well-known/openid-configuration", timeout=10)
    answer.raise_for_status()
    document: dict[str, Any] = answer.json()
    return document


def configured_keycloak() -> KeycloakUnderTest | None:
    """The Keycloak named by `KEYCLOAK_ISSUER`, if any."""
    issuer = os.environ.get("KEYCLOAK_ISSUER")
    if not issuer:
        return None
    credentials = os.environ.get("MAPPA_TEST_KEYCLOAK_CREDENTIALS")
    if not credentials:
        raise KeycloakUnavailable(
            "KEYCLOAK_ISSUER is set but MAPPA_TEST_KEYCLOAK_CREDENTIALS (the path of its"
            " credentials file, as keycloak-local writes it) is not"
        )
    try:
        return KeycloakUnderTest.discover(issuer.rstrip("/"), Path(credentials))
    except httpx.HTTPError as error:
        raise KeycloakUnavailable(f"KEYCLOAK_ISSUER {issuer} does not answer: {error}") from error


@dataclass(frozen=True)
class LocalKeycloak:
    """One keycloak-local instance: its ports and data dir, and the script's commands on it."""

    port: int
    management_port: int
    data_dir: Path

    @classmethod
    def on_free_ports(cls, data_dir: Path) -> LocalKeycloak:
        """An instance (not started) on ports free now, keeping its state in `data_dir`."""
        port, management_port = free_ports(2)
        return cls(port, management_port, data_dir)

    @property
    def issuer(self) -> str:
        return f"http://127.0.0.1:{self.port}/realms/mappa"

    @property
    def credentials_path(self) -> Path:
        return self.data_dir / "credentials.json"

    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            "KEYCLOAK_PORT": str(self.port),
            "KEYCLOAK_MANAGEMENT_PORT": str(self.management_port),
            "KEYCLOAK_DATA_DIR": str(self.data_dir),
        }

    def run(self, command: str) -> subprocess.CompletedProcess[str]:
        """Run `keycloak-local COMMAND` on this instance."""
        return subprocess.run(
            [str(KEYCLOAK_LOCAL), command],
            env=self.env(),
            capture_output=True,
            text=True,
            check=False,
        )

    def start(self) -> KeycloakUnderTest:
        """Start it (or find it running) and read its discovery document."""
        started = self.run("start")
        if started.returncode != 0:
            raise KeycloakUnavailable(
                f"the local Keycloak did not start:\n{started.stdout}\n{started.stderr}"
            )
        return KeycloakUnderTest.discover(self.issuer, self.credentials_path, local=self)

    def stop(self) -> None:
        self.run("stop")
