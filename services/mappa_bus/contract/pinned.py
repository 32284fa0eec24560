"""The envelope of exactly one event type: what a producer of that type must send.

`Envelope[Model]` alone admits any `type`, any `dataschema` and any agency in `source`; the
parser checks those against the catalogue. A contract for one type says them outright, so the
JSON Schema files and the AsyncAPI document are built from these pinned models.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from typing import Any, Literal

from pydantic import Field, create_model

from mappa_bus.agencies import Agency
from mappa_bus.catalogue.base import EventData
from mappa_bus.catalogue.envelope import SOURCE_PATTERN, Envelope

# mypy only admits literal values inside `Literal[...]`; these are computed from the catalogue.
_LITERAL: Any = Literal


def source_pattern(agency: Agency) -> str:
    """`SOURCE_PATTERN` with its alternation of agencies narrowed to `agency` alone."""
    return sources_pattern((agency,))


def sources_pattern(agencies: Sequence[Agency]) -> str:
    """`SOURCE_PATTERN` with its alternation of agencies narrowed to `agencies` (one agency
    stands alone, without the group)."""
    before, _, rest = SOURCE_PATTERN.partition("(")
    _, _, after = rest.partition(")")
    # Agency values are lowercase letters and hyphens, so they need no escaping; and `\-` must
    # be avoided: JavaScript validators compile patterns as unicode regexes, which refuse it.
    alternatives = "|".join(agency.value for agency in agencies)
    group = alternatives if len(agencies) == 1 else f"({alternatives})"
    return f"{before}{group}{after}"


@cache
def pinned_envelope(model: type[EventData]) -> type[Envelope[Any]]:
    """A subclass of `Envelope[model]` whose `type`, `dataschema` and `source` admit only
    what the parser accepts for `model`; named `<Model>Event`, described by `model`'s docstring.
    """
    described = Envelope.model_fields
    return create_model(
        f"{model.__name__}Event",
        __base__=Envelope[model],  # type: ignore[valid-type]
        __doc__=model.__doc__,
        type=(
            _LITERAL[model.event_type()],
            Field(description=described["type"].description),
        ),
        dataschema=(
            _LITERAL[model.schema_uri()],
            Field(description=described["dataschema"].description),
        ),
        source=(
            str,
            Field(
                pattern=source_pattern(model.PUBLISHER),
                description=described["source"].description,
            ),
        ),
    )
