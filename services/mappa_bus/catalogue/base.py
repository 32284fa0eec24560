"""What every event payload is: a frozen model that knows its publisher, name and version."""

from __future__ import annotations

import functools
from typing import ClassVar

from pydantic import BaseModel, ConfigDict

from mappa_bus.agencies import Agency
from mappa_bus.catalogue.vocabulary import AgencyReference

TYPE_PREFIX = "uk.gov.mappa"
SCHEMA_URI_PREFIX = "urn:uk:gov:mappa:schema:"


class EventData(BaseModel):
    """The `data` of a bus event: what happened, in the publisher's words, and nothing more.

    Subclasses name the agency that may publish them (`PUBLISHER`), a past-tense kebab-case
    `NAME`, and a `VERSION`; together these make the CloudEvents `type`. A change to a published
    version may only add optional fields; anything else is a new class with the next version.
    """

    # Unknown fields are ignored rather than refused: a newer revision of the same version may
    # add optional fields, and consumers built against the older one must still read it.
    model_config = ConfigDict(frozen=True, extra="ignore", use_attribute_docstrings=True)

    PUBLISHER: ClassVar[Agency]
    NAME: ClassVar[str]
    VERSION: ClassVar[int] = 1

    agency_reference: AgencyReference | None = None
    """The publishing agency's own reference for its record (an opaque id, not free text), so
    its staff can find the record behind the event."""

    @classmethod
    @functools.cache
    def event_type(cls) -> str:
        """The CloudEvents `type`, e.g. `uk.gov.mappa.probation.licence-breached.v1`."""
        return f"{TYPE_PREFIX}.{cls.PUBLISHER.value}.{cls.NAME}.v{cls.VERSION}"

    @classmethod
    def schema_uri(cls) -> str:
        """The CloudEvents `dataschema`: names the JSON Schema in `schemas/` for this type."""
        return SCHEMA_URI_PREFIX + cls.event_type()
