"""The case API as deployed: callers identified by access tokens from a real Keycloak (the
project's keycloak-local, realm `mappa`), served by uvicorn on a free port.

Each role and area reads what the need-to-know table and the area rule allow, with the identity
and its areas taken from the token; tokens that are expired, for another audience or forged are
refused and on the trail; schemathesis finds no server error for three roles.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
import schemathesis
from cryptography.hazmat.primitives.asymmetric import rsa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import Case
from schemathesis.core.result import Ok
from sqlalchemy import Engine

from mappa_bus.access.admission import REASON_HEADER
from mappa_bus.access.policy import CASE_VIEWS, FieldGroup, ViewerRole
from mappa_bus.access.tokens import IssuerSettings, TokenVerifier
from mappa_bus.audit import reads
from mappa_bus.catalogue import Area
from mappa_bus.picture.api import create_app
from mappa_bus.picture.schema import create_schema
from mappa_bus.picture.store import save_pictures
from mappa_bus.projection.database import open_engine
from mappa_bus.web.identity import BearerTokens
from tests.keycloak import KeycloakUnderTest
from tests.servers import plain_server, serving
from tests.unit.test_picture_views import full_picture

pytestmark = pytest.mark.slow
REASON = "preparing the level 2 meeting"


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Engine:
    """A store with one Kent case and one Cumbria case."""
    directory: Path = tmp_path_factory.mktemp("api")
    engine = open_engine(f"sqlite:///{directory / 'pictures.db'}")
    create_schema(engine)
    with engine.begin() as connection:
        save_pictures(
            connection,
            [full_picture("kent-1"), full_picture("cumbria-1", area=Area.CUMBRIA)],
        )
    return engine


@pytest.fixture(scope="module")
def api(engine: Engine, keycloak: KeycloakUnderTest) -> Iterator[str]:
    """The deployed API, verifying Keycloak's tokens, on a free port."""
    # No leeway for clock skew: the expiry test waits for a 1-second token to lapse.
    issuer = IssuerSettings(issuer=keycloak.issuer, audience=keycloak.audience, leeway_s=0)
    verifier = TokenVerifier(issuer)
    app = create_app(engine, BearerTokens(verifier))
    with serving(lambda port: plain_server(app, port)) as url:
        yield url


def _as(keycloak: KeycloakUnderTest, user: str, client: str = "mappa-web") -> dict[str, str]:
    return {"Authorization": f"Bearer {keycloak.token(user, client)}", REASON_HEADER: REASON}


KENT_READERS = [
    "police-kent",
    "probation-kent",
    "prisons-kent",
    "coordinator-kent",
    "housing-kent",
    "health-kent",
    "victim-liaison-kent",
    "childrens-services-kent",
    "youth-offending-kent",
    "dwp-kent",
    "immigration-enforcement-kent",
]


@pytest.mark.parametrize("user", KENT_READERS)
def test_each_role_reads_its_own_areas_case_in_its_view(
    api: str, keycloak: KeycloakUnderTest, user: str
) -> None:
    """A Kent reader's token gives that role's view of the Kent case, and nothing of Cumbria's."""
    role = ViewerRole(user.removesuffix("-kent"))
    headers = _as(keycloak, user)

    kent = httpx.get(f"{api}/cases/kent-1", headers=headers)
    cumbria = httpx.get(f"{api}/cases/cumbria-1", headers=headers)

    assert kent.status_code == 200, kent.text
    assert kent.json()["role"] == role
    assert kent.json()["withheld"] == [g for g in FieldGroup if g not in CASE_VIEWS[role]]
    assert cumbria.status_code == 404


def test_a_cumbria_reader_reads_cumbria_and_not_kent(api: str, keycloak: KeycloakUnderTest) -> None:
    """The area comes from the token: Cumbria police read Cumbria's case only."""
    headers = _as(keycloak, "police-cumbria")

    assert httpx.get(f"{api}/cases/cumbria-1", headers=headers).status_code == 200
    assert httpx.get(f"{api}/cases/kent-1", headers=headers).status_code == 404


def test_roles_outside_the_table_and_no_role_are_refused(
    api: str, keycloak: KeycloakUnderTest, engine: Engine
) -> None:
    """A lay adviser and a user with no role read no case; the auditor reads the trail."""
    lay = httpx.get(f"{api}/cases/kent-1", headers=_as(keycloak, "lay-adviser-kent"))
    nobody = httpx.get(f"{api}/cases/kent-1", headers=_as(keycloak, "nobody-kent"))
    trail = httpx.get(
        f"{api}/audit",
        params={"user": "lay-adviser-kent"},
        headers=_as(keycloak, "auditor-national"),
    )

    assert (lay.status_code, nobody.status_code) == (403, 403)
    assert trail.status_code == 200
    assert [r["status"] for r in trail.json()["records"]][-1:] == [403]


def test_a_service_account_is_a_reader_too(api: str, keycloak: KeycloakUnderTest) -> None:
    """The analyst service's client-credentials token is an analyst: figures, never cases."""
    headers = {"Authorization": f"Bearer {keycloak.service_token()}", REASON_HEADER: REASON}

    response = httpx.get(f"{api}/cases/kent-1", headers=headers)

    assert response.status_code == 403
    assert "analyst" in response.json()["detail"]


def test_forged_expired_foreign_and_unsigned_tokens_are_refused_and_audited(
    api: str, keycloak: KeycloakUnderTest, engine: Engine
) -> None:
    """Headers claiming an identity, an expired token, another audience's token, a token
    signed with another key and an `alg: none` token: each 401, each on the trail."""
    expiring = keycloak.token("police-kent", "mappa-expiring")
    claims = jwt.decode(expiring, options={"verify_signature": False})
    time.sleep(max(0.0, claims["exp"] - time.time()) + 1.5)
    own_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    forged_claims: dict[str, Any] = {**claims, "exp": int(time.time()) + 300}
    header = jwt.get_unverified_header(expiring)
    attempts = {
        "headers": {"X-Mappa-User": "police-kent", "X-Mappa-Role": "police"},
        "expired": {"Authorization": f"Bearer {expiring}"},
        "audience": {"Authorization": f"Bearer {keycloak.token('police-kent', 'mappa-other')}"},
        "signature": {
            "Authorization": "Bearer "
            + jwt.encode(forged_claims, own_key, algorithm="RS256", headers={"kid": header["kid"]})
        },
        "none": {"Authorization": "Bearer " + jwt.encode(forged_claims, key="", algorithm="none")},
    }
    with engine.connect() as connection:
        before = len(reads(connection))

    statuses = {
        name: httpx.get(f"{api}/cases/kent-1", headers={**given, REASON_HEADER: REASON}).status_code
        for name, given in attempts.items()
    }

    assert statuses == dict.fromkeys(attempts, 401)
    with engine.connect() as connection:
        records = reads(connection)[before:]
    assert [(r.user, r.status) for r in records] == [("(unidentified)", 401)] * len(attempts)


ROLES_FUZZED = ["coordinator-kent", "housing-kent", "auditor-national"]


@pytest.mark.parametrize("user", ROLES_FUZZED)
def test_schemathesis_finds_no_server_error_with_real_tokens(
    api: str, keycloak: KeycloakUnderTest, user: str
) -> None:
    """Generated requests from the published document, with a real token of three roles: every
    answer is declared, in its declared shape, and none is a 5xx."""
    schema = schemathesis.openapi.from_url(f"{api}/openapi.json")
    headers = _as(keycloak, user)
    operations = []
    for result in schema.get_all_operations():
        assert isinstance(result, Ok), result  # the published document parses
        operations.append(result.ok().as_strategy())
    strategy = st.one_of(operations)

    @given(case=strategy)
    @settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
    def fuzz(case: Case[Any]) -> None:
        case.call_and_validate(headers=headers)

    fuzz()
