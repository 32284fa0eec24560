"""Withdrawals in the projections: applied when they name their own agency's event of the case,
refused (to be dead-lettered, changing nothing) otherwise; and the statistics recounted."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from mappa_bus.alerts.consumer import AlertProjection
from mappa_bus.catalogue import Area, Envelope, EventData, Rejection, parse_event
from mappa_bus.catalogue.plans import (
    HousingPlanActionCompleted,
)
from mappa_bus.catalogue.prisons import ReceivedIntoCustody
from mappa_bus.catalogue.probation import (
    LevelReason,
    MappaLevelSet,
)
from mappa_bus.catalogue.vocabulary import Level
from mappa_bus.catalogue.withdrawal import (
    HousingEventWithdrawn,
    PoliceEventWithdrawn,
    PrisonsEventWithdrawn,
    ProbationEventWithdrawn,
)
from mappa_bus.picture.consumer import PictureProjection
from mappa_bus.projection.database import open_engine
from mappa_bus.reporting.consumer import ReportingProjection
from mappa_bus.reporting.plan_actions import action_facts
from mappa_bus.reporting.plan_figures import PlanFigures, figures_from_actions
from mappa_bus.reporting.publication import RevisionReason, revised_because, statistics_event
from mappa_bus.reporting.tables import kent_2020_21
from tests.case_events import kent_case, withdrawal
from tests.keys import KEYRING
from tests.reporting_case import AGREED, CASE, ELIGIBLE, NAMESPACE, START, case_event
from tests.reporting_case import records as _records
from tests.stores import stored_picture

_event = case_event

LEVEL_3 = _event(
    MappaLevelSet(set_on=date(2023, 6, 2), level=Level.THREE, reason=LevelReason.RISK_INCREASED),
    1,
    "level-3",
)
CUSTODY = _event(ReceivedIntoCustody(received_on=date(2023, 6, 3), custody="remand"), 2, "custody")


def _withdrawal(model: type[Any], target: str, event_id: str) -> Envelope[EventData]:
    return withdrawal(_event, model, target, event_id, day=30, on=date(2023, 7, 1))


def _refused(batch: Any) -> list[tuple[str, Rejection]]:
    """The ids of the events a batch refused, each with why."""
    return [(parse_event(item.record.value).id, item.error.kind) for item in batch.rejected]


def _pictures(tmp_path: Path) -> PictureProjection:
    projection = PictureProjection(
        open_engine(f"sqlite:///{tmp_path / 'pictures.db'}"), NAMESPACE, keyring=KEYRING
    )
    projection.load()
    return projection


def test_the_picture_consumer_refuses_a_withdrawal_of_another_agencys_event(
    tmp_path: Path,
) -> None:
    """Police cannot withdraw probation's level: refused, and the picture keeps the level."""
    projection = _pictures(tmp_path)
    projection.commit(projection.fold(_records(ELIGIBLE, LEVEL_3)))
    before = stored_picture(projection, CASE)

    batch = projection.fold(
        _records(_withdrawal(PoliceEventWithdrawn, "level-3", "police-w"), first=2)
    )
    projection.commit(batch)

    assert _refused(batch) == [("police-w", Rejection.NOT_OWN_EVENT)]
    assert before == stored_picture(projection, CASE)


def test_the_picture_consumer_refuses_a_withdrawal_of_an_event_it_does_not_hold(
    tmp_path: Path,
) -> None:
    """An id no event of the case has is refused as unknown."""
    projection = _pictures(tmp_path)

    batch = projection.fold(
        _records(ELIGIBLE, _withdrawal(ProbationEventWithdrawn, "no-such", "probation-w"))
    )

    assert _refused(batch) == [("probation-w", Rejection.UNKNOWN_EVENT)]


def test_the_picture_consumer_applies_a_withdrawal_of_an_event_earlier_in_its_batch(
    tmp_path: Path,
) -> None:
    """The event and its withdrawal in one batch: the level is gone, nothing refused."""
    projection = _pictures(tmp_path)

    batch = projection.fold(
        _records(ELIGIBLE, LEVEL_3, _withdrawal(ProbationEventWithdrawn, "level-3", "w"))
    )
    projection.commit(batch)

    assert (_refused(batch), stored_picture(projection, CASE).level) == ([], None)


def test_the_picture_consumer_applies_a_withdrawal_to_a_case_out_of_its_cache(
    tmp_path: Path,
) -> None:
    """With room for one picture, another case's event pushes the case out of memory: the
    withdrawal is judged against the case as the store has it, and applied."""
    projection = PictureProjection(
        open_engine(f"sqlite:///{tmp_path / 'pictures.db'}"),
        NAMESPACE,
        keyring=KEYRING,
        cache_size=1,
    )
    projection.load()
    projection.commit(projection.fold(_records(ELIGIBLE, LEVEL_3)))
    other = kent_case("KEN-2023-000102", START)(ELIGIBLE.data, 0, "other-eligible")
    projection.commit(projection.fold(_records(other, first=2)))
    assert CASE not in projection.cache

    batch = projection.fold(_records(_withdrawal(ProbationEventWithdrawn, "level-3", "w"), first=3))
    projection.commit(batch)

    assert (_refused(batch), stored_picture(projection, CASE).level) == ([], None)


def _reporting(tmp_path: Path) -> ReportingProjection:
    projection = ReportingProjection(
        open_engine(f"sqlite:///{tmp_path / 'reporting.db'}"), NAMESPACE, keyring=KEYRING
    )
    projection.load()
    return projection


def test_the_reporting_consumer_takes_out_a_withdrawn_fact_and_says_why_its_year_changed(
    tmp_path: Path,
) -> None:
    """The fact leaves the case, in memory and in the store; its year is to be recounted for
    the reason given."""
    projection = _reporting(tmp_path)
    projection.commit(projection.fold(_records(ELIGIBLE, LEVEL_3, CUSTODY)))
    projection.unpublished.clear()

    batch = projection.fold(_records(_withdrawal(ProbationEventWithdrawn, "level-3", "w"), first=3))
    projection.commit(batch)
    reloaded = _reporting(tmp_path)

    assert [fact.event_id for fact in projection.cases[CASE]] == ["eligible", "custody"]
    assert projection.cases == reloaded.cases
    assert ({2023}, {(2023, "entered-in-error")}) == (projection.unpublished, reloaded.revised)


COMPLETED = _event(
    HousingPlanActionCompleted(action_id="ACT-1", completed_on=date(2023, 6, 20)), 19, "done"
)


def _plan_figures(projection: ReportingProjection) -> PlanFigures:
    return figures_from_actions(action_facts(projection.plans), Area.KENT, date(2023, 4, 1))


def test_the_reporting_consumer_takes_out_a_withdrawn_plan_step_as_if_never_sent(
    tmp_path: Path,
) -> None:
    """Housing withdraws its completion: the plan figures, in memory and after a reload, are
    those of a store that never had it (the action open again)."""
    (tmp_path / "never").mkdir()
    never_sent = _reporting(tmp_path / "never")
    never_sent.commit(never_sent.fold(_records(ELIGIBLE, AGREED)))
    projection = _reporting(tmp_path)
    projection.commit(projection.fold(_records(ELIGIBLE, AGREED, COMPLETED)))

    batch = projection.fold(_records(_withdrawal(HousingEventWithdrawn, "done", "w"), first=3))
    projection.commit(batch)

    expected = _plan_figures(never_sent)
    assert (expected, expected) == (_plan_figures(projection), _plan_figures(_reporting(tmp_path)))
    assert expected.agencies[0].open == 1


def test_the_reporting_consumer_refuses_a_withdrawal_of_another_agencys_plan_step(
    tmp_path: Path,
) -> None:
    """Probation cannot withdraw housing's completion: refused, and the figures stay."""
    projection = _reporting(tmp_path)
    projection.commit(projection.fold(_records(ELIGIBLE, AGREED, COMPLETED)))
    before = _plan_figures(projection)

    batch = projection.fold(_records(_withdrawal(ProbationEventWithdrawn, "done", "p-w"), first=3))
    projection.commit(batch)

    assert _refused(batch) == [("p-w", Rejection.NOT_OWN_EVENT)]
    assert before == _plan_figures(projection)


def test_the_reporting_consumer_refuses_a_withdrawal_of_a_fact_of_another_agency(
    tmp_path: Path,
) -> None:
    """Prisons cannot withdraw probation's level: refused, and the facts stay as they were."""
    projection = _reporting(tmp_path)
    projection.commit(projection.fold(_records(ELIGIBLE, LEVEL_3)))
    before = dict(projection.cases)

    batch = projection.fold(
        _records(_withdrawal(PrisonsEventWithdrawn, "level-3", "prisons-w"), first=2)
    )
    projection.commit(batch)

    assert _refused(batch) == [("prisons-w", Rejection.NOT_OWN_EVENT)]
    assert before == projection.cases


def test_the_reporting_consumer_refuses_a_withdrawal_of_an_id_never_applied(
    tmp_path: Path,
) -> None:
    """An id the consumer never applied is refused as unknown."""
    projection = _reporting(tmp_path)

    batch = projection.fold(_records(_withdrawal(ProbationEventWithdrawn, "no-such", "w")))

    assert _refused(batch) == [("w", Rejection.UNKNOWN_EVENT)]


def test_the_alerts_consumer_refuses_a_withdrawal_of_another_agencys_event(
    tmp_path: Path,
) -> None:
    """The alerts slice judges withdrawals on its own pictures, as the picture slice does."""
    projection = AlertProjection(
        open_engine(f"sqlite:///{tmp_path / 'alerts.db'}"), NAMESPACE, keyring=KEYRING
    )
    projection.load()

    batch = projection.fold(
        _records(ELIGIBLE, LEVEL_3, _withdrawal(PoliceEventWithdrawn, "level-3", "police-w"))
    )

    assert _refused(batch) == [("police-w", Rejection.NOT_OWN_EVENT)]


def test_a_revision_names_the_reasons_of_withdrawals_in_its_year_or_before() -> None:
    """A withdrawal changes its own year and, through the state it leaves, every later one."""
    revised = {(2022, "duplicate"), (2023, "wrong-case"), (2024, "entered-in-error")}

    assert revised_because(revised, 2023) == (
        RevisionReason.DUPLICATE,
        RevisionReason.WRONG_CASE,
    )


def test_only_a_revision_after_the_first_says_why_it_was_revised() -> None:
    """The first publication has nothing to have been revised from."""
    statistics = kent_2020_21()
    because = (RevisionReason.DUPLICATE,)

    first = statistics_event("kent", statistics, 1, because)
    second = statistics_event("kent", statistics, 2, because)

    assert ((), because) == (first.revised_because, second.revised_because)
