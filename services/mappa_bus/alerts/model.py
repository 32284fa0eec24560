"""Alerts are events too: CloudEvents on the alerts topic, keyed by area (with the withdrawal of
an alert whose triggering event its agency withdrew), and the coordinators' acknowledgements of
them on a topic of their own.

An alert's id is derived from its rule and what triggered it (an event id, or for time-driven
rules the case and the date that passed, with the action for an overdue plan action), so that
raising it again, after a restart or in a replay, makes the same event, which every reader
treats as the one it has.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Final, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from mappa_bus.access.policy import ViewerRole
from mappa_bus.agencies import Agency
from mappa_bus.catalogue import Area
from mappa_bus.catalogue.bus_event import BusEvent, derived_id
from mappa_bus.catalogue.vocabulary import CaseId, Category, HandlingMarking, Level
from mappa_bus.catalogue.withdrawal import WithdrawalReason

AlertId = Annotated[str, Field(min_length=1, max_length=256)]
"""An alert's id, as the alert event and every acknowledgement of it carry it (the service
derives a UUID; the bound is what any reader must accept)."""

ALERT_RAISED: Final = "uk.gov.mappa.alerts.alert-raised.v1"
ALERT_WITHDRAWN: Final = "uk.gov.mappa.alerts.alert-withdrawn.v1"
ALERT_ACKNOWLEDGED: Final = "uk.gov.mappa.coordinator.alert-acknowledged.v1"
_ID_NAMESPACE = uuid.UUID("6f1e0c52-93a4-4d0b-8c57-2b8e4f61a7d3")


class Severity(StrEnum):
    """How soon a coordinator must act."""

    URGENT = "urgent"  # today: risk may be live now (release, breach, recall)
    HIGH = "high"  # within days: the risk picture changed (new order, level raised, transfer)
    ROUTINE = "routine"  # at the next opportunity (housing, a victim's request, a late review)


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


class AlertData(_Frozen):
    """What an alert says: which rule fired for which case, and a summary its audience may see."""

    rule: str
    """The rule's name, e.g. `released-from-custody`."""
    severity: Severity
    audience: tuple[ViewerRole, ...]
    """The roles it is for; the summary holds nothing some of them may not see."""
    case_id: CaseId
    area: Area
    """The area whose coordinator it goes to (for a transfer out, the sending area)."""
    level: Level | None = None
    category: Category | None = None
    summary: str = Field(max_length=500)
    trigger_event_id: str | None = None
    """The event that fired it; None for a time-driven rule."""
    trigger_type: str | None = None
    trigger_agency: Agency | None = None
    happened_at: datetime | None = None
    """When the trigger happened (or, for a time-driven rule, the date that passed)."""
    recorded_at: datetime | None = None
    """When the trigger reached the bus: where publish-to-alert latency starts."""


def alert_id(rule: str, trigger: str) -> str:
    """The id of the alert `rule` raises for `trigger` (an event id, or `case:date`)."""
    return derived_id(_ID_NAMESPACE, rule, trigger)


class AlertRaised(BusEvent):
    """A CloudEvent carrying one alert."""

    id: AlertId = Field(
        description="Derived from rule and trigger: raising it again is a duplicate."
    )
    source: Literal["/mappa/alerts/service"] = "/mappa/alerts/service"
    type: Literal["uk.gov.mappa.alerts.alert-raised.v1"] = ALERT_RAISED
    time: AwareDatetime = Field(description="When the alert was raised.")
    subject: CaseId
    mappaarea: Area
    mappahandling: HandlingMarking = HandlingMarking.OFFICIAL_SENSITIVE
    data: AlertData

    @property
    def kafka_key(self) -> bytes:
        return self.mappaarea.value.encode()


def raised(data: AlertData, trigger: str, at: datetime) -> AlertRaised:
    """The event announcing `data`, fired by `trigger`, raised at `at`."""
    return AlertRaised(
        id=alert_id(data.rule, trigger),
        time=at,
        subject=data.case_id,
        mappaarea=data.area,
        data=data,
    )


class WithdrawalData(_Frozen):
    """Which alert is withdrawn, and why: the event that raised it was withdrawn by its agency."""

    alert_id: AlertId
    rule: str
    """The withdrawn alert's rule."""
    case_id: CaseId
    area: Area
    """The withdrawn alert's area."""
    withdrawn_event_id: str
    """The withdrawn event: the one that raised the alert, or one the case held when a later
    event raised it, which without it raises no such alert."""
    reason: WithdrawalReason
    """Why its agency withdrew it."""


class AlertWithdrawn(BusEvent):
    """A CloudEvent: an alert is withdrawn, the event that raised it having been withdrawn by its
    agency. On the alerts topic, keyed by area as the alert is, so it always follows it."""

    id: AlertId = Field(
        description="Derived from the alert's id: withdrawing it again is a duplicate."
    )
    source: Literal["/mappa/alerts/service"] = "/mappa/alerts/service"
    type: Literal["uk.gov.mappa.alerts.alert-withdrawn.v1"] = ALERT_WITHDRAWN
    time: AwareDatetime = Field(description="When the alert was withdrawn.")
    subject: CaseId
    mappaarea: Area
    mappahandling: HandlingMarking = HandlingMarking.OFFICIAL_SENSITIVE
    data: WithdrawalData

    @property
    def kafka_key(self) -> bytes:
        return self.mappaarea.value.encode()


def withdrawn(
    alert: AlertRaised, withdrawn_event_id: str, reason: WithdrawalReason, at: datetime
) -> AlertWithdrawn:
    """The event withdrawing `alert` at `at`, because its agency withdrew `withdrawn_event_id`
    (the alert's trigger, or an event the case held when it was raised) for `reason`."""
    return AlertWithdrawn(
        id=derived_id(_ID_NAMESPACE, "withdrawn", alert.id),
        time=at,
        subject=alert.subject,
        mappaarea=alert.mappaarea,
        data=WithdrawalData(
            alert_id=alert.id,
            rule=alert.data.rule,
            case_id=alert.data.case_id,
            area=alert.data.area,
            withdrawn_event_id=withdrawn_event_id,
            reason=reason,
        ),
    )


OnAlertsTopic = Annotated[AlertRaised | AlertWithdrawn, Field(discriminator="type")]
"""What the alerts topic carries: alerts, and their withdrawals."""


class AcknowledgementData(_Frozen):
    """Who acknowledged which alert (and, optionally, what they are doing about it)."""

    alert_id: AlertId
    acknowledged_by: str = Field(min_length=1, max_length=128)
    note: str | None = Field(default=None, max_length=500)


class AlertAcknowledged(BusEvent):
    """A CloudEvent: a coordinator acknowledged an alert."""

    id: str = Field(min_length=1, max_length=128)
    source: str = Field(pattern=r"^/mappa/coordinator/[a-z0-9][a-z0-9-]{0,39}$")
    type: Literal["uk.gov.mappa.coordinator.alert-acknowledged.v1"] = ALERT_ACKNOWLEDGED
    time: AwareDatetime = Field(description="When it was acknowledged.")
    subject: CaseId
    mappaarea: Area
    mappahandling: HandlingMarking = HandlingMarking.OFFICIAL_SENSITIVE
    data: AcknowledgementData

    @property
    def kafka_key(self) -> bytes:
        return self.mappaarea.value.encode()


def acknowledgement(
    alert: AlertRaised, *, by: str, at: datetime, system: str = "web", note: str | None = None
) -> AlertAcknowledged:
    """The event saying `by` acknowledged `alert` at `at` (one id per acknowledgement)."""
    return AlertAcknowledged(
        id=str(uuid.uuid4()),
        source=f"/mappa/coordinator/{system}",
        time=at,
        subject=alert.subject,
        mappaarea=alert.mappaarea,
        data=AcknowledgementData(alert_id=alert.id, acknowledged_by=by, note=note),
    )
