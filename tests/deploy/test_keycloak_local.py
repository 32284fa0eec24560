"""The local Keycloak script and the realm it imports: a real OpenID Connect issuer on loopback
only, whose tokens carry the claims the API reads, with private generated credentials.

Every test shares the session's one Keycloak (`keycloak` fixture): a start costs tens of seconds.
"""

import secrets
import socket
import stat
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest

from tests.keycloak import AUDIENCE, KeycloakUnderTest, LocalKeycloak, discovery

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def jwks(keycloak: KeycloakUnderTest) -> jwt.PyJWKClient:
    """The issuer's signing keys, from the `jwks_uri` of its discovery document."""
    return jwt.PyJWKClient(discovery(keycloak.issuer)["jwks_uri"])


def _claims(
    keycloak: KeycloakUnderTest,
    jwks: jwt.PyJWKClient,
    token: str,
    audience: str | None = AUDIENCE,
    *,
    expired_too: bool = False,
) -> dict[str, Any]:
    key = jwks.get_signing_key_from_jwt(token)
    options = {"verify_aud": audience is not None, "verify_exp": not expired_too}
    claims: dict[str, Any] = jwt.decode(
        token,
        key,
        algorithms=["RS256"],
        audience=audience,
        issuer=keycloak.issuer,
        options=options,  # type: ignore[arg-type]
    )
    return claims


def _local(keycloak: KeycloakUnderTest) -> LocalKeycloak:
    if keycloak.local is None:
        pytest.skip("the session's Keycloak is KEYCLOAK_ISSUER's, not one keycloak-local started")
    return keycloak.local


def _audiences(claims: dict[str, Any]) -> list[str]:
    aud = claims.get("aud", [])
    return [aud] if isinstance(aud, str) else list(aud)


def test_a_password_grant_token_carries_the_users_role_area_and_the_api_audience(
    keycloak: KeycloakUnderTest, jwks: jwt.PyJWKClient
) -> None:
    """housing-kent's access token verifies against the issuer's JWKS with audience mappa-api and
    says role housing, area kent, its username and a subject."""
    claims = _claims(keycloak, jwks, keycloak.token("housing-kent"))

    assert AUDIENCE in _audiences(claims)
    assert (claims["mappa_roles"], claims["mappa_areas"]) == (["housing"], ["kent"])
    assert claims["preferred_username"] == "housing-kent"
    assert claims["sub"]
    assert claims["exp"] - claims["iat"] == 300


def test_national_users_and_the_analyst_service_read_national(
    keycloak: KeycloakUnderTest, jwks: jwt.PyJWKClient
) -> None:
    """analyst-national (password grant) and the analyst service account (client credentials)
    both carry area national, role analyst and the API audience."""
    person = _claims(keycloak, jwks, keycloak.token("analyst-national"))
    service = _claims(keycloak, jwks, keycloak.service_token())

    for claims in (person, service):
        assert (claims["mappa_roles"], claims["mappa_areas"]) == (["analyst"], ["national"])
        assert AUDIENCE in _audiences(claims)


def test_tokens_for_refusal_tests_lack_what_they_must_lack(
    keycloak: KeycloakUnderTest, jwks: jwt.PyJWKClient
) -> None:
    """nobody-kent has no role claim; mappa-other's tokens are not for mappa-api (PyJWT refuses
    them for that audience); mappa-expiring's live one second."""
    nobody = _claims(keycloak, jwks, keycloak.token("nobody-kent"))
    other = keycloak.token("police-kent", client="mappa-other")
    # A one-second token may have lapsed by the time it is read on a busy machine: its
    # signature and claims are what is checked here, not that it is still valid.
    expiring_token = keycloak.token("police-kent", client="mappa-expiring")
    expiring = _claims(keycloak, jwks, expiring_token, expired_too=True)

    assert "mappa_roles" not in nobody
    assert nobody["mappa_areas"] == ["kent"]
    # Keycloak leaves `aud` out altogether here, which PyJWT reports as a missing claim.
    with pytest.raises((jwt.InvalidAudienceError, jwt.MissingRequiredClaimError)):
        _claims(keycloak, jwks, other)
    other_claims = _claims(keycloak, jwks, other, audience=None)
    assert AUDIENCE not in _audiences(other_claims)
    assert other_claims["mappa_roles"] == ["police"]
    assert AUDIENCE in _audiences(expiring)
    assert expiring["exp"] - expiring["iat"] == 1


def test_a_wrong_password_is_refused(keycloak: KeycloakUnderTest) -> None:
    """The token endpoint refuses a password other than the generated one."""
    answer = httpx.post(
        keycloak.token_endpoint,
        data={
            "grant_type": "password",
            "client_id": keycloak.web_client_id,
            "username": "police-kent",
            "password": secrets.token_urlsafe(12),
        },
        timeout=30,
    )

    assert (answer.status_code, answer.json()["error"]) == (401, "invalid_grant")


def _authorize(keycloak: KeycloakUnderTest, redirect_uri: str, **extra: str) -> httpx.Response:
    params = {
        "client_id": keycloak.web_client_id,
        "response_type": "code",
        "scope": "openid",
        "redirect_uri": redirect_uri,
        **extra,
    }
    endpoint = discovery(keycloak.issuer)["authorization_endpoint"]
    return httpx.get(endpoint, params=params, timeout=30)


def test_the_web_client_takes_any_loopback_port_for_its_callback_and_requires_pkce(
    keycloak: KeycloakUnderTest,
) -> None:
    """An authorisation request with PKCE (S256) and a callback on a port chosen now gets the
    login page, on 127.0.0.1 and on localhost; another path or host is refused, and a request
    without PKCE is sent back with an error."""
    port = 1024 + secrets.randbelow(60000)
    # RFC 7636's example challenge: Keycloak checks its form here, the verifier at the token step.
    pkce = {
        "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
        "code_challenge_method": "S256",
    }

    on_ip = _authorize(keycloak, f"http://127.0.0.1:{port}/auth/callback", **pkce)
    on_name = _authorize(keycloak, f"http://localhost:{port}/auth/callback", **pkce)
    other_path = _authorize(keycloak, f"http://127.0.0.1:{port}/elsewhere", **pkce)
    other_host = _authorize(keycloak, "http://mappa.example/auth/callback", **pkce)
    no_pkce = _authorize(keycloak, f"http://127.0.0.1:{port}/auth/callback")

    assert (on_ip.status_code, on_name.status_code) == (200, 200)
    assert "password" in on_ip.text
    assert (other_path.status_code, other_host.status_code) == (400, 400)
    assert no_pkce.status_code == 302
    location = no_pkce.headers["location"]
    assert location.startswith(f"http://127.0.0.1:{port}/auth/callback?error=invalid_request")


def test_start_again_says_already_running_and_the_issuer_answers(
    keycloak: KeycloakUnderTest,
) -> None:
    """A second start of a running instance exits 0 at once, naming its log; status says
    running; discovery names the issuer."""
    local = _local(keycloak)

    again = local.run("start")
    status = local.run("status")

    assert (again.returncode, "already running" in again.stdout) == (0, True)
    assert str(local.data_dir / "keycloak.log") in again.stdout
    assert local.run("path").stdout.strip() == str(local.data_dir / "keycloak.log")
    assert status.returncode == 0
    assert discovery(keycloak.issuer)["issuer"] == keycloak.issuer


def test_the_credentials_file_is_private_and_complete(keycloak: KeycloakUnderTest) -> None:
    """`credentials` names a 0600 file in a 0700 data dir holding distinct generated secrets for
    the admin, every realm user with a password and the service client."""
    local = _local(keycloak)

    path = Path(local.run("credentials").stdout.strip())
    document = keycloak.credentials()

    assert path == keycloak.credentials_path
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(local.data_dir.stat().st_mode) == 0o700
    rendered = local.data_dir / "import" / "realm-mappa.json"
    assert stat.S_IMODE(rendered.stat().st_mode) == 0o600
    assert {"housing-kent", "nobody-kent", "analyst-national"} <= set(document["users"])
    secrets_ = [document["admin"]["password"], *document["users"].values()]
    secrets_ += document["clients"].values()
    assert len(set(secrets_)) == len(secrets_)
    assert set(document["clients"]) == {"mappa-analyst-service"}


def _listening(port: int) -> set[str]:
    """The local addresses of listening TCP sockets on `port`, from the kernel's socket table."""
    addresses = set()
    for table, size in (("/proc/net/tcp", 4), ("/proc/net/tcp6", 16)):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            address, port_hex = fields[1].split(":")
            if fields[3] != "0A" or int(port_hex, 16) != port:  # 0A: LISTEN
                continue
            raw = bytes.fromhex(address)
            # The kernel prints each 32-bit word in host (little-endian) order.
            words = b"".join(raw[i : i + 4][::-1] for i in range(0, size, 4))
            family = socket.AF_INET if size == 4 else socket.AF_INET6
            addresses.add(socket.inet_ntop(family, words))
    return addresses


def _other_addresses() -> set[str]:
    """This machine's IPv4 addresses other than loopback (best effort)."""
    found = set()
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        probe.connect(("192.0.2.1", 9))  # TEST-NET-1: no packet is sent for UDP connect
        found.add(probe.getsockname()[0])
    except OSError:
        pass
    finally:
        probe.close()
    return {address for address in found if not address.startswith("127.")}


def test_it_listens_on_loopback_only(keycloak: KeycloakUnderTest) -> None:
    """The HTTP and management ports are bound to 127.0.0.1 only, and refuse a connection on the
    machine's other address, if it has one."""
    local = _local(keycloak)
    if not Path("/proc/net/tcp").exists():
        pytest.skip("no /proc/net/tcp socket table on this system")

    for port in (local.port, local.management_port):
        assert _listening(port) <= {"127.0.0.1", "::ffff:127.0.0.1"}
        assert _listening(port), f"nothing listens on port {port}"
        for address in _other_addresses():
            assert _refuses(address, port), f"{address}:{port} accepts connections"
    health = httpx.get(f"http://127.0.0.1:{local.management_port}/health/ready", timeout=10)
    assert health.status_code == 200


def test_stop_stops_only_its_own_keycloak_and_a_restart_keeps_the_realm(
    keycloak: KeycloakUnderTest, tmp_path: Path
) -> None:
    """Stop for another data dir on the same port leaves the running Keycloak alone; stop for
    its own ends it (status 3); a start again keeps the database and credentials, so the same
    password still gets a token."""
    local = _local(keycloak)
    stranger = LocalKeycloak(local.port, local.management_port, tmp_path / "elsewhere")
    credentials = keycloak.credentials_path.read_text()

    left_alone = stranger.run("stop")
    still_up = discovery(keycloak.issuer)["issuer"]
    try:
        stopped = local.run("stop")
        status = local.run("status")
        refused = _refuses("127.0.0.1", local.port)
    finally:
        restarted = local.run("start")

    assert (left_alone.returncode, "not running" in left_alone.stdout) == (0, True)
    assert still_up == keycloak.issuer
    assert (stopped.returncode, status.returncode, refused) == (0, 3, True)
    assert restarted.returncode == 0, restarted.stdout + restarted.stderr
    assert "importing realm" not in restarted.stdout
    assert keycloak.credentials_path.read_text() == credentials
    assert keycloak.token("police-cumbria")


def _refuses(host: str, port: int) -> bool:
    try:
        socket.create_connection((host, port), timeout=3).close()
    except OSError:
        return True
    return False
