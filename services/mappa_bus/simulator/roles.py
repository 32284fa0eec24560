"""What the plan asks of one person: the shape of their year, before any date is drawn."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from mappa_bus.catalogue.areas import Area
from mappa_bus.catalogue.vocabulary import Category


class Course(StrEnum):
    """How a person's reporting year goes, and so where they are on 31 March."""

    # In the community on 31 March, under management.
    SETTLED = "settled"
    """Under management since before the year, in the community all year."""
    RELEASED = "released"
    """In custody when the year began, released on licence during it."""
    NEW_IN_COMMUNITY = "new-in-community"
    """A new registered sex offender who stays in the community (caution, community sentence,
    notification order, SRO breach)."""
    DISCHARGED = "discharged"
    """Detained in hospital when the year began, conditionally discharged during it."""
    TRANSFERRED_IN = "transferred-in"
    """Managed by another area when the year began, transferred in during it."""
    RERELEASED = "re-released"
    """On licence, recalled for a fixed term during the year and released again."""
    # In custody on 31 March.
    STILL_IN_CUSTODY = "still-in-custody"
    """In custody all year."""
    RECEIVED = "received"
    """Sent to custody during the year (a new sentence, a further offence, a breach)."""
    RECALLED = "recalled"
    """On licence, recalled during the year and still in custody."""
    SHPO_BREACH_RETURN = "shpo-breach-return"
    """Returned to custody for breach of a SHPO during the year."""
    # Elsewhere on 31 March.
    IN_HOSPITAL = "in-hospital"
    """Detained in hospital on 31 March."""
    ENDED = "ended"
    """MAPPA management ended during the year."""
    TRANSFERRED_OUT = "transferred-out"
    """Transferred to another area during the year."""
    PDP_ONLY = "pdp-only"
    """Never MAPPA-eligible: a potentially dangerous person under a Sexual Risk Order."""


class Entry(StrEnum):
    """How a person new in the year came under MAPPA (or into custody)."""

    CONVICTION = "conviction"
    CAUTION = "caution"
    NOTIFICATION_ORDER = "notification-order"
    SRO_BREACH = "sro-breach"
    NOTIFICATION_BREACH = "notification-breach"
    """An RSO already managed, convicted of a breach of notification and sent to prison."""
    FURTHER_OFFENCE = "further-offence"
    """A person already managed, returned to custody for a further offence."""


class Ending(StrEnum):
    """Why management ended during the year."""

    NOTIFICATION_EXPIRED = "notification-expired"
    REVOKED = "revoked"
    LICENCE_ENDED = "licence-ended"
    RISK_REDUCED = "risk-reduced"
    HOSPITAL_ORDER_ENDED = "hospital-order-ended"
    DEPORTED = "deported"
    DIED = "died"


class Shpo(StrEnum):
    """Whether, and how, a full SHPO is made during the year."""

    ON_CONVICTION = "on-conviction"
    ON_APPLICATION = "on-application"


@dataclass(frozen=True, slots=True)
class Role:
    """One person's part in the area's plan.

    `peak` is the highest level the planning area manages them at during the year; `final` the
    level they hold at the end of it (or when they leave the area or management). A counted
    return to custody happens at `returned_at`.
    """

    course: Course
    category: Category
    peak: int = 1
    final: int = 1
    returned_at: int | None = None
    entry: Entry = Entry.CONVICTION
    ending: Ending | None = None
    shpo: Shpo | None = None
    shpo_foreign_travel: bool = False
    notification_breach: bool = False
    partner: Area | None = None
    """The other area of a transfer in or out."""
