"""The checked-in realm `mappa` (deploy/keycloak/realm-mappa.json) speaks the project's roles and
areas, holds no secret, and configures the clients the tests and the web view rely on."""

import json
from pathlib import Path
from typing import Any

from mappa_bus.access.policy import ViewerRole
from mappa_bus.catalogue.areas import Area

REALM_FILE = Path(__file__).resolve().parents[2] / "deploy" / "keycloak" / "realm-mappa.json"
REALM: dict[str, Any] = json.loads(REALM_FILE.read_text(encoding="utf-8"))
USERS = {user["username"]: user for user in REALM["users"]}
CLIENTS = {client["clientId"]: client for client in REALM["clients"]}
PEOPLE = {name: user for name, user in USERS.items() if "serviceAccountClientId" not in user}


def _mappers(client: str) -> dict[str, str]:
    return {m["name"]: m["protocolMapper"] for m in CLIENTS[client].get("protocolMappers", [])}


def test_each_person_is_named_role_dash_area_and_carries_exactly_that() -> None:
    """Every person but nobody-kent is `<role>-<area>` with that one role (a ViewerRole value)
    and that one area (an Area slug, or national)."""
    areas = {area.value for area in Area} | {"national"}
    for name, user in PEOPLE.items():
        if name == "nobody-kent":
            continue
        (role,) = user["attributes"]["mappa_roles"]
        (area,) = user["attributes"]["mappa_areas"]
        assert name == f"{role}-{area}"
        assert role in {r.value for r in ViewerRole}
        assert area in areas


def test_kent_has_every_agency_and_office_and_nobody_kent_has_no_role() -> None:
    """Kent has a user for every role but the national ones; national users read `national`;
    nobody-kent exists without a role, for refusal tests."""
    national = {ViewerRole.ANALYST, ViewerRole.AUDITOR}
    kent = {f"{role.value}-kent" for role in ViewerRole if role not in national}
    expected = kent | {"police-cumbria", "coordinator-cumbria", "housing-cumbria"}
    expected |= {"analyst-national", "auditor-national", "nobody-kent"}

    assert set(PEOPLE) == expected
    assert "mappa_roles" not in PEOPLE["nobody-kent"]["attributes"]


def test_the_template_holds_no_password_or_secret() -> None:
    """Passwords and the client secret are placeholders: keycloak-local generates them per
    instance, and docker compose's Keycloak fills them from .env (compose_env.py)."""
    for name, user in PEOPLE.items():
        variable = "MAPPA_KEYCLOAK_PASSWORD_" + name.upper().replace("-", "_")
        assert [c["value"] for c in user["credentials"]] == ["${" + variable + "}"]
    assert [c["secret"] for c in CLIENTS.values() if "secret" in c] == [
        "${MAPPA_KEYCLOAK_SECRET_MAPPA_ANALYST_SERVICE}"
    ]


def test_the_role_and_area_attributes_are_declared_and_only_admins_edit_them() -> None:
    """Keycloak's user profile declares both attributes (else it drops them from tokens) and lets
    only administrators see or change them, so nobody grants themselves a role."""
    (provider,) = REALM["components"]["org.keycloak.userprofile.UserProfileProvider"]
    profile = json.loads(provider["config"]["kc.user.profile.config"][0])
    declared = {attribute["name"]: attribute for attribute in profile["attributes"]}

    for name in ("mappa_roles", "mappa_areas"):
        assert declared[name]["permissions"] == {"view": ["admin"], "edit": ["admin"]}


def test_clients_carry_the_claims_audience_and_lifespans_the_tests_need() -> None:
    """All four clients map roles and areas; all but mappa-other add audience mappa-api; the web
    client requires PKCE S256; mappa-expiring's tokens live one second, the realm's five minutes."""
    claims = {"mappa_roles": "oidc-usermodel-attribute-mapper"}
    claims["mappa_areas"] = "oidc-usermodel-attribute-mapper"
    for client in CLIENTS:
        assert claims.items() <= _mappers(client).items()
        assert ("mappa-api audience" in _mappers(client)) == (client != "mappa-other")
    web = CLIENTS["mappa-web"]

    assert web["publicClient"] is True
    assert web["attributes"]["pkce.code.challenge.method"] == "S256"
    assert CLIENTS["mappa-expiring"]["attributes"]["access.token.lifespan"] == "1"
    assert CLIENTS["mappa-analyst-service"]["serviceAccountsEnabled"] is True
    assert REALM["accessTokenLifespan"] == 300
