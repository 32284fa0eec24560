"""Who publishes on the bus, each on its own topic: the agencies that share information under
MAPPA, and the MAPPA unit, which administers MAPPA and shares nothing of its own."""

from __future__ import annotations

from enum import StrEnum
from typing import Any


class Agency(StrEnum):
    """An agency that may publish events onto the bus.

    The three Responsible Authorities (police, probation, prisons) and the Duty to Co-operate
    agencies named by the seed report; the victim contact scheme is run by probation's Victim
    Liaison Officers but publishes as its own agency because its data has its own audience.
    """

    # The MAPPA unit (each area's MAPPA Co-ordination Unit, which administers MAPPA) publishes as
    # one too, for what only it decides: that two case ids are one person (catalogue/merges.py).
    # It has a topic, a principal and a key per area like every agency, but shares nothing about
    # a case, so what lists the sharing agencies (partnership tables, the simulator, an event's
    # `shared_with`) uses SHARING_AGENCIES. The docstring above is the contract's description
    # of the agencies an event's data may name, so this note is a comment.

    POLICE = "police"
    PROBATION = "probation"
    PRISONS = "prisons"
    HEALTH = "health"
    HOUSING = "housing"
    CHILDRENS_SERVICES = "childrens-services"
    VICTIM_CONTACT = "victim-contact"
    YOUTH_OFFENDING = "youth-offending"
    DWP = "dwp"
    IMMIGRATION_ENFORCEMENT = "immigration-enforcement"
    MAPPA_UNIT = "mappa-unit"

    @classmethod
    def __get_pydantic_json_schema__(cls, core_schema: Any, handler: Any) -> Any:
        """The JSON Schema of an agency in an event's data (pydantic calls this): a sharing
        agency, since the MAPPA unit appears only as a publisher (`source`, its topic) and
        `catalogue.vocabulary.SharingAgency` refuses it in data."""
        schema = handler(core_schema)
        definition = handler.resolve_ref_schema(schema)
        definition["enum"] = [agency.value for agency in SHARING_AGENCIES]
        return schema


SHARING_AGENCIES: tuple[Agency, ...] = tuple(a for a in Agency if a is not Agency.MAPPA_UNIT)
"""The agencies that share information about cases: every publisher but the MAPPA unit."""
