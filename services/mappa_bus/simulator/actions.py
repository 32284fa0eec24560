"""Risk management plans: the actions each level 2 or 3 meeting agrees, and what their owners
then do with them, by each owner's punctuality (`rates.PUNCTUALITY`).

The chair agrees one to four actions, each owned by an agency present at the meeting (one at
least by each agency that attends only to act, `rates.ATTENDS_TO_ACT`), of a kind that agency
does, due two to eight weeks later. The owner may re-date an action (always before
its outcome), then completes it by the due date in force or after it, closes it without
completing it, or never records anything. Nothing happens after the last day of the story:
what would have, did not (the action stays open), except that when management ends, the owner
closes the action as no longer needed on that day.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import date
from typing import TypeVar

from mappa_bus.agencies import Agency
from mappa_bus.catalogue.plans import ActionKind, ClosureReason, RedateReason
from mappa_bus.catalogue.probation import LeadAgency, MappaMeetingHeld
from mappa_bus.catalogue.vocabulary import Category
from mappa_bus.simulator.dates import day_between, days
from mappa_bus.simulator.person import Action, Management, Note, Redating
from mappa_bus.simulator.rates import (
    ACTIONS_PER_MEETING,
    ATTENDS_TO_ACT,
    GUEST_OWNER_WEIGHT,
    OWNER_WEIGHTS,
    Punctuality,
)

_K = ActionKind
# The kinds of action each agency takes on (a polygraph only for a registered sex offender).
KINDS: Mapping[Agency, tuple[ActionKind, ...]] = {
    Agency.POLICE: (_K.HOME_VISIT, _K.INTELLIGENCE_CHECK, _K.DISCLOSURE_CONSIDERATION),
    Agency.PROBATION: (
        _K.HOME_VISIT,
        _K.LICENCE_VARIATION_REQUEST,
        _K.TREATMENT_REFERRAL,
        _K.POLYGRAPH_REFERRAL,
        _K.MULTI_AGENCY_REVIEW,
    ),
    Agency.PRISONS: (_K.INTELLIGENCE_CHECK, _K.TREATMENT_REFERRAL, _K.MULTI_AGENCY_REVIEW),
    Agency.HEALTH: (_K.TREATMENT_REFERRAL, _K.MULTI_AGENCY_REVIEW),
    Agency.HOUSING: (_K.ACCOMMODATION_SEARCH,),
    Agency.CHILDRENS_SERVICES: (_K.SAFEGUARDING_REFERRAL, _K.DISCLOSURE_CONSIDERATION),
    Agency.VICTIM_CONTACT: (_K.VICTIM_CONTACT,),
    Agency.YOUTH_OFFENDING: (_K.HOME_VISIT, _K.TREATMENT_REFERRAL, _K.ACCOMMODATION_SEARCH),
    Agency.DWP: (_K.INTELLIGENCE_CHECK,),
    Agency.IMMIGRATION_ENFORCEMENT: (_K.INTELLIGENCE_CHECK, _K.MULTI_AGENCY_REVIEW),
}
DUE_WEEKS = (2, 8)
# A re-dating moves the due date on by one to four weeks; a few actions are re-dated twice.
REDATE_DAYS = (7, 28)
TWICE_REDATED = 0.2
# A completion "on time" comes in the last fortnight before the due date in force.
ON_TIME_WINDOW_DAYS = 14
# Closures come before the due date in force or up to a fortnight after it.
CLOSED_AFTER_DUE_DAYS = 14
MAX_DAYS_LATE = 180
T = TypeVar("T")


def chair(management: Management) -> Agency:
    """The agency that chairs a case's meetings and agrees its actions: police for a category 1
    case the police lead, probation otherwise."""
    police_led = management.lead_agency is LeadAgency.POLICE
    if police_led and management.category is Category.REGISTERED_SEX_OFFENDER:
        return Agency.POLICE
    return Agency.PROBATION


def agreed_actions(
    rng: random.Random,
    case_id: str,
    management: Management,
    held: Sequence[Note],
    last_day: date,
    punctuality: Mapping[Agency, Punctuality],
    numbered_from: int = 1,
) -> list[Action]:
    """The actions agreed at the meetings `held` (the case's MAPPA meetings, in order), each
    followed up by its owner up to `last_day` (the end of the year, or of management);
    numbered from `numbered_from` (after the actions of a case's earlier years)."""
    actions: list[Action] = []
    for note in held:
        meeting = note.data
        assert isinstance(meeting, MappaMeetingHeld), "actions are agreed at MAPPA meetings"
        assert meeting.meeting_reference is not None, "the simulator's meetings have references"
        present = list(meeting.agencies_present)
        weights = [OWNER_WEIGHTS.get(agency, GUEST_OWNER_WEIGHT) for agency in present]
        acting = [agency for agency in present if agency in ATTENDS_TO_ACT]
        count = max(_pick(rng, ACTIONS_PER_MEETING), len(acting))
        for owner in acting + rng.choices(present, weights, k=count - len(acting)):
            agreed = Action(
                action_id=f"{case_id}-A{len(actions) + numbered_from:03d}",
                meeting_reference=meeting.meeting_reference,
                chair=chair(management),
                owner=owner,
                kind=rng.choice(_kinds(owner, management.category)),
                agreed_on=meeting.held_on,
                due_on=meeting.held_on + days(7 * rng.randint(*DUE_WEEKS)),
            )
            intended = _followed_up(rng, agreed, punctuality[owner])
            actions.append(_as_far_as(intended, last_day, management.ended_on))
    return actions


def _kinds(owner: Agency, category: Category) -> tuple[ActionKind, ...]:
    if category is Category.REGISTERED_SEX_OFFENDER:
        return KINDS[owner]
    return tuple(kind for kind in KINDS[owner] if kind is not ActionKind.POLYGRAPH_REFERRAL)


def _followed_up(rng: random.Random, action: Action, punctuality: Punctuality) -> Action:
    """What the owner does with `action`, whenever it happens: re-datings first, each before
    the due date it moves, then one outcome (or none) after the last of them."""
    outcome = _pick(
        rng,
        (
            ("on-time", punctuality.on_time),
            ("late", punctuality.late),
            ("closed", punctuality.closed),
            ("open", punctuality.still_open),
        ),
    )
    redatings: list[Redating] = []
    last, due = action.agreed_on, action.due_on
    if rng.random() < punctuality.redated:
        for _ in range(2 if rng.random() < TWICE_REDATED else 1):
            last = day_between(rng, last + days(1), due - days(1))
            due += days(rng.randint(*REDATE_DAYS))
            redatings.append(Redating(last, due, rng.choice(list(RedateReason))))
    action = replace(action, redatings=tuple(redatings))
    if outcome == "on-time":
        earliest = max(last + days(1), due - days(ON_TIME_WINDOW_DAYS))
        return replace(action, completed_on=day_between(rng, earliest, due))
    if outcome == "late":
        late = 1 + round(rng.expovariate(1 / max(punctuality.mean_days_late - 1, 0.1)))
        return replace(action, completed_on=due + days(min(late, MAX_DAYS_LATE)))
    if outcome == "closed":
        closed = day_between(rng, last + days(1), due + days(CLOSED_AFTER_DUE_DAYS))
        reason = _pick(rng, punctuality.closure_reasons)
        return replace(action, closed_on=closed, closure_reason=reason)
    return action


def _as_far_as(action: Action, last_day: date, management_ended: date | None) -> Action:
    """`action` as it stands at the end of `last_day`: later re-datings and outcomes never
    happened; if management ended on `last_day`, an outcome still to come became a closure."""
    redatings = tuple(redating for redating in action.redatings if redating.redated_on <= last_day)
    outcome = action.completed_on or action.closed_on
    if outcome is None or outcome <= last_day:
        return replace(action, redatings=redatings)
    cut = replace(action, redatings=redatings, completed_on=None, closed_on=None)
    if management_ended == last_day:
        return replace(cut, closed_on=last_day, closure_reason=ClosureReason.NO_LONGER_NEEDED)
    return replace(cut, closure_reason=None)


def _pick(rng: random.Random, choices: Sequence[tuple[T, float]]) -> T:
    return rng.choices([item for item, _ in choices], [weight for _, weight in choices])[0]
