"""The event catalogue: complete, documented, and each type tied to the one agency that may
publish it."""

import re

import pytest

from mappa_bus.agencies import Agency
from mappa_bus.catalogue import AREA_NAMES, BY_TYPE, CATALOGUE, Area, EventData, published_by
from mappa_bus.catalogue.envelope import TYPE_PATTERN, Envelope
from mappa_bus.catalogue.examples import EXAMPLES

# The events the issue asks for, by publisher; each must be in the catalogue.
REQUIRED = {
    Agency.POLICE: {
        "sex-offender-registered",
        "notification-details-changed",
        "notification-breach-disposed",
        "shpo-made",
        "notification-order-made",
        "sro-made",
        "sro-breached-notification-imposed",
        "indefinite-notification-reviewed",
        "notification-requirements-ended",
        "potentially-dangerous-person-recorded",
    },
    Agency.PROBATION: {
        "mappa-eligibility-identified",
        "mappa-level-set",
        "mappa-meeting-held",
        "licence-conditions-set",
        "licence-breached",
        "recall-issued",
        "case-transfer-requested",
        "case-transfer-accepted",
        "mappa-management-ended",
    },
    Agency.PRISONS: {
        "received-into-custody",
        "release-date-confirmed",
        "released-from-custody",
        "temporary-release-granted",
        "returned-to-custody",
    },
    Agency.HEALTH: {
        "hospital-detention-started",
        "unescorted-leave-approved",
        "hospital-discharge-planned",
        "hospital-discharged",
    },
    Agency.HOUSING: {
        "housing-need-raised",
        "accommodation-secured",
        "accommodation-lost",
        "housing-panel-referral",
    },
    Agency.CHILDRENS_SERVICES: {"safeguarding-concern-linked", "child-contact-risk-recorded"},
    Agency.VICTIM_CONTACT: {"victim-opted-in", "licence-condition-requested"},
    Agency.YOUTH_OFFENDING: {"information-shared"},
    Agency.DWP: {"information-shared"},
    Agency.IMMIGRATION_ENFORCEMENT: {"information-shared", "deportation-decision-made"},
    Agency.MAPPA_UNIT: {"cases-merged", "cases-unmerged"},
}


@pytest.mark.parametrize("agency", list(Agency))
def test_every_agency_has_the_events_the_issue_names(agency: Agency) -> None:
    """Each agency publishes at least the event types the catalogue issue lists for it."""
    names = {model.NAME for model in published_by(agency)}

    assert REQUIRED[agency] <= names


def test_event_types_are_unique_and_well_formed() -> None:
    """Every type is `uk.gov.mappa.<publisher>.<name>.v<n>` and names exactly one model."""
    types = [model.event_type() for model in CATALOGUE]

    assert len(types) == len(set(types)) == len(BY_TYPE)
    for model in CATALOGUE:
        assert re.fullmatch(TYPE_PATTERN, model.event_type())
        assert model.event_type().split(".")[3] == model.PUBLISHER.value


@pytest.mark.parametrize("model", CATALOGUE, ids=lambda model: model.__name__)
def test_every_event_and_field_is_described(model: type[EventData]) -> None:
    """Each model has a docstring and each field a description that the schema will carry."""
    schema = model.model_json_schema()

    assert model.__doc__
    undocumented = [
        name for name, field in schema["properties"].items() if not field.get("description")
    ]
    assert undocumented == []


def test_every_envelope_attribute_is_described() -> None:
    """The envelope's attributes all carry a description into the schema."""
    schema = Envelope[EventData].model_json_schema()

    assert [
        name for name, field in schema["properties"].items() if not field.get("description")
    ] == []


def test_every_event_type_has_an_example() -> None:
    """The docs and tests have a worked example of every event type."""
    assert set(EXAMPLES) == set(CATALOGUE)


def test_there_are_forty_two_areas_with_names() -> None:
    """The reference list holds the 42 MAPPA areas of England and Wales, Kent among them."""
    assert (len(Area), AREA_NAMES[Area.KENT], AREA_NAMES[Area.DEVON_AND_CORNWALL]) == (
        42,
        "Kent",
        "Devon and Cornwall",
    )
