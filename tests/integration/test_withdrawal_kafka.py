"""Withdrawal against the real broker: an event withdrawn after it was counted leaves the
picture, the year's statistics (a new revision), the alerts and the partnership indicators as if
it had never been sent, and replaying from the start gives the same stores; another agency's
withdrawal is dead-lettered and changes nothing."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from pydantic import TypeAdapter

from mappa_bus.adapters.publisher import AgencyPublisher
from mappa_bus.agencies import Agency
from mappa_bus.alerts import service as alerts
from mappa_bus.alerts.board import AlertBoard
from mappa_bus.alerts.consumer import AlertProjection
from mappa_bus.alerts.model import AlertRaised, AlertWithdrawn, OnAlertsTopic
from mappa_bus.alerts.subscription import Recorded
from mappa_bus.case.model import CasePicture
from mappa_bus.catalogue import Area, EventData
from mappa_bus.catalogue.housing import HousingNeedRaised
from mappa_bus.catalogue.prisons import ReleasedFromCustody
from mappa_bus.catalogue.probation import (
    LeadAgency,
    LevelReason,
    MappaEligibilityIdentified,
    MappaLevelSet,
    MappaMeetingHeld,
)
from mappa_bus.catalogue.vocabulary import Category, Level
from mappa_bus.catalogue.withdrawal import WithdrawalReason
from mappa_bus.connection import KafkaConnection
from mappa_bus.kafka_admin import ensure_acls, ensure_topics
from mappa_bus.log_reader import read_to_end
from mappa_bus.picture import service as picture
from mappa_bus.principals import acl_bindings
from mappa_bus.reporting import service as reporting
from mappa_bus.reporting.partnership import (
    LONGEST_SECONDS,
    AgencyIndicators,
    PartnershipIndicators,
    combine,
    indicators,
)
from mappa_bus.reporting.publication import RevisionReason, StatisticsPublished
from mappa_bus.topics import alerts_topic, bus_topic_specs, dead_letter_topic, statistics_topic
from tests.stores import stored_picture

pytestmark = pytest.mark.kafka

CASE = "KEN-2020-000777"
YEAR = date(2020, 4, 1)

ELIGIBLE = MappaEligibilityIdentified(
    identified_on=date(2020, 5, 1),
    category=Category.VIOLENT_OFFENDER,
    lead_agency=LeadAgency.PROBATION,
)
LEVEL_2 = MappaLevelSet(
    set_on=date(2020, 5, 2), level=Level.TWO, reason=LevelReason.INITIAL_SCREENING
)
LEVEL_3 = MappaLevelSet(
    set_on=date(2020, 6, 1), level=Level.THREE, reason=LevelReason.RISK_INCREASED
)
RELEASED = ReleasedFromCustody(released_on=date(2020, 7, 1), release="sentence-end")
SENT: tuple[tuple[str, EventData, datetime], ...] = (
    ("eligible", ELIGIBLE, datetime(2020, 5, 1, 9, tzinfo=UTC)),
    ("level-2", LEVEL_2, datetime(2020, 5, 2, 9, tzinfo=UTC)),
    ("level-3", LEVEL_3, datetime(2020, 6, 1, 9, tzinfo=UTC)),
    ("released", RELEASED, datetime(2020, 7, 1, 9, tzinfo=UTC)),
)
NEVER_SENT = tuple(sent for sent in SENT if sent[0] != "level-3")
_ON_ALERTS: TypeAdapter[AlertRaised | AlertWithdrawn] = TypeAdapter(OnAlertsTopic)


async def _beside(kafka: KafkaConnection, namespace: str, tmp_path: Path) -> tuple[str, Path, Path]:
    """A namespace beside `namespace` for the log that never held the withdrawn events, with
    its topics and ACLs; and a store folder for each namespace."""
    never = f"{namespace}-never"
    await ensure_topics(kafka, bus_topic_specs(never))
    await ensure_acls(kafka, acl_bindings(never))
    store, never_store = tmp_path / "withdrawn", tmp_path / "never"
    store.mkdir()
    never_store.mkdir()
    return never, store, never_store


async def _publish(
    kafka_as: Callable[[str], KafkaConnection], namespace: str, sent: Any, case_id: str = CASE
) -> None:
    """`sent` published in order, each event by its own agency, about `case_id`."""
    for event_id, data, time in sent:
        agency = data.PUBLISHER
        async with AgencyPublisher(
            kafka_as(agency.value), agency, system="test", namespace=namespace
        ) as publisher:
            await publisher.publish(
                data, case_id=case_id, area=Area.KENT, time=time, event_id=event_id
            )


async def _catch_up(
    kafka_as: Callable[[str], KafkaConnection],
    namespace: str,
    store: Path,
    raised: AlertProjection | None = None,
) -> None:
    """Every slice caught up with `namespace`'s topics, each on its store in `store`; alerts
    with `raised` when given (a running service's pictures, kept in memory)."""
    await picture.catch_up(
        kafka_as("picture"), picture.open_projection(f"sqlite:///{store / 'picture.db'}", namespace)
    )
    await reporting.catch_up(
        kafka_as("reporting"),
        reporting.open_projection(f"sqlite:///{store / 'reporting.db'}", namespace),
    )
    if raised is None:
        raised = alerts.open_projection(f"sqlite:///{store / 'alerts.db'}", namespace)
    await alerts.catch_up(kafka_as("alerts"), raised, today=None)


def _picture(store: Path, namespace: str) -> CasePicture:
    return stored_picture(
        picture.open_projection(f"sqlite:///{store / 'picture.db'}", namespace), CASE
    )


def _as_sent(picture_: CasePicture) -> dict[str, Any]:
    """What the picture says, without when the bus recorded things (two runs differ there)."""
    said = picture_.model_dump(
        mode="json", exclude={"timeline", "withdrawn", "withdrawals", "last_recorded_at"}
    )
    return {**said, "timeline": [entry.event_id for entry in picture_.timeline]}


def _standing(board: AlertBoard) -> list[tuple[str, str, int | None]]:
    """What the board shows: rule, summary and level of each alert."""
    return sorted((row.rule, row.summary, row.level) for row in board.rows())


def _facts(store: Path, namespace: str) -> Any:
    return reporting.open_projection(f"sqlite:///{store / 'reporting.db'}", namespace).cases


async def _statistics(kafka: KafkaConnection, namespace: str) -> list[StatisticsPublished]:
    """Kent 2020-21's statistics as published, in order."""
    published = [
        StatisticsPublished.model_validate_json(record.value)
        async for batch in read_to_end(kafka, [statistics_topic(namespace)])
        for record in batch
    ]
    return [s for s in published if (s.subject, s.data.year_start) == ("kent", YEAR)]


async def _board(kafka: KafkaConnection, namespace: str) -> AlertBoard:
    """The live page's board, fed with everything on the alerts topic."""
    board = AlertBoard()
    async for batch in read_to_end(kafka, [alerts_topic(namespace)]):
        for record in batch:
            board.take(Recorded(_ON_ALERTS.validate_json(record.value), datetime.now(UTC)))
    return board


async def _dead_letters(kafka: KafkaConnection, namespace: str) -> list[tuple[str, str]]:
    """(consumer, rejection) of every dead letter, sorted."""
    letters = [
        dict(record.headers)
        async for batch in read_to_end(kafka, [dead_letter_topic(namespace)])
        for record in batch
    ]
    return sorted((h["mappa-consumer"].decode(), h["mappa-rejection"].decode()) for h in letters)


async def test_a_withdrawn_event_leaves_every_store_as_if_never_sent(
    kafka: KafkaConnection,
    kafka_as: Callable[[str], KafkaConnection],
    namespace: str,
    tmp_path: Path,
) -> None:
    """Level 3 sent, counted and alerted on (as was the release after it), then withdrawn;
    police's withdrawal of level 2 refused. Against a namespace where level 3 was never sent:
    the same picture, statistics (as revision 2, naming the reason) and standing alerts; a
    rebuild gives the same stores."""
    never, store, never_store = await _beside(kafka, namespace, tmp_path)

    await _publish(kafka_as, namespace, SENT)
    # One alerts projection for both rounds, as a running service holds its pictures: one
    # started afresh re-reads the topics, and may meet the withdrawal before it has folded the
    # release again (another topic), and then leaves the release's alert as it was worded
    # (docs/alerts.md, "Withdrawn alerts").
    running = alerts.open_projection(f"sqlite:///{store / 'alerts.db'}", namespace)
    await _catch_up(kafka_as, namespace, store, running)
    counted = _picture(store, namespace)
    async with AgencyPublisher(
        kafka_as("probation"), Agency.PROBATION, system="ndelius", namespace=namespace
    ) as probation:
        await probation.withdraw(
            "level-3", WithdrawalReason.ENTERED_IN_ERROR, case_id=CASE, area=Area.KENT
        )
    async with AgencyPublisher(
        kafka_as("police"), Agency.POLICE, system="visor", namespace=namespace
    ) as police:
        await police.withdraw("level-2", WithdrawalReason.DUPLICATE, case_id=CASE, area=Area.KENT)
    await _catch_up(kafka_as, namespace, store, running)
    await _publish(kafka_as, never, NEVER_SENT)
    await _catch_up(kafka_as, never, never_store)

    withdrawn, never_sent = _picture(store, namespace), _picture(never_store, never)
    assert (counted.level, withdrawn.level) == (Level.THREE, Level.TWO)
    assert _as_sent(never_sent) == _as_sent(withdrawn)
    assert [entry.event_id for entry in withdrawn.withdrawn] == ["level-3"]

    statistics = await _statistics(kafka, namespace)
    never_statistics = await _statistics(kafka, never)
    assert [(s.revision, s.revised_because) for s in statistics] == [
        (1, ()),
        (2, (RevisionReason.ENTERED_IN_ERROR,)),
    ]
    assert never_statistics[-1].data == statistics[-1].data != statistics[0].data

    on_topic = [
        _ON_ALERTS.validate_json(record.value)
        async for batch in read_to_end(kafka, [alerts_topic(namespace)])
        for record in batch
    ]
    raised = [event.id for event in on_topic if isinstance(event, AlertRaised)]
    gone = [event.data for event in on_topic if isinstance(event, AlertWithdrawn)]
    # Level 3's own alert is withdrawn, after it on the topic. The release's depends on the
    # order the consumer read probation's and prisons' topics in: alerted as a level 3 case's
    # (then withdrawn and raised again as a level 2 case's) or as a level 2 case's from the
    # start. Either way, what stands is what the run without level 3 raised.
    assert {"level-raised"} <= {withdrawal.rule for withdrawal in gone}
    assert {withdrawal.alert_id for withdrawal in gone} <= set(raised)
    standing = _standing(await _board(kafka, namespace))
    assert _standing(await _board(kafka, never)) == standing
    assert [(rule, level) for rule, _, level in standing] == [("released-from-custody", 2)]

    # Police's withdrawal is on police's topic, read beside probation's: a consumer that has
    # not yet met level 2 knows no such event (unknown-event); one that has, knows it is
    # probation's (not-own-event). Refused either way, by each slice once.
    letters = await _dead_letters(kafka, namespace)
    assert [consumer for consumer, _ in letters] == ["alerts", "picture", "reporting"]
    assert {kind for _, kind in letters} <= {"not-own-event", "unknown-event"}

    facts = _facts(store, namespace)
    picture.rebuild(picture.open_projection(f"sqlite:///{store / 'picture.db'}", namespace))
    reporting.rebuild(reporting.open_projection(f"sqlite:///{store / 'reporting.db'}", namespace))
    await _catch_up(kafka_as, namespace, store)
    assert (withdrawn, facts) == (_picture(store, namespace), _facts(store, namespace))
    assert len(statistics) == len(await _statistics(kafka, namespace))


# A second case for the partnership indicators: probation's meeting, with police and housing
# present, and housing's need, both withdrawn by their agencies.
SHARING_CASE = "KEN-2020-000778"
MEETING = MappaMeetingHeld(
    held_on=date(2020, 5, 10),
    level=Level.TWO,
    agencies_present=[Agency.POLICE, Agency.HOUSING],
    next_review_on=date(2020, 8, 10),
)
NEED = HousingNeedRaised(raised_on=date(2020, 5, 11), need="homeless")
SHARED: tuple[tuple[str, EventData, datetime], ...] = (
    ("s-eligible", ELIGIBLE, datetime(2020, 5, 1, 9, tzinfo=UTC)),
    ("s-meeting", MEETING, datetime(2020, 5, 10, 9, tzinfo=UTC)),
    ("s-need", NEED, datetime(2020, 5, 11, 9, tzinfo=UTC)),
)


def _sharing(store: Path, namespace: str) -> PartnershipIndicators:
    """Kent 2020-21's partnership indicators as the store holds them."""
    projection = reporting.open_projection(f"sqlite:///{store / 'reporting.db'}", namespace)
    return indicators(combine(projection.partnership.values()), Area.KENT, YEAR)


def _row(sharing: PartnershipIndicators, agency: Agency) -> AgencyIndicators:
    return next(row for row in sharing.agencies if row.agency is agency)


def _figures(sharing: PartnershipIndicators, agency: Agency) -> tuple[Any, ...]:
    """Events shared, median and 90th percentile delay, meetings attended and held."""
    row = _row(sharing, agency)
    return (
        row.events_shared,
        row.median_delay_seconds,
        row.p90_delay_seconds,
        row.meetings_attended,
        row.meetings_held,
    )


async def _catch_up_reporting(
    kafka_as: Callable[[str], KafkaConnection], namespace: str, store: Path
) -> None:
    await reporting.catch_up(
        kafka_as("reporting"),
        reporting.open_projection(f"sqlite:///{store / 'reporting.db'}", namespace),
    )


async def test_withdrawn_events_leave_the_partnership_indicators(
    kafka: KafkaConnection,
    kafka_as: Callable[[str], KafkaConnection],
    namespace: str,
    tmp_path: Path,
) -> None:
    """Probation's meeting (police and housing present) and housing's need counted, then
    withdrawn by their agencies: Kent 2020-21's indicators are those of a log holding only the
    eligibility, after a restart and a rebuild from the log alike.

    By hand: each event happened in May 2020 and reached the bus more than 10**8.2 seconds
    (5.02 years) later, so every delay reads back as LONGEST_SECONDS. Before: probation shared
    2 (eligibility, meeting) and held 1 meeting; police attended 1 of 1, sharing nothing;
    housing shared 1 and attended 1 of 1. After: probation shared 1, no meeting held; police
    and housing nothing."""
    never, store, never_store = await _beside(kafka, namespace, tmp_path)
    await _publish(kafka_as, namespace, SHARED, SHARING_CASE)
    await _catch_up_reporting(kafka_as, namespace, store)
    before = _sharing(store, namespace)

    for agency, event_id in ((Agency.PROBATION, "s-meeting"), (Agency.HOUSING, "s-need")):
        async with AgencyPublisher(
            kafka_as(agency.value), agency, system="test", namespace=namespace
        ) as publisher:
            await publisher.withdraw(
                event_id, WithdrawalReason.ENTERED_IN_ERROR, case_id=SHARING_CASE, area=Area.KENT
            )
    await _catch_up_reporting(kafka_as, namespace, store)
    after = _sharing(store, namespace)
    await _publish(kafka_as, never, SHARED[:1], SHARING_CASE)
    await _catch_up_reporting(kafka_as, never, never_store)
    reporting.rebuild(reporting.open_projection(f"sqlite:///{store / 'reporting.db'}", namespace))
    await _catch_up_reporting(kafka_as, namespace, store)

    agencies = (Agency.PROBATION, Agency.POLICE, Agency.HOUSING)
    longest = LONGEST_SECONDS
    assert [_figures(before, agency) for agency in agencies] == [
        (2, longest, longest, 0, 1),
        (0, None, None, 1, 1),
        (1, longest, longest, 1, 1),
    ]
    assert [_figures(after, agency) for agency in agencies] == [
        (1, longest, longest, 0, 0),
        (0, None, None, 0, 0),
        (0, None, None, 0, 0),
    ]
    assert after == _sharing(never_store, never) == _sharing(store, namespace)
