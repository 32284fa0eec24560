"""The case-picture API against its own OpenAPI document, fuzzed by schemathesis: every answer
to generated requests is one the document declares, in the shape it declares, and none is a 5xx.

The caller is a coordinator (who may read both cases and the trail) with a reason, so the
requests reach the data; the refusals have their own tests in `test_picture_api`. Identity here
is development mode's, to keep this fast; tests/integration/test_picture_api_keycloak.py fuzzes
the deployed API with real tokens from Keycloak.
"""

from typing import Any

import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, settings
from schemathesis import Case
from sqlalchemy import create_engine
from sqlalchemy.pool import StaticPool

from mappa_bus.access.admission import REASON_HEADER, ROLE_HEADER
from mappa_bus.picture.api import create_app
from mappa_bus.picture.schema import create_schema
from mappa_bus.picture.store import save_pictures
from mappa_bus.web.identity import USER_HEADER, DevelopmentHeaders
from tests.unit.test_picture_views import full_picture

CALLER = {
    USER_HEADER: "fuzz",
    ROLE_HEADER: "coordinator",
    REASON_HEADER: "checking the API against its contract",
}


def _app_over_one_case() -> FastAPI:
    # An in-memory database on one shared connection: the schema is loaded when the module is
    # collected, before pytest's temporary directories exist, and nothing must be left behind.
    engine = create_engine(
        "sqlite://", poolclass=StaticPool, connect_args={"check_same_thread": False}
    )
    create_schema(engine)
    with engine.begin() as connection:
        save_pictures(connection, [full_picture("case-1")])
    # Schemathesis calls the app as Starlette's test client does, under the host `testserver`.
    return create_app(engine, DevelopmentHeaders(), hosts=("testserver",))


schema = schemathesis.openapi.from_asgi("/openapi.json", _app_over_one_case())


@schema.parametrize()
@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
def test_the_api_keeps_its_documents_promises(case: Case[Any]) -> None:
    """Status codes, content types and bodies as documented, for generated requests."""
    case.call_and_validate(headers=CALLER)
