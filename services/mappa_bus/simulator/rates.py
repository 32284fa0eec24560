"""How much of everything a simulated area-year holds, shaped like Kent 2020-21.

The published tables give the counted things; the people the tables never show (those in custody
or hospital on 31 March, those whose management ended, transfers out, potentially dangerous
people under an SRO) are simulation assumptions, written per Kent-sized area-year below and
labelled as such. A generic area draws every count from a Poisson distribution around the Kent
figure times its size; the Kent scenario takes the published tables as they are.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

from mappa_bus.agencies import Agency
from mappa_bus.catalogue.areas import Area
from mappa_bus.catalogue.plans import ClosureReason, RiskLevel
from mappa_bus.catalogue.vocabulary import Category
from mappa_bus.reporting.tables import LevelByCategory, MappaStatistics, kent_2020_21
from mappa_bus.simulator.roles import Course, Ending, Entry, Role

C1, C2, C3 = (
    Category.REGISTERED_SEX_OFFENDER,
    Category.VIOLENT_OFFENDER,
    Category.OTHER_DANGEROUS_OFFENDER,
)

# SIMULATION ASSUMPTIONS, per Kent-sized area-year: people the published tables do not count.
UNCOUNTED_FLOWS: tuple[tuple[Role, float], ...] = (
    (Role(Course.STILL_IN_CUSTODY, C1), 430),
    (Role(Course.STILL_IN_CUSTODY, C2), 300),
    (Role(Course.RECEIVED, C1), 40),
    (Role(Course.RECEIVED, C2), 140),
    (Role(Course.RECEIVED, C1, entry=Entry.FURTHER_OFFENCE), 6),
    (Role(Course.RECEIVED, C2, entry=Entry.FURTHER_OFFENCE), 25),
    (Role(Course.RECALLED, C1, returned_at=1), 20),
    (Role(Course.RECALLED, C2, returned_at=1), 70),
    (Role(Course.SHPO_BREACH_RETURN, C1, returned_at=1), 4),
    (Role(Course.IN_HOSPITAL, C1), 8),
    (Role(Course.IN_HOSPITAL, C2), 35),
    (Role(Course.ENDED, C1, ending=Ending.NOTIFICATION_EXPIRED), 110),
    (Role(Course.ENDED, C1, ending=Ending.DIED), 12),
    (Role(Course.ENDED, C1, ending=Ending.DEPORTED), 2),
    (Role(Course.ENDED, C2, ending=Ending.LICENCE_ENDED), 420),
    (Role(Course.ENDED, C2, ending=Ending.HOSPITAL_ORDER_ENDED), 4),
    (Role(Course.ENDED, C2, ending=Ending.DEPORTED), 6),
    (Role(Course.ENDED, C2, ending=Ending.DIED), 4),
    (Role(Course.TRANSFERRED_OUT, C1), 30),
    (Role(Course.TRANSFERRED_OUT, C2), 20),
    (Role(Course.PDP_ONLY, C1), 8),
)

# SIMULATION ASSUMPTIONS: how the people at level 1 in the community on 31 March came to be
# there (shares of table 1's level 1 cell; the rest are settled).
LEVEL_1_COURSES: Mapping[Category, tuple[tuple[Course, float], ...]] = {
    C1: (
        (Course.NEW_IN_COMMUNITY, 0.035),
        (Course.RELEASED, 0.065),
        (Course.TRANSFERRED_IN, 0.015),
        (Course.RERELEASED, 0.003),
        (Course.DISCHARGED, 0.002),
        (Course.SETTLED, 0.88),
    ),
    C2: (
        (Course.RELEASED, 0.5),
        (Course.DISCHARGED, 0.025),
        (Course.TRANSFERRED_IN, 0.03),
        (Course.RERELEASED, 0.04),
        (Course.SETTLED, 0.405),
    ),
}

# SIMULATION ASSUMPTIONS: how people at level 2 or 3 on 31 March came to be there.
HIGH_LEVEL_COURSES: Mapping[Category, tuple[tuple[Course, float], ...]] = {
    C1: ((Course.SETTLED, 0.65), (Course.RELEASED, 0.35)),
    C2: ((Course.SETTLED, 0.5), (Course.RELEASED, 0.4), (Course.DISCHARGED, 0.1)),
    C3: ((Course.SETTLED, 0.8), (Course.DISCHARGED, 0.2)),
}

# SIMULATION ASSUMPTIONS: where people managed at level 2 or 3 during the year, but not in the
# community at that level on 31 March, ended the year. "Stepped down" means back to level 1 in
# the community (never for category 3, who are not managed at level 1).
STEPPED_DOWN = "stepped-down"
HIGH_LEVEL_ENDS: Mapping[Category, tuple[tuple[Role | str, float], ...]] = {
    C1: (
        (STEPPED_DOWN, 0.4),
        (Role(Course.STILL_IN_CUSTODY, C1), 0.25),
        (Role(Course.RECEIVED, C1, entry=Entry.FURTHER_OFFENCE), 0.1),
        (Role(Course.ENDED, C1, ending=Ending.DIED), 0.05),
        (Role(Course.IN_HOSPITAL, C1), 0.1),
        (Role(Course.TRANSFERRED_OUT, C1), 0.1),
    ),
    C2: (
        (STEPPED_DOWN, 0.35),
        (Role(Course.STILL_IN_CUSTODY, C2), 0.2),
        (Role(Course.RECEIVED, C2, entry=Entry.FURTHER_OFFENCE), 0.1),
        (Role(Course.ENDED, C2, ending=Ending.LICENCE_ENDED), 0.2),
        (Role(Course.IN_HOSPITAL, C2), 0.1),
        (Role(Course.TRANSFERRED_OUT, C2), 0.05),
    ),
    C3: (
        (Role(Course.ENDED, C3, ending=Ending.RISK_REDUCED), 0.5),
        (Role(Course.STILL_IN_CUSTODY, C3), 0.2),
        (Role(Course.IN_HOSPITAL, C3), 0.2),
        (Role(Course.TRANSFERRED_OUT, C3), 0.1),
    ),
}

# SIMULATION ASSUMPTIONS: of the full SHPOs made in the year, the share made on a free-standing
# application for an RSO already in the community and the share made on a conviction that did
# not lead to custody (the rest were made on a conviction with a custodial sentence).
SHPO_ON_APPLICATION = 0.25
SHPO_ON_COMMUNITY_CONVICTION = 0.15
# Of the RSOs cautioned or convicted for breach of notification, the share who went to prison.
NOTIFICATION_BREACH_TO_CUSTODY = 0.2

# Where Kent printed 0, a small rate per Kent-sized area-year (SIMULATION ASSUMPTIONS) so that
# every row of every table is exercised somewhere in a national run.
ZERO_FLOORS: Mapping[str, float] = {
    "t1-3-1": 0.5,
    "t1-3-2": 0.5,
    "t5-ftr": 3.0,
    "t7-3-1": 0.3,
    "t7-sopo-2": 0.4,
    "t7-sopo-3": 0.1,
}


def poisson(rng: random.Random, mean: float) -> int:
    """A Poisson draw (Knuth's method for small means, a rounded normal for large ones)."""
    if mean <= 0:
        return 0
    if mean > 40:
        return max(0, round(rng.gauss(mean, math.sqrt(mean))))
    limit, count, product = math.exp(-mean), 0, rng.random()
    while product > limit:
        count += 1
        product *= rng.random()
    return count


def generic_targets(
    rng: random.Random, area: Area, year_start: date, factor: float
) -> MappaStatistics:
    """Tables for `area` drawn around Kent 2020-21's times `factor`, made consistent."""
    kent = kent_2020_21()

    def draw(value: int, floor_key: str = "") -> int:
        return poisson(rng, factor * (value or ZERO_FLOORS.get(floor_key, 0.0)))

    def grid(table: LevelByCategory, prefix: str) -> LevelByCategory:
        return {
            level: {cat: draw(n, f"{prefix}-{level}-{cat}") for cat, n in row.items()}
            for level, row in table.items()
        }

    drawn = kent.model_copy(
        update={
            "area": area,
            "year_start": year_start,
            "eligible_on_31_march": grid(kent.eligible_on_31_march, "t1"),
            "levels_2_and_3_in_year": grid(kent.levels_2_and_3_in_year, "t2"),
            "notification_breaches": draw(kent.notification_breaches),
            "lifetime_notification_revoked": draw(kent.lifetime_notification_revoked),
            "shpos": draw(kent.shpos),
            "shpos_with_foreign_travel_restriction": draw(0, "t5-ftr"),
            "notification_orders": draw(kent.notification_orders),
            "sro_breach_notifications": draw(kent.sro_breach_notifications),
            "returned_for_breach_of_licence": grid(kent.returned_for_breach_of_licence, "t7"),
            "returned_for_breach_of_sopo": {
                level: draw(n, f"t7-sopo-{level}")
                for level, n in kent.returned_for_breach_of_sopo.items()
            },
            "rsos_per_100k": None,
        }
    )
    return consistent(drawn)


def consistent(targets: MappaStatistics) -> MappaStatistics:
    """`targets` trimmed so that one set of people can realise them all.

    Everyone at level 2 or 3 on 31 March was managed at that level in the year; category 3 is
    never at level 1; a counted return to custody needs someone at that level who is not in the
    community at it on 31 March; a notification order makes a new RSO at level 1 in the
    community.
    """
    t1 = {level: dict(row) for level, row in targets.eligible_on_31_march.items()}
    t1[1][3] = 0
    t2 = {
        level: {cat: max(n, t1[level][cat]) for cat, n in row.items()}
        for level, row in targets.levels_2_and_3_in_year.items()
    }
    spare = {
        level: {cat: t2[level][cat] - t1[level][cat] for cat in row} for level, row in t2.items()
    }
    licence = {
        level: {cat: min(n, spare[level][cat]) for cat, n in row.items()}
        for level, row in targets.returned_for_breach_of_licence.items()
    }
    sopo = {
        level: min(n, spare[level][1] - licence[level][1])
        for level, n in targets.returned_for_breach_of_sopo.items()
    }
    return targets.model_copy(
        update={
            "eligible_on_31_march": t1,
            "levels_2_and_3_in_year": t2,
            "returned_for_breach_of_licence": licence,
            "returned_for_breach_of_sopo": sopo,
            "notification_orders": min(targets.notification_orders, t1[1][1]),
        }
    )


# --- risk management plans -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Punctuality:
    """How one agency deals with the plan actions it owns (SIMULATION ASSUMPTIONS).

    The four outcome shares (done by the due date in force, done after it, closed without being
    done, never recorded) are weights, normalised when drawn. `mean_days_late` is the mean of
    a late completion's lateness (at least one day, exponential beyond it); `redated` the share
    of actions whose due date is moved (once, or for some twice) before their outcome.
    """

    on_time: float
    late: float
    closed: float
    still_open: float
    mean_days_late: float
    redated: float
    closure_reasons: tuple[tuple[ClosureReason, float], ...] = (
        (ClosureReason.NO_LONGER_NEEDED, 0.4),
        (ClosureReason.PERSON_IN_CUSTODY, 0.15),
        (ClosureReason.CASE_TRANSFERRED, 0.05),
        (ClosureReason.NOT_POSSIBLE, 0.25),
        (ClosureReason.SUPERSEDED_BY_NEW_ACTION, 0.15),
    )

    def __post_init__(self) -> None:
        shares = (self.on_time, self.late, self.closed, self.still_open)
        if min(shares) < 0 or sum(shares) <= 0:
            raise ValueError("punctuality: outcome shares must be >= 0 and not all 0")
        if not 0 <= self.redated <= 1 or self.mean_days_late < 1:
            raise ValueError("punctuality: redated must be a share, mean_days_late >= 1")


# SIMULATION ASSUMPTIONS: the responsible authorities keep to their plans best; agencies that
# depend on others' resources (housing, health, DWP, immigration) are later and leave more open.
PUNCTUALITY: Mapping[Agency, Punctuality] = {
    Agency.POLICE: Punctuality(0.74, 0.16, 0.05, 0.05, 10, 0.18),
    Agency.PROBATION: Punctuality(0.8, 0.12, 0.05, 0.03, 8, 0.15),
    Agency.PRISONS: Punctuality(0.62, 0.2, 0.1, 0.08, 16, 0.25),
    Agency.HEALTH: Punctuality(0.55, 0.25, 0.1, 0.1, 21, 0.3),
    Agency.HOUSING: Punctuality(0.42, 0.3, 0.12, 0.16, 28, 0.35),
    Agency.CHILDRENS_SERVICES: Punctuality(0.66, 0.2, 0.08, 0.06, 12, 0.2),
    Agency.VICTIM_CONTACT: Punctuality(0.78, 0.14, 0.05, 0.03, 7, 0.12),
    Agency.YOUTH_OFFENDING: Punctuality(0.7, 0.18, 0.07, 0.05, 10, 0.2),
    Agency.DWP: Punctuality(0.5, 0.25, 0.1, 0.15, 20, 0.25),
    Agency.IMMIGRATION_ENFORCEMENT: Punctuality(0.45, 0.25, 0.15, 0.15, 30, 0.3),
}

# SIMULATION ASSUMPTIONS: how many actions a level 2 or 3 meeting agrees (1 to 4), and how
# much more often than a guest each core agency takes one on. A guest attends because it has
# something to do, so it is never much less likely to own an action than the core agencies.
ACTIONS_PER_MEETING: tuple[tuple[int, float], ...] = ((1, 0.3), (2, 0.35), (3, 0.25), (4, 0.1))
OWNER_WEIGHTS: Mapping[Agency, float] = {Agency.PROBATION: 3.0, Agency.POLICE: 2.0}
GUEST_OWNER_WEIGHT = 1.5
# Agencies that come to a meeting only for something of theirs to do (DWP rarely attends; a
# youth offending team or immigration enforcement attend because of who the person is): each
# present owns one of the meeting's actions at least.
ATTENDS_TO_ACT: tuple[Agency, ...] = (
    Agency.DWP,
    Agency.YOUTH_OFFENDING,
    Agency.IMMIGRATION_ENFORCEMENT,
)

# SIMULATION ASSUMPTIONS: the overall risk of serious harm an assessment finds, by the level the
# case is managed at when it is made. A few level 1 cases are assessed high (a case whose level
# has not caught up with its risk yet, which the coordinators' alerts look for).
RISK_BY_LEVEL: Mapping[int, tuple[tuple[RiskLevel, float], ...]] = {
    1: ((RiskLevel.LOW, 0.39), (RiskLevel.MEDIUM, 0.6), (RiskLevel.HIGH, 0.01)),
    2: ((RiskLevel.MEDIUM, 0.3), (RiskLevel.HIGH, 0.65), (RiskLevel.VERY_HIGH, 0.05)),
    3: ((RiskLevel.HIGH, 0.4), (RiskLevel.VERY_HIGH, 0.6)),
}
