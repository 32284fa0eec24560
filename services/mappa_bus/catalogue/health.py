"""Events health services publish: detention in hospital, leave and discharge."""

from __future__ import annotations

from datetime import date
from typing import ClassVar, Literal

from mappa_bus.agencies import Agency
from mappa_bus.catalogue.base import EventData


class _HealthEvent(EventData):
    PUBLISHER: ClassVar[Agency] = Agency.HEALTH


class HospitalDetentionStarted(_HealthEvent):
    """The person was detained in hospital under a hospital order or the Mental Health Act."""

    NAME: ClassVar[str] = "hospital-detention-started"

    detained_on: date
    """Date detention began."""
    basis: Literal[
        "hospital-order", "hospital-order-with-restrictions", "prison-transfer", "civil-section"
    ]
    """The legal basis of the detention."""


class UnescortedLeaveApproved(_HealthEvent):
    """Unescorted leave from hospital was approved."""

    NAME: ClassVar[str] = "unescorted-leave-approved"

    approved_on: date
    """Date of approval."""
    leave_starts_on: date
    """First day of unescorted leave."""


class HospitalDischargePlanned(_HealthEvent):
    """A conditional or absolute discharge from hospital is planned."""

    NAME: ClassVar[str] = "hospital-discharge-planned"

    planned_for: date
    """The planned date of discharge."""
    discharge: Literal["conditional", "absolute"]
    """The kind of discharge."""


class HospitalDischarged(_HealthEvent):
    """The person was discharged from hospital."""

    NAME: ClassVar[str] = "hospital-discharged"

    discharged_on: date
    """Date of discharge."""
    discharge: Literal["conditional", "absolute"]
    """The kind of discharge."""
