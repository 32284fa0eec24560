"""The case-picture API's OpenAPI document, as stable text for `schemas/`."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import create_engine

from mappa_bus.access.tokens import IssuerSettings, TokenVerifier
from mappa_bus.picture.api import create_app
from mappa_bus.web.identity import BearerTokens, DevelopmentHeaders

# Building the document contacts no issuer: a verifier fetches keys on its first token only.
_DOCUMENTED_ISSUER = IssuerSettings(
    issuer="https://issuer.example/realms/mappa", audience="mappa-api"
)


def case_api_document(*, development: bool = False) -> dict[str, Any]:
    """FastAPI's document of the API as deployed (bearer tokens), or with `development`, with
    the development identity headers."""
    # Building the app opens no connection, so an in-memory engine that is never used will do.
    authenticator = (
        DevelopmentHeaders() if development else BearerTokens(TokenVerifier(_DOCUMENTED_ISSUER))
    )
    return create_app(create_engine("sqlite://"), authenticator).openapi()


def case_api_json(*, development: bool = False) -> str:
    """The document as stable JSON: sorted keys, two-space indent, a final newline, as the
    other generated files in `schemas/`."""
    return json.dumps(case_api_document(development=development), indent=2, sort_keys=True) + "\n"
