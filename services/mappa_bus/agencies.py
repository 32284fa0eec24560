"""The agencies that share information under MAPPA, each of which publishes on its own topic."""

from __future__ import annotations

from enum import StrEnum


class Agency(StrEnum):
    """An agency that may publish events onto the bus.

    The three Responsible Authorities (police, probation, prisons) and the Duty to Co-operate
    agencies named by the seed report; the victim contact scheme is run by probation's Victim
    Liaison Officers but publishes as its own agency because its data has its own audience.
    """

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
