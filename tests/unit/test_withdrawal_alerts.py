"""An alert raised by an event its agency withdrew is withdrawn: once, by a typed event on the
alerts topic, which the board, `mappa alerts tail` and the SDK's filter honour."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from mappa_bus.access.policy import ViewerRole
from mappa_bus.alerts.board import AlertBoard, Viewer, sse
from mappa_bus.alerts.cli import withdrawal_line
from mappa_bus.alerts.consumer import AlertProjection
from mappa_bus.alerts.model import AlertRaised, AlertWithdrawn, alert_id, withdrawn
from mappa_bus.alerts.store import all_raised, all_withdrawn, unpublished
from mappa_bus.alerts.subscription import AlertFilter, Recorded
from mappa_bus.catalogue import Area, Envelope, EventData
from mappa_bus.catalogue.prisons import ReleasedFromCustody
from mappa_bus.catalogue.probation import (
    LeadAgency,
    LevelReason,
    MappaEligibilityIdentified,
    MappaLevelSet,
)
from mappa_bus.catalogue.vocabulary import Category, Level
from mappa_bus.catalogue.withdrawal import ProbationEventWithdrawn, WithdrawalReason
from mappa_bus.projection.database import open_engine
from tests.case_events import kent_case
from tests.keys import KEYRING
from tests.records import Record, record_of

NAMESPACE = "test"
CASE = "KEN-2024-000333"
START = datetime(2024, 6, 1, 9, 0, tzinfo=UTC)
NOW = datetime(2024, 7, 1, 9, 0, tzinfo=UTC)


_event = kent_case(CASE, START, system="ndelius")


ELIGIBLE = _event(
    MappaEligibilityIdentified(
        identified_on=date(2024, 6, 1),
        category=Category.VIOLENT_OFFENDER,
        lead_agency=LeadAgency.PROBATION,
    ),
    0,
    "eligible",
)
LEVEL_2 = _event(
    MappaLevelSet(set_on=date(2024, 6, 2), level=Level.TWO, reason=LevelReason.INITIAL_SCREENING),
    1,
    "level-2",
)
LEVEL_3 = _event(
    MappaLevelSet(set_on=date(2024, 6, 9), level=Level.THREE, reason=LevelReason.RISK_INCREASED),
    8,
    "level-3",
)
WITHDRAWAL = _event(
    ProbationEventWithdrawn(
        withdrawn_event_id="level-3",
        reason=WithdrawalReason.ENTERED_IN_ERROR,
        withdrawn_on=date(2024, 6, 20),
    ),
    19,
    "withdraws-level-3",
)
RAISED_ID = alert_id("level-raised", "level-3")


def _records(*events: Envelope[EventData]) -> list[Record]:
    return [
        record_of(
            event, offset, int((START + timedelta(hours=offset)).timestamp() * 1000), NAMESPACE
        )
        for offset, event in enumerate(events)
    ]


def _projection(tmp_path: Path) -> AlertProjection:
    projection = AlertProjection(
        open_engine(f"sqlite:///{tmp_path / 'alerts.db'}"),
        NAMESPACE,
        keyring=KEYRING,
        clock=lambda: NOW,
    )
    projection.load()
    return projection


def test_the_alert_of_a_withdrawn_event_is_withdrawn_once(tmp_path: Path) -> None:
    """Level 3 raised an alert; its withdrawal puts one withdrawal of that alert in the outbox."""
    projection = _projection(tmp_path)
    projection.commit(projection.fold(_records(ELIGIBLE, LEVEL_2, LEVEL_3)))
    projection.commit(projection.fold(_records(ELIGIBLE, LEVEL_2, LEVEL_3, WITHDRAWAL)[3:]))

    with projection.engine.connect() as connection:
        raised = all_raised(connection)
        withdrawals = all_withdrawn(connection)

    assert [alert.id for alert in raised] == [RAISED_ID]
    assert [withdrawn(raised[0], "level-3", WithdrawalReason.ENTERED_IN_ERROR, NOW)] == withdrawals


def test_replaying_the_log_withdraws_nothing_twice(tmp_path: Path) -> None:
    """A restarted service folds the log again: the withdrawal it meets is one it made."""
    records = _records(ELIGIBLE, LEVEL_2, LEVEL_3, WITHDRAWAL)
    first = _projection(tmp_path)
    first.commit(first.fold(records))
    again = _projection(tmp_path)

    batch = again.fold(records)
    again.commit(batch)

    with again.engine.connect() as connection:
        withdrawals = all_withdrawn(connection)
    assert (batch.alerts, len(withdrawals)) == ({}, 1)


def test_an_alert_and_its_withdrawal_in_one_batch_both_go_out(tmp_path: Path) -> None:
    """Raised and withdrawn in the same batch: the outbox holds both, to send in that order."""
    projection = _projection(tmp_path)
    projection.commit(projection.fold(_records(ELIGIBLE, LEVEL_2, LEVEL_3, WITHDRAWAL)))

    with projection.engine.connect() as connection:
        pending = unpublished(connection)

    assert {AlertRaised: 1, AlertWithdrawn: 1} == {
        kind: sum(isinstance(event, kind) for event in pending)
        for kind in (AlertRaised, AlertWithdrawn)
    }


def _alert(tmp_path: Path) -> AlertRaised:
    projection = _projection(tmp_path)
    projection.commit(projection.fold(_records(ELIGIBLE, LEVEL_2, LEVEL_3)))
    with projection.engine.connect() as connection:
        return all_raised(connection)[0]


def test_the_board_drops_a_withdrawn_alert_whichever_comes_first(tmp_path: Path) -> None:
    """The alert then its withdrawal, or the withdrawal first: the board shows neither."""
    alert = _alert(tmp_path)
    withdrawal = withdrawn(alert, "level-3", WithdrawalReason.ENTERED_IN_ERROR, NOW)
    in_order, reversed_order = AlertBoard(), AlertBoard()

    for board, events in ((in_order, (alert, withdrawal)), (reversed_order, (withdrawal, alert))):
        for event in events:
            board.take(Recorded(event, NOW))

    assert (in_order.rows(), reversed_order.rows()) == ([], [])


def test_tail_prints_a_withdrawal_as_withdrawn_with_why(tmp_path: Path) -> None:
    """The line names the rule, case and reason."""
    withdrawal = withdrawn(_alert(tmp_path), "level-3", WithdrawalReason.ENTERED_IN_ERROR, NOW)

    line = withdrawal_line(withdrawal).plain

    assert "WITHDRAWN" in line
    assert f"level-raised  {CASE}" in line
    assert "(entered-in-error)" in line


def test_a_subscription_gets_the_withdrawals_of_the_alerts_it_wants(tmp_path: Path) -> None:
    """Filtered by the alert's area and rule, as the alert was."""
    withdrawal = withdrawn(_alert(tmp_path), "level-3", WithdrawalReason.ENTERED_IN_ERROR, NOW)

    wanted = {
        "kent": AlertFilter(areas=frozenset({Area.KENT})).wants(withdrawal),
        "sussex": AlertFilter(areas=frozenset({Area.SUSSEX})).wants(withdrawal),
        "its rule": AlertFilter(rules=frozenset({"level-raised"})).wants(withdrawal),
        "another rule": AlertFilter(rules=frozenset({"recalled"})).wants(withdrawal),
    }

    assert wanted == {"kent": True, "sussex": False, "its rule": True, "another rule": False}


def test_a_page_that_sees_the_alert_is_told_it_was_withdrawn(tmp_path: Path) -> None:
    """A coordinator's page gets a `withdrawn` event naming the alert and why; a housing page,
    which never saw the alert, gets nothing."""
    alert = _alert(tmp_path)
    board = AlertBoard()
    board.take(Recorded(alert, NOW))
    coordinator = Viewer(frozenset({ViewerRole.COORDINATOR}), None)
    housing = Viewer(frozenset({ViewerRole.HOUSING}), None)

    with board.listener(coordinator) as told, board.listener(housing) as not_told:
        board.take(Recorded(withdrawn(alert, "level-3", WithdrawalReason.DUPLICATE, NOW), NOW))
        sent = [told.get_nowait() for _ in range(told.qsize())]
        unsent = not_told.qsize()

    gone = json.dumps({"id": alert.id, "reason": "duplicate"})
    assert ([sse("withdrawn", gone)], 0) == (sent, unsent)


RELEASED = _event(
    ReleasedFromCustody(released_on=date(2024, 6, 12), release="sentence-end"), 11, "released"
)
LEVEL_3_AGAIN = _event(
    MappaLevelSet(set_on=date(2024, 6, 14), level=Level.THREE, reason=LevelReason.RISK_INCREASED),
    13,
    "level-3-again",
)


def _outbox(projection: AlertProjection) -> tuple[list[str], list[tuple[str, str]]]:
    """The rules of the alerts raised and (alert's rule, withdrawn event) of the withdrawals."""
    with projection.engine.connect() as connection:
        raised = sorted(alert.data.rule for alert in all_raised(connection))
        gone = sorted((w.data.rule, w.data.withdrawn_event_id) for w in all_withdrawn(connection))
    return raised, gone


def test_a_later_alert_that_needed_the_withdrawn_event_is_withdrawn_too(tmp_path: Path) -> None:
    """A release alerted because the case was at level 2: with level 2 withdrawn the case was
    never at level 2 or 3, so the release alert goes, as if level 2 had never been sent."""
    level_2_withdrawn = _event(
        ProbationEventWithdrawn(
            withdrawn_event_id="level-2",
            reason=WithdrawalReason.WRONG_CASE,
            withdrawn_on=date(2024, 6, 20),
        ),
        19,
        "withdraws-level-2",
    )
    projection = _projection(tmp_path)

    projection.commit(projection.fold(_records(ELIGIBLE, LEVEL_2, RELEASED, level_2_withdrawn)))

    assert _outbox(projection) == (
        ["released-from-custody"],
        [("released-from-custody", "level-2")],
    )


def test_an_alert_the_case_now_implies_is_raised(tmp_path: Path) -> None:
    """Level 3 in error, then level 3 for real: only the first was a rise from level 2. With
    the first withdrawn, the second is the rise, and alerted as such."""
    projection = _projection(tmp_path)

    projection.commit(
        projection.fold(_records(ELIGIBLE, LEVEL_2, LEVEL_3, LEVEL_3_AGAIN, WITHDRAWAL))
    )

    with projection.engine.connect() as connection:
        gone = {withdrawal.data.alert_id for withdrawal in all_withdrawn(connection)}
        standing = [a.data.trigger_event_id for a in all_raised(connection) if a.id not in gone]
    assert standing == ["level-3-again"]


def _standing(projection: AlertProjection) -> list[tuple[str, str, Level | None]]:
    """The alerts raised and not withdrawn: rule, summary and level."""
    with projection.engine.connect() as connection:
        gone = {withdrawal.data.alert_id for withdrawal in all_withdrawn(connection)}
        alerts = [alert for alert in all_raised(connection) if alert.id not in gone]
    return sorted((a.data.rule, a.data.summary, a.data.level) for a in alerts)


def test_a_later_alert_that_now_reads_otherwise_is_raised_again_as_it_reads(
    tmp_path: Path,
) -> None:
    """A release alerted as of a level 3 case; with level 3 withdrawn it was a level 2 case's:
    the standing alerts are those of a run where level 3 was never sent."""
    withdrawn_run = AlertProjection(
        open_engine(f"sqlite:///{tmp_path / 'withdrawn.db'}"), NAMESPACE, keyring=KEYRING
    )
    never_run = AlertProjection(
        open_engine(f"sqlite:///{tmp_path / 'never.db'}"), NAMESPACE, keyring=KEYRING
    )
    for projection in (withdrawn_run, never_run):
        projection.load()

    withdrawn_run.commit(withdrawn_run.fold(_records(ELIGIBLE, LEVEL_2, LEVEL_3, RELEASED)))
    withdrawn_run.commit(
        withdrawn_run.fold(_records(ELIGIBLE, LEVEL_2, LEVEL_3, RELEASED, WITHDRAWAL)[4:])
    )
    never_run.commit(never_run.fold(_records(ELIGIBLE, LEVEL_2, RELEASED)))

    assert _standing(never_run) == _standing(withdrawn_run)
    assert [(rule, level) for rule, _, level in _standing(withdrawn_run)] == [
        ("released-from-custody", Level.TWO)
    ]
