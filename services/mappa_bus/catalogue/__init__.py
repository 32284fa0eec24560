"""The event catalogue and wire contract: typed CloudEvents for every agency.

The pure core of the bus: imports no Kafka, database, web or logging library.
"""

from mappa_bus.catalogue.areas import AREA_NAMES, Area
from mappa_bus.catalogue.base import EventData
from mappa_bus.catalogue.envelope import CONTENT_TYPE, Envelope, make_event
from mappa_bus.catalogue.registry import BY_TYPE, CASE_EVENTS, CATALOGUE, published_by
from mappa_bus.catalogue.reporting_year import ReportingYear
from mappa_bus.catalogue.vocabulary import CASE_ID_PATTERN, CaseId, Category, HandlingMarking, Level
from mappa_bus.catalogue.wire import MAX_EVENT_BYTES, Rejection, WireError, parse_event, to_wire

__all__ = [
    "AREA_NAMES",
    "BY_TYPE",
    "CASE_EVENTS",
    "CASE_ID_PATTERN",
    "CATALOGUE",
    "CONTENT_TYPE",
    "MAX_EVENT_BYTES",
    "Area",
    "CaseId",
    "Category",
    "Envelope",
    "EventData",
    "HandlingMarking",
    "Level",
    "Rejection",
    "ReportingYear",
    "WireError",
    "make_event",
    "parse_event",
    "published_by",
    "to_wire",
]
