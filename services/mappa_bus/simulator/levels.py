"""A person's MAPPA levels over time, and the level 2 and 3 meetings they bring."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date

from mappa_bus.agencies import Agency
from mappa_bus.catalogue import ReportingYear
from mappa_bus.catalogue.probation import LevelReason, MappaMeetingHeld
from mappa_bus.catalogue.vocabulary import Category, Level
from mappa_bus.simulator.dates import day_between, days, first_change
from mappa_bus.simulator.person import LevelStay, Note, Step

# Level 2 and 3 cases are reviewed at a meeting roughly every 8 to 16 weeks.
MEETING_GAP_DAYS = (56, 112)
# Agencies that may join probation and police at a meeting, with how often they attend.
MEETING_GUESTS = (
    (Agency.HOUSING, 0.45),
    (Agency.HEALTH, 0.35),
    (Agency.CHILDRENS_SERVICES, 0.3),
    (Agency.VICTIM_CONTACT, 0.25),
    (Agency.PRISONS, 0.15),
    (Agency.DWP, 0.05),
)


@dataclass(frozen=True, slots=True)
class LevelPlan:
    """What a person's levels must do in the year.

    `peak` is reached at some time the area manages them during the year, `final` held at the
    end of `last` (the last day the area manages them in the year), and `hold`, when set, is a
    day on which the level must be `peak` (a counted return to custody).
    """

    category: Category
    identified_on: date
    peak: int
    final: int
    last: date
    hold: date | None = None
    release_on: date | None = None
    """A release during the year, which makes a rise before it a release-planning one."""


def level_track(rng: random.Random, year: ReportingYear, plan: LevelPlan) -> list[LevelStay]:
    """Level stays that realise `plan`, starting with the level set at identification."""
    base = 2 if plan.category is Category.OTHER_DANGEROUS_OFFENDER else 1
    if plan.peak == 1:
        return _level_1_track(rng, year, plan)
    first = max(first_change(year), plan.identified_on)
    rise = _rise_day(rng, year, plan, first)
    stays = [_stay(base if rise > plan.identified_on else plan.peak, plan.identified_on, rng)]
    if rise > plan.identified_on and plan.peak != base:
        stays.append(_stay(plan.peak, rise, rng, _rise_reason(rise, plan)))
    if plan.final != plan.peak:
        after = max(rise, plan.hold or rise, first - days(1)) + days(1)
        stays.append(_stay(plan.final, day_between(rng, after, plan.last), rng, "down"))
    return stays


def meetings(
    rng: random.Random,
    stays: list[LevelStay],
    stop: date,
    case_id: str,
    also_present: tuple[Agency, ...] = (),
) -> list[Note]:
    """Level 2 and 3 meetings while each such stay lasts, up to `stop` (the last day), each
    with its own reference; `also_present` attend every one (a youth offending team leading the
    case, immigration enforcement for a foreign national)."""
    notes: list[Note] = []
    for stay, following in zip(stays, [*stays[1:], None], strict=True):
        if stay.level == 1:
            continue
        end = following.set_on if following else stop + days(1)
        notes += _meetings_during(
            rng, stay, min(end, stop + days(1)), case_id, also_present, len(notes) + 1
        )
    return notes


def meetings_carried(
    rng: random.Random,
    stays: list[LevelStay],
    first: date,
    stop: date,
    case_id: str,
    also_present: tuple[Agency, ...],
    numbered_from: int,
) -> list[Note]:
    """Level 2 and 3 meetings from `first` to `stop` of a case carried into a later year:
    the stay in force on `first` meets from `first` (the review its last meeting set), later
    stays as `meetings` has them; numbered on from the case's earlier meetings."""
    notes: list[Note] = []
    for stay, following in zip(stays, [*stays[1:], None], strict=True):
        end = min(following.set_on if following else stop + days(1), stop + days(1))
        if stay.level == 1 or end <= first:
            continue
        held = first if stay.set_on < first else None
        notes += _meetings_during(
            rng, stay, end, case_id, also_present, numbered_from + len(notes), held
        )
    return notes


def meeting_reference(case_id: str, number: int) -> str:
    """The reference of a case's `number`th meeting: `MTG-KEN-2020-000123-01`."""
    return f"MTG-{case_id}-{number:02d}"


def _level_1_track(rng: random.Random, year: ReportingYear, plan: LevelPlan) -> list[LevelStay]:
    """Level 1; now and then with a spell at level 2 that ended before the year (which must not
    count in the year's table 2)."""
    stays = [_stay(1, plan.identified_on, rng)]
    earliest = plan.identified_on + days(30)
    if earliest < year.start - days(400) and rng.random() < 0.08:
        up = day_between(rng, max(earliest, year.start - days(500)), year.start - days(200))
        down = day_between(rng, up + days(60), year.start - days(20))
        stays += [_stay(2, up, rng, "up"), _stay(1, down, rng, "down")]
    return stays


def _rise_day(rng: random.Random, year: ReportingYear, plan: LevelPlan, first: date) -> date:
    """When the level reaches `peak`: before the year (for some people managed then) or during
    it, in time for `hold` and leaving room to come down to `final`."""
    if plan.identified_on < year.start and rng.random() < 0.5:
        return day_between(
            rng, max(plan.identified_on, year.start - days(540)), year.start - days(1)
        )
    latest = plan.last - days(1) if plan.final != plan.peak else plan.last
    if plan.hold is not None:
        latest = min(latest, plan.hold - days(1))
    return day_between(rng, first, max(first, latest))


def _rise_reason(rise: date, plan: LevelPlan) -> str:
    if plan.release_on is not None and rise < plan.release_on:
        return "release"
    return "up"


_REASONS = {
    "screening": LevelReason.INITIAL_SCREENING,
    "up": LevelReason.RISK_INCREASED,
    "down": LevelReason.RISK_REDUCED,
    "release": LevelReason.RELEASE_PLANNING,
    "transfer": LevelReason.TRANSFER_IN,
}


def _stay(level: int, day: date, rng: random.Random, why: str = "screening") -> LevelStay:
    review = day + days(rng.randint(84, 112)) if level > 1 else None
    return LevelStay(Level(level), day, _REASONS[why], review)


def transfer_stay(level: int, day: date, rng: random.Random) -> LevelStay:
    """The level the receiving area sets on the day it accepts a transfer."""
    return _stay(level, day, rng, "transfer")


def _meetings_during(
    rng: random.Random,
    stay: LevelStay,
    end: date,
    case_id: str,
    also_present: tuple[Agency, ...],
    numbered_from: int,
    first_held: date | None = None,
) -> list[Note]:
    held = first_held or stay.set_on + days(rng.randint(7, 28))
    notes: list[Note] = []
    while held < end:
        following = held + days(rng.randint(*MEETING_GAP_DAYS))
        data = MappaMeetingHeld(
            held_on=held,
            level=2 if stay.level == 2 else 3,
            agencies_present=[*_present(rng), *also_present],
            next_review_on=following,
            meeting_reference=meeting_reference(case_id, numbered_from + len(notes)),
        )
        notes.append(Note(held, Step.RECORD, data))
        held = following
    return notes


def _present(rng: random.Random) -> list[Agency]:
    guests = [agency for agency, share in MEETING_GUESTS if rng.random() < share]
    return [Agency.PROBATION, Agency.POLICE, *guests]
