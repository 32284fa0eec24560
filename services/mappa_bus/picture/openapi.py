"""The case-picture API's OpenAPI document, as stable text for `schemas/`."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import create_engine

from mappa_bus.picture.api import Caller, create_app


def case_api_document(*, bearer: bool = False) -> dict[str, Any]:
    """FastAPI's document of the API: with `bearer`, as deployed with tokens; without, as in
    development, with the identity headers."""
    # Building the app opens no connection, so an in-memory engine that is never used will do.
    tokens: dict[str, Caller] | None = {} if bearer else None
    return create_app(create_engine("sqlite://"), tokens=tokens).openapi()


def case_api_json(*, bearer: bool = False) -> str:
    """The document as stable JSON: sorted keys, two-space indent, a final newline, as the
    other generated files in `schemas/`."""
    return json.dumps(case_api_document(bearer=bearer), indent=2, sort_keys=True) + "\n"
