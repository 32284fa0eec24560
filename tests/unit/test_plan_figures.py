"""Partnership plan figures: each owning agency's action record from per-action facts, by the
definitions of docs/partnership.md, against figures worked out by hand."""

from datetime import date

import pytest

from mappa_bus.agencies import Agency
from mappa_bus.catalogue import Area
from mappa_bus.catalogue.plans import ClosureReason
from mappa_bus.reporting.plan_figures import (
    ActionFacts,
    AgencyPlanFigures,
    Figure,
    PlanFigures,
    area_years,
    figures_from_actions,
    members,
)

YEAR = date(2020, 4, 1)
NO_CLOSURES = dict.fromkeys(ClosureReason, 0)


def _action(
    action_id: str,
    owner: Agency = Agency.HOUSING,
    *,
    due_on: date = date(2020, 6, 30),
    completed_on: date | None = None,
    closure_reason: ClosureReason | None = None,
    redated: bool = False,
    agreed_on: date = date(2020, 6, 1),
    area: Area = Area.KENT,
    case_id: str = "KEN-2020-000001",
) -> ActionFacts:
    return ActionFacts(
        case_id=case_id,
        action_id=action_id,
        area=area,
        owner=owner,
        agreed_on=agreed_on,
        due_on=due_on,
        completed_on=completed_on,
        closure_reason=closure_reason,
        redated=redated,
    )


def _figures(agency: Agency, **changes: object) -> AgencyPlanFigures:
    """An agency's figures: all zero (no closures) but for `changes`."""
    base: dict[str, object] = {
        "agency": agency,
        "owned": 0,
        "completed_on_time": 0,
        "completed_late": 0,
        "median_days_late": None,
        "closed_not_completed": NO_CLOSURES,
        "open": 0,
        "redated": 0,
    }
    return AgencyPlanFigures.model_validate(base | changes)


def test_on_time_includes_the_due_date_itself() -> None:
    """An action completed on its due date is on time; a day after, one day late."""
    actions = [
        _action("A-001", completed_on=date(2020, 6, 30)),
        _action("A-002", completed_on=date(2020, 7, 1)),
    ]
    expected = PlanFigures(
        area=Area.KENT,
        year_start=YEAR,
        agencies=(
            _figures(
                Agency.HOUSING, owned=2, completed_on_time=1, completed_late=1, median_days_late=1
            ),
        ),
    )
    assert expected == figures_from_actions(actions, Area.KENT, YEAR)


def test_median_of_an_odd_count_is_the_middle_value() -> None:
    """Lateness of 1, 3 and 10 days has median 3."""
    actions = [
        _action("A-001", completed_on=date(2020, 7, 1)),
        _action("A-002", completed_on=date(2020, 7, 3)),
        _action("A-003", completed_on=date(2020, 7, 10)),
    ]
    (housing,) = figures_from_actions(actions, Area.KENT, YEAR).agencies
    expected = (3, 3.0)
    assert expected == (housing.completed_late, housing.median_days_late)


def test_median_of_an_even_count_is_the_mean_of_the_middle_two() -> None:
    """Lateness of 1, 2, 5 and 40 days has median (2 + 5) / 2 = 3.5."""
    actions = [
        _action("A-001", completed_on=date(2020, 7, 1)),
        _action("A-002", completed_on=date(2020, 7, 2)),
        _action("A-003", completed_on=date(2020, 7, 5)),
        _action("A-004", completed_on=date(2020, 8, 9)),
    ]
    (housing,) = figures_from_actions(actions, Area.KENT, YEAR).agencies
    expected = (4, 3.5)
    assert expected == (housing.completed_late, housing.median_days_late)


def test_lateness_is_counted_from_the_due_date_in_force() -> None:
    """An action re-dated to 31 July and completed on 2 August is 2 days late, and re-dated."""
    actions = [
        _action("A-001", due_on=date(2020, 7, 31), completed_on=date(2020, 8, 2), redated=True)
    ]
    expected = _figures(Agency.HOUSING, owned=1, completed_late=1, median_days_late=2.0, redated=1)
    assert (expected,) == figures_from_actions(actions, Area.KENT, YEAR).agencies


def test_closures_are_counted_per_reason_with_every_reason_shown() -> None:
    """Two closed in custody and one not possible; the other reasons show zero; open ones
    count as open."""
    actions = [
        _action("A-001", closure_reason=ClosureReason.PERSON_IN_CUSTODY),
        _action("A-002", closure_reason=ClosureReason.PERSON_IN_CUSTODY),
        _action("A-003", closure_reason=ClosureReason.NOT_POSSIBLE),
        _action("A-004"),
    ]
    closures = NO_CLOSURES | {ClosureReason.PERSON_IN_CUSTODY: 2, ClosureReason.NOT_POSSIBLE: 1}
    expected = _figures(Agency.HOUSING, owned=4, closed_not_completed=closures, open=1)
    assert (expected,) == figures_from_actions(actions, Area.KENT, YEAR).agencies


def test_agencies_owning_actions_appear_in_agency_order() -> None:
    """Housing's and police's actions give police first (the order of `Agency`), and no row
    for an agency owning none."""
    actions = [_action("A-001", Agency.HOUSING), _action("A-002", Agency.POLICE)]
    agencies = figures_from_actions(actions, Area.KENT, YEAR).agencies
    expected = [Agency.POLICE, Agency.HOUSING]
    assert expected == [figures.agency for figures in agencies]


def test_an_action_counts_in_the_area_and_year_of_its_agreement() -> None:
    """An action agreed on 31 March 2021 counts in 2020-21 even when due and done later, and
    an action of another area not at all; England and Wales holds both areas'."""
    actions = [
        _action("A-001", agreed_on=date(2021, 3, 31), completed_on=date(2021, 4, 20)),
        _action("A-002", agreed_on=date(2021, 4, 1)),
        _action("A-003", area=Area.ESSEX),
    ]
    kent = figures_from_actions(actions, Area.KENT, YEAR).agencies
    national = figures_from_actions(actions, None, YEAR).agencies
    expected_owned = ([1], [2])
    assert expected_owned == ([f.owned for f in kent], [f.owned for f in national])
    expected_years = {
        (Area.KENT, YEAR),
        (Area.KENT, date(2021, 4, 1)),
        (Area.ESSEX, YEAR),
    }
    assert expected_years == area_years(actions)


def test_owned_is_the_sum_of_the_outcomes() -> None:
    """Every owned action is on time, late, closed or open: exactly one of them."""
    actions = [
        _action("A-001", completed_on=date(2020, 6, 2)),
        _action("A-002", completed_on=date(2020, 9, 2)),
        _action("A-003", closure_reason=ClosureReason.CASE_TRANSFERRED),
        _action("A-004"),
    ]
    (housing,) = figures_from_actions(actions, Area.KENT, YEAR).agencies
    parts = (
        housing.completed_on_time
        + housing.completed_late
        + sum(housing.closed_not_completed.values())
        + housing.open
    )
    expected = (4, 4)
    assert expected == (housing.owned, parts)


def test_members_list_the_actions_behind_a_figure_by_case_and_action() -> None:
    """The late figure opens to its two actions, sorted; a closure reason narrows the closed."""
    actions = [
        _action("A-002", completed_on=date(2020, 7, 9), case_id="KEN-2020-000002"),
        _action("A-001", completed_on=date(2020, 7, 9), case_id="KEN-2020-000002"),
        _action("A-003", completed_on=date(2020, 7, 9)),
        _action("A-004", closure_reason=ClosureReason.NOT_POSSIBLE),
        _action("A-005", closure_reason=ClosureReason.NO_LONGER_NEEDED),
    ]
    late = members(actions, Area.KENT, YEAR, Agency.HOUSING, Figure.COMPLETED_LATE)
    closed = members(
        actions,
        Area.KENT,
        YEAR,
        Agency.HOUSING,
        Figure.CLOSED_NOT_COMPLETED,
        ClosureReason.NOT_POSSIBLE,
    )
    expected_late = [
        ("KEN-2020-000001", "A-003"),
        ("KEN-2020-000002", "A-001"),
        ("KEN-2020-000002", "A-002"),
    ]
    assert expected_late == [(a.case_id, a.action_id) for a in late]
    expected_closed = ["A-004"]
    assert expected_closed == [a.action_id for a in closed]


def test_an_action_cannot_be_both_completed_and_closed() -> None:
    """Facts saying both are refused: the first outcome ends an action."""
    with pytest.raises(ValueError, match="both completed and closed"):
        _action("A-001", completed_on=date(2020, 7, 1), closure_reason=ClosureReason.NOT_POSSIBLE)


def test_the_figures_read_back_from_json() -> None:
    """The model's JSON form (closures keyed by reason) reads back to equal figures."""
    figures = figures_from_actions(
        [_action("A-001", closure_reason=ClosureReason.NOT_POSSIBLE)], Area.KENT, YEAR
    )
    assert figures == PlanFigures.model_validate_json(figures.model_dump_json())
