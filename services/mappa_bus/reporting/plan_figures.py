"""The partnership plan figures: per MAPPA area, reporting year and owning agency, how the
agencies kept the risk management plan actions they own (docs/partnership.md). Pure: no I/O.

The figures are computed from per-action facts (`ActionFacts`): the reporting consumer folds
them from the events (`plan_actions.py`); the simulator draws them from its model of each person,
what it intended. Both call `figures_from_actions`, so the two agree exactly only when the
events say what the simulator meant them to.

One predicate (`counts_in`) says which actions make up each figure: the counting and the listing
of the actions behind a figure (`members`) cannot drift apart.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from mappa_bus.agencies import Agency
from mappa_bus.catalogue import Area, ReportingYear
from mappa_bus.catalogue.plans import ClosureReason


class Figure(StrEnum):
    """A figure of an agency's action record (the closures are one figure per reason)."""

    OWNED = "owned"
    COMPLETED_ON_TIME = "completed-on-time"
    COMPLETED_LATE = "completed-late"
    CLOSED_NOT_COMPLETED = "closed-not-completed"
    OPEN = "open"
    REDATED = "redated"


@dataclass(frozen=True)
class ActionFacts:
    """What the figures need of one plan action, as its owner's outcomes left it.

    `due_on` is the due date in force: the agreed one, or the last re-dating's while the action
    was open. At most one of `completed_on` and `closure_reason` is set (the first outcome ends
    the action); neither is set while it is open.
    """

    case_id: str
    action_id: str
    area: Area  # the `mappaarea` of the agreement event
    owner: Agency
    agreed_on: date
    due_on: date
    completed_on: date | None = None
    closure_reason: ClosureReason | None = None
    redated: bool = False

    def __post_init__(self) -> None:
        if self.completed_on is not None and self.closure_reason is not None:
            raise ValueError(f"action {self.action_id} both completed and closed")

    @property
    def year_start(self) -> date:
        """The 1 April opening the reporting year the action was agreed in."""
        return ReportingYear.holding(self.agreed_on).start

    @property
    def days_late(self) -> int | None:
        """Whole days from the due date in force to completion; None unless completed late."""
        if self.completed_on is None or self.completed_on <= self.due_on:
            return None
        return (self.completed_on - self.due_on).days

    def counts_in(self, figure: Figure, reason: ClosureReason | None = None) -> bool:
        """Whether the action is one of `figure`'s (of the closures for `reason` only, when
        given); every action its owner owns counts in `owned`."""
        match figure:
            case Figure.OWNED:
                return True
            case Figure.COMPLETED_ON_TIME:
                return self.completed_on is not None and self.completed_on <= self.due_on
            case Figure.COMPLETED_LATE:
                return self.days_late is not None
            case Figure.CLOSED_NOT_COMPLETED:
                return self.closure_reason is not None and reason in (None, self.closure_reason)
            case Figure.OPEN:
                return self.completed_on is None and self.closure_reason is None
            case Figure.REDATED:
                return self.redated


class AgencyPlanFigures(BaseModel):
    """One owning agency's action record in one area-year."""

    model_config = ConfigDict(frozen=True)

    agency: Agency
    owned: int = Field(description="Actions agreed in the year that the agency owns.")
    completed_on_time: int = Field(
        description="Of those, completed on or before the due date in force."
    )
    completed_late: int = Field(description="Of those, completed after the due date in force.")
    median_days_late: float | None = Field(
        description="Median whole days from the due date in force to completion, over the "
        "actions completed late (the mean of the two middle values for an even count); "
        "null when none was late."
    )
    closed_not_completed: dict[ClosureReason, int] = Field(
        description="Of those, closed without being completed, by reason (every reason)."
    )
    open: int = Field(description="Of those, neither completed nor closed.")
    redated: int = Field(description="Of those, re-dated at least once.")


class PlanFigures(BaseModel):
    """Every owning agency's action record in one area-year (area None: England and Wales)."""

    model_config = ConfigDict(frozen=True)

    area: Area | None
    year_start: date
    agencies: tuple[AgencyPlanFigures, ...] = Field(
        description="The agencies owning at least one action agreed in the area-year, in the "
        "order of `Agency`."
    )


def figures_from_actions(
    actions: Iterable[ActionFacts], area: Area | None, year_start: date
) -> PlanFigures:
    """The figures of one area (None: every area together) in the reporting year opening on
    `year_start`, from every action's facts (those of other area-years are left out)."""
    by_owner: dict[Agency, list[ActionFacts]] = {}
    for action in _in(actions, area, year_start):
        by_owner.setdefault(action.owner, []).append(action)
    return PlanFigures(
        area=area,
        year_start=year_start,
        agencies=tuple(
            _agency(agency, by_owner[agency]) for agency in Agency if agency in by_owner
        ),
    )


def area_years(actions: Iterable[ActionFacts]) -> set[tuple[Area, date]]:
    """Every (area, reporting year's 1 April) at least one action was agreed in."""
    return {(action.area, action.year_start) for action in actions}


def members(
    actions: Iterable[ActionFacts],
    area: Area | None,
    year_start: date,
    agency: Agency,
    figure: Figure,
    reason: ClosureReason | None = None,
) -> list[ActionFacts]:
    """The actions behind one figure of one agency, by case id then action id."""
    chosen = (
        action
        for action in _in(actions, area, year_start)
        if action.owner is agency and action.counts_in(figure, reason)
    )
    return sorted(chosen, key=lambda action: (action.case_id, action.action_id))


def _in(actions: Iterable[ActionFacts], area: Area | None, year_start: date) -> list[ActionFacts]:
    return [
        action
        for action in actions
        if action.year_start == year_start and area in (None, action.area)
    ]


def _agency(agency: Agency, owned: list[ActionFacts]) -> AgencyPlanFigures:
    late = [days for action in owned if (days := action.days_late) is not None]
    return AgencyPlanFigures(
        agency=agency,
        owned=len(owned),
        completed_on_time=sum(a.counts_in(Figure.COMPLETED_ON_TIME) for a in owned),
        completed_late=len(late),
        # statistics.median: the middle value, or the mean of the two middle values.
        median_days_late=float(statistics.median(late)) if late else None,
        closed_not_completed={
            reason: sum(a.counts_in(Figure.CLOSED_NOT_COMPLETED, reason) for a in owned)
            for reason in ClosureReason
        },
        open=sum(a.counts_in(Figure.OPEN) for a in owned),
        redated=sum(a.counts_in(Figure.REDATED) for a in owned),
    )
