"""Events the police publish: registration, notification, and the civil orders they apply for."""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import ClassVar, Literal

from pydantic import Field

from mappa_bus.agencies import Agency
from mappa_bus.catalogue.base import EventData
from mappa_bus.catalogue.vocabulary import NotificationPeriod


class RegistrationTrigger(StrEnum):
    """Why a person became subject to the notification requirements."""

    CONVICTION = "conviction"
    CAUTION = "caution"
    FINDING_OF_NOT_GUILTY_BY_INSANITY = "finding-not-guilty-by-insanity"
    NOTIFICATION_ORDER = "notification-order"
    SRO_BREACH = "sro-breach"


class NotifiableDetail(StrEnum):
    """A kind of detail an RSO must notify (the detail itself never travels on the bus)."""

    NAME = "name"
    HOME_ADDRESS = "home-address"
    OTHER_ADDRESS = "other-address"
    FOREIGN_TRAVEL = "foreign-travel"
    BANK_ACCOUNT = "bank-account"
    IDENTITY_DOCUMENT = "identity-document"
    HOUSEHOLD_WITH_CHILD = "household-with-child"


class _PoliceEvent(EventData):
    PUBLISHER: ClassVar[Agency] = Agency.POLICE


class SexOffenderRegistered(_PoliceEvent):
    """A person became a registered sex offender: the notification requirements started."""

    NAME: ClassVar[str] = "sex-offender-registered"

    notification_start: date
    """First day of the notification requirements."""
    notification_period_months: NotificationPeriod
    trigger: RegistrationTrigger
    """What made the person subject to the notification requirements."""


class NotificationDetailsChanged(_PoliceEvent):
    """An RSO notified a change of the details they must keep the police informed of."""

    NAME: ClassVar[str] = "notification-details-changed"

    notified_on: date
    """When the change was notified."""
    changed: list[NotifiableDetail] = Field(min_length=1)
    """Which kinds of detail changed (not their values)."""


class NotificationBreachDisposed(_PoliceEvent):
    """An RSO was cautioned or convicted for breach of the notification requirements."""

    NAME: ClassVar[str] = "notification-breach-disposed"

    disposed_on: date
    """Date of the caution or conviction."""
    outcome: Literal["caution", "conviction"]
    """Whether the breach ended in a caution or a conviction."""


class ShpoMade(_PoliceEvent):
    """A court made a Sexual Harm Prevention Order (interim or full)."""

    NAME: ClassVar[str] = "shpo-made"

    made_on: date
    """Date the court made the order."""
    interim: bool
    """True for an interim SHPO pending the full hearing."""
    foreign_travel_restriction: bool
    """True when the order restricts travel abroad."""
    expires_on: date | None = None
    """Last day of the order; null when it runs until further order."""
    on_application: bool = False
    """True when made on a free-standing application by a chief officer or the NCA rather than
    on conviction."""


class NotificationOrderMade(_PoliceEvent):
    """A court made a Notification Order for a person convicted of a sexual offence abroad."""

    NAME: ClassVar[str] = "notification-order-made"

    made_on: date
    """Date the court made the order."""
    notification_period_months: NotificationPeriod


class SroMade(_PoliceEvent):
    """A court made a Sexual Risk Order; the person is recorded as a potentially dangerous
    person."""

    NAME: ClassVar[str] = "sro-made"

    made_on: date
    """Date the court made the order."""
    interim: bool
    """True for an interim SRO pending the full hearing."""
    foreign_travel_restriction: bool
    """True when the order restricts travel abroad (for at most five years, renewable)."""
    expires_on: date | None = None
    """Last day of the order (at least two years after it was made); null when open-ended."""


class SroBreachedNotificationImposed(_PoliceEvent):
    """A person breached a Sexual Risk Order and so became subject to full notification
    requirements."""

    NAME: ClassVar[str] = "sro-breached-notification-imposed"

    breached_on: date
    """Date of the breach."""
    notification_start: date
    """First day of the notification requirements that followed."""


class RestrictiveOrderBreached(_PoliceEvent):
    """A person breached a SHPO (or a SOPO it replaced) or an SRO."""

    NAME: ClassVar[str] = "restrictive-order-breached"

    order: Literal["shpo", "sopo", "sro"]
    """The order that was breached."""
    breached_on: date
    """Date of the breach."""
    charged: bool
    """True when the person was charged with the breach."""


class IndefiniteNotificationReviewed(_PoliceEvent):
    """The police reviewed indefinite notification requirements on the offender's application."""

    NAME: ClassVar[str] = "indefinite-notification-reviewed"

    decided_on: date
    """Date of the review decision."""
    decision: Literal["revoked", "retained"]
    """Whether the lifetime notification was revoked or kept."""
    next_review_on: date | None = None
    """When the person may next apply, if the requirements were retained."""


class NotificationEndReason(StrEnum):
    """Why the notification requirements ended."""

    PERIOD_EXPIRED = "period-expired"
    REVOKED_ON_REVIEW = "revoked-on-review"
    CONVICTION_QUASHED = "conviction-quashed"
    DIED = "died"


class NotificationRequirementsEnded(_PoliceEvent):
    """The notification requirements ended."""

    NAME: ClassVar[str] = "notification-requirements-ended"

    ended_on: date
    """Last day of the notification requirements."""
    reason: NotificationEndReason
    """Why they ended."""


class PotentiallyDangerousPersonRecorded(_PoliceEvent):
    """The police recorded a potentially dangerous person on ViSOR."""

    NAME: ClassVar[str] = "potentially-dangerous-person-recorded"

    recorded_on: date
    """Date of the ViSOR record."""
    basis: Literal["sexual-risk-order", "other-risk-of-serious-harm"]
    """Why the person is recorded: an SRO, or other evidence of risk of serious harm."""
