"""From the counts an area-year must show to the roles of the people who will show them.

The plan is exact: each published cell becomes that many people whose year puts them in it, so
the truth computed from the people equals the targets. People the tables do not count are added
around them from the uncounted flows (custody, hospital, endings, transfers out).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import TypeVar

from mappa_bus.catalogue.areas import Area
from mappa_bus.catalogue.vocabulary import Category
from mappa_bus.reporting.tables import MappaStatistics
from mappa_bus.simulator.rates import (
    HIGH_LEVEL_COURSES,
    HIGH_LEVEL_ENDS,
    LEVEL_1_COURSES,
    NOTIFICATION_BREACH_TO_CUSTODY,
    SHPO_ON_APPLICATION,
    SHPO_ON_COMMUNITY_CONVICTION,
    UNCOUNTED_FLOWS,
    poisson,
)
from mappa_bus.simulator.roles import Course, Ending, Entry, Role, Shpo

C1 = Category.REGISTERED_SEX_OFFENDER
TRANSFERS = (Course.TRANSFERRED_IN, Course.TRANSFERRED_OUT)
T = TypeVar("T")


def plan_roles(
    rng: random.Random, targets: MappaStatistics, flow_factor: float, partners: Sequence[Area]
) -> list[Role]:
    """The people of one area-year, in a random order, realising `targets` exactly.

    `flow_factor` sizes the uncounted flows (1.0 for a Kent-sized area); `partners` are the
    areas transfers may come from or go to.
    """
    t1 = targets.eligible_on_31_march
    pool = {cat: t1[1].get(cat, 0) for cat in (1, 2)}
    roles = _high_level_in_community(rng, targets)
    roles += _new_rsos(targets, pool)
    roles += _high_level_elsewhere(rng, targets, pool)
    roles += _level_1_in_community(rng, pool)
    roles += _uncounted(rng, flow_factor)
    roles += [Role(Course.ENDED, C1, ending=Ending.REVOKED)] * targets.lifetime_notification_revoked
    roles = _with_notification_breaches(rng, roles, targets.notification_breaches)
    roles = _with_shpos(rng, roles, targets)
    roles = [_with_partner(rng, role, partners) for role in roles]
    rng.shuffle(roles)
    return roles


def _high_level_in_community(rng: random.Random, targets: MappaStatistics) -> list[Role]:
    roles = []
    for level in (2, 3):
        for cat, count in targets.eligible_on_31_march[level].items():
            courses = HIGH_LEVEL_COURSES[Category(cat)]
            roles += [
                Role(_pick(rng, courses), Category(cat), peak=level, final=level)
                for _ in range(count)
            ]
    return roles


def _new_rsos(targets: MappaStatistics, pool: dict[int, int]) -> list[Role]:
    """New RSOs under a notification order (level 1, community) and after an SRO breach (in
    the community while the level 1 pool lasts, then sent to prison for the breach)."""
    orders = min(targets.notification_orders, pool[1])
    sro = min(targets.sro_breach_notifications, pool[1] - orders)
    pool[1] -= orders + sro
    return (
        [Role(Course.NEW_IN_COMMUNITY, C1, entry=Entry.NOTIFICATION_ORDER)] * orders
        + [Role(Course.NEW_IN_COMMUNITY, C1, entry=Entry.SRO_BREACH)] * sro
        + [Role(Course.RECEIVED, C1, entry=Entry.SRO_BREACH)]
        * (targets.sro_breach_notifications - sro)
    )


def _high_level_elsewhere(
    rng: random.Random, targets: MappaStatistics, pool: dict[int, int]
) -> list[Role]:
    """People at level 2 or 3 in the year who are not in the community at it on 31 March."""
    roles: list[Role] = []
    for level in (2, 3):
        for cat, total in targets.levels_2_and_3_in_year[level].items():
            category = Category(cat)
            recalled = targets.returned_for_breach_of_licence[level][cat]
            shpo = targets.returned_for_breach_of_sopo[level] if cat == 1 else 0
            rest = total - targets.eligible_on_31_march[level][cat] - recalled - shpo
            roles += [_returned(Course.RECALLED, category, level)] * recalled
            roles += [_returned(Course.SHPO_BREACH_RETURN, C1, level)] * shpo
            roles += [_high_level_end(rng, category, level, pool) for _ in range(rest)]
    return roles


def _returned(course: Course, category: Category, level: int) -> Role:
    return Role(course, category, peak=level, final=level, returned_at=level)


def _high_level_end(
    rng: random.Random, category: Category, level: int, pool: dict[int, int]
) -> Role:
    end = _pick(rng, HIGH_LEVEL_ENDS[category])
    if isinstance(end, Role):
        return replace(end, peak=level, final=level)
    if pool.get(category, 0) > 0:
        pool[category] -= 1
        course = rng.choice((Course.SETTLED, Course.RELEASED))
        return Role(course, category, peak=level, final=1)
    return Role(Course.STILL_IN_CUSTODY, category, peak=level, final=level)


def _level_1_in_community(rng: random.Random, pool: dict[int, int]) -> list[Role]:
    roles = []
    for cat, count in pool.items():
        category = Category(cat)
        for _ in range(count):
            course = _pick(rng, LEVEL_1_COURSES[category])
            entry = rng.choice((Entry.CONVICTION, Entry.CAUTION))
            roles.append(Role(course, category, entry=entry))
    pool.update(dict.fromkeys(pool, 0))
    return roles


def _uncounted(rng: random.Random, factor: float) -> list[Role]:
    roles = []
    for role, mean in UNCOUNTED_FLOWS:
        roles += [role] * poisson(rng, mean * factor)
    return roles


def _with_notification_breaches(rng: random.Random, roles: list[Role], count: int) -> list[Role]:
    """Flag `count` RSOs in the community as cautioned or convicted for a notification breach;
    some go to prison for it instead."""
    settled = [i for i, role in enumerate(roles) if _is_settled_rso(role)]
    to_custody = round(count * NOTIFICATION_BREACH_TO_CUSTODY)
    chosen = set(rng.sample(settled, min(count - to_custody, len(settled))))
    flagged = [replace(role, notification_breach=i in chosen) for i, role in enumerate(roles)]
    missing = count - len(chosen)
    return flagged + [Role(Course.RECEIVED, C1, entry=Entry.NOTIFICATION_BREACH)] * missing


def _with_shpos(rng: random.Random, roles: list[Role], targets: MappaStatistics) -> list[Role]:
    """Give the year's full SHPOs to people: on application to settled RSOs, on conviction to
    new RSOs in the community and in custody (adding convicted people when short)."""
    total = targets.shpos + targets.shpos_with_foreign_travel_restriction
    on_application = _take(rng, roles, _is_settled_rso, round(total * SHPO_ON_APPLICATION))
    community = _take(
        rng, roles, _is_community_conviction, round(total * SHPO_ON_COMMUNITY_CONVICTION)
    )
    custody = _take(
        rng, roles, _is_custodial_conviction, total - len(on_application) - len(community)
    )
    extra = total - len(on_application) - len(community) - len(custody)
    roles = roles + [Role(Course.RECEIVED, C1)] * extra
    custody += range(len(roles) - extra, len(roles))
    given = on_application + community + custody
    restricted = set(rng.sample(given, targets.shpos_with_foreign_travel_restriction))
    applied = set(on_application)
    for i in given:
        kind = Shpo.ON_APPLICATION if i in applied else Shpo.ON_CONVICTION
        roles[i] = replace(roles[i], shpo=kind, shpo_foreign_travel=i in restricted)
    return roles


def _with_partner(rng: random.Random, role: Role, partners: Sequence[Area]) -> Role:
    if role.course not in TRANSFERS:
        return role
    return replace(role, partner=rng.choice(partners))


def _take(
    rng: random.Random, roles: list[Role], fits: Callable[[Role], bool], count: int
) -> list[int]:
    candidates = [i for i, role in enumerate(roles) if fits(role) and role.shpo is None]
    return rng.sample(candidates, min(max(count, 0), len(candidates)))


def _is_settled_rso(role: Role) -> bool:
    return role.course is Course.SETTLED and role.category is C1 and role.peak == 1


def _is_community_conviction(role: Role) -> bool:
    return role.course is Course.NEW_IN_COMMUNITY and role.entry is Entry.CONVICTION


def _is_custodial_conviction(role: Role) -> bool:
    return role.course is Course.RECEIVED and role.category is C1 and role.entry is Entry.CONVICTION


def _pick(rng: random.Random, choices: Sequence[tuple[T, float]]) -> T:
    items = [item for item, _ in choices]
    weights = [weight for _, weight in choices]
    return rng.choices(items, weights)[0]
