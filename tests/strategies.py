"""Hypothesis strategies for every event type, derived from the models' own field constraints.

Deriving them (rather than writing one per type) means a new event type is covered by the
property tests the moment it joins the catalogue.
"""

from __future__ import annotations

import types
import typing
from datetime import UTC, date, datetime, timedelta, timezone
from enum import Enum
from typing import Any

from hypothesis import strategies as st
from pydantic import ValidationError
from pydantic.fields import FieldInfo

from mappa_bus.catalogue import (
    CASE_ID_PATTERN,
    Area,
    Envelope,
    EventData,
    HandlingMarking,
    make_event,
)

_DATES = st.dates(min_value=date(1990, 1, 1), max_value=date(2040, 12, 31))
_ZONES = st.sampled_from([UTC, timezone(timedelta(hours=1)), timezone(timedelta(hours=-5))])


def _constraints(metadata: list[Any]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for item in metadata:
        if isinstance(item, FieldInfo):
            found.update(_constraints(item.metadata))
        for name in ("ge", "le", "min_length", "max_length", "pattern"):
            value = getattr(item, name, None)
            if value is not None:
                found[name] = value
    return found


def for_annotation(annotation: Any, metadata: list[Any]) -> st.SearchStrategy[Any]:
    """A strategy for values valid under `annotation` with pydantic `metadata` constraints."""
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    limits = _constraints(metadata)
    if origin is typing.Annotated:
        return for_annotation(args[0], [*metadata, *args[1:]])
    if origin in (typing.Union, types.UnionType):
        return st.one_of([for_annotation(arg, metadata) for arg in args])
    if annotation is type(None):
        return st.none()
    if origin is typing.Literal:
        return st.sampled_from(args)
    if origin is list:
        return st.lists(
            for_annotation(args[0], []),
            min_size=limits.get("min_length", 0),
            max_size=limits.get("max_length", 4),
        )
    if isinstance(annotation, type) and issubclass(annotation, Enum):
        return st.sampled_from(list(annotation))
    if annotation is bool:
        return st.booleans()
    if annotation is int:
        return st.integers(limits.get("ge", -(2**31)), limits.get("le", 2**31))
    if annotation is date:
        return _DATES
    if annotation is str:
        return st.from_regex(limits.get("pattern", r"^[a-z]{1,20}$"), fullmatch=True)
    raise NotImplementedError(f"no strategy for {annotation!r}: add one to tests/strategies.py")


def _is_valid(model: type[EventData], fields: dict[str, Any]) -> bool:
    try:
        model.model_validate(fields)
    except ValidationError:
        return False
    return True


def event_data(model: type[EventData]) -> st.SearchStrategy[EventData]:
    """Valid payloads of `model`, with optional fields sometimes left out."""
    required: dict[str, st.SearchStrategy[Any]] = {}
    optional: dict[str, st.SearchStrategy[Any]] = {}
    for name, field in model.model_fields.items():
        strategy = for_annotation(field.annotation, list(field.metadata))
        (required if field.is_required() else optional)[name] = strategy
    return (
        st.fixed_dictionaries(required, optional=optional)
        .filter(lambda fields: _is_valid(model, fields))
        .map(model.model_validate)
    )


def envelopes(model: type[EventData]) -> st.SearchStrategy[Envelope[EventData]]:
    """Whole valid events of `model`, envelope attributes varied too."""
    return st.builds(
        make_event,
        event_data(model),
        case_id=st.from_regex(CASE_ID_PATTERN, fullmatch=True),
        area=st.sampled_from(list(Area)),
        time=st.datetimes(
            min_value=datetime(1990, 1, 1), max_value=datetime(2040, 1, 1), timezones=_ZONES
        ),
        system=st.from_regex(r"^[a-z0-9][a-z0-9-]{0,39}$", fullmatch=True),
        event_id=st.one_of(st.none(), st.from_regex(r"^[\x21-\x7e]{1,128}$", fullmatch=True)),
        handling=st.sampled_from(list(HandlingMarking)),
    )


# Any JSON value: what a hostile or broken producer could put anywhere in a message.
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=12,
)
