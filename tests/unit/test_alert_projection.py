"""The alerts projection without a broker: records in, alerts out, each once, across restarts
and late arrivals; the outbox holds them until they are published."""

from __future__ import annotations

import asyncio
import dataclasses
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from mappa_bus.agencies import Agency
from mappa_bus.alerts.consumer import AlertProjection
from mappa_bus.alerts.model import AlertRaised
from mappa_bus.alerts.service import Outbox
from mappa_bus.alerts.store import (
    all_raised,
    due_cases,
    mark_published,
    unpublished,
)
from mappa_bus.catalogue import Envelope, EventData, Level, plans, prisons
from mappa_bus.catalogue.probation import (
    LevelReason,
    ManagementEndReason,
    MappaLevelSet,
    MappaManagementEnded,
)
from mappa_bus.catalogue.withdrawal import ProbationEventWithdrawn
from mappa_bus.projection.database import open_engine
from mappa_bus.topics import agency_topic
from tests.alert_year import fold_the_year
from tests.area_year import small_area_year
from tests.case_events import EventMaker, kent_case, withdrawal
from tests.keys import KEYRING
from tests.records import FakeBroker, Record, record_of

NAMESPACE = "unit"
CASE = "KEN-2021-000007"
START = datetime(2021, 1, 1, 9, 0, tzinfo=UTC)


class Log:
    """Agency topics of one partition each, appended to as the broker would."""

    def __init__(self) -> None:
        self.records: list[Record] = []

    def append(self, event: Envelope[EventData]) -> Record:
        topic = agency_topic(event.publisher, NAMESPACE)
        offset = sum(1 for r in self.records if r.topic == topic)
        stamp = int((START + timedelta(minutes=len(self.records))).timestamp() * 1000)
        record = record_of(event, offset, stamp, NAMESPACE)
        self.records.append(record)
        return record


_event = kent_case(CASE, START)


def _level(level: Level, day: int, review_in: int = 30) -> Envelope[EventData]:
    set_on = (START + timedelta(days=day)).date()
    data = MappaLevelSet(
        set_on=set_on,
        level=level,
        reason=LevelReason.RELEASE_PLANNING,
        review_due_on=set_on + timedelta(days=review_in),
    )
    return _event(data, day, f"level-{day}")


def _release(day: int) -> Envelope[EventData]:
    on = (START + timedelta(days=day)).date()
    data = prisons.ReleasedFromCustody(
        released_on=on, release="on-licence", licence_ends_on=on + timedelta(days=365)
    )
    return _event(data, day, f"release-{day}")


@pytest.fixture
def url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'alerts.db'}"


def _projection(url: str) -> AlertProjection:
    projection = AlertProjection(open_engine(url), NAMESPACE, keyring=KEYRING)
    projection.load()
    return projection


def _consume(projection: AlertProjection, records: list[Record]) -> None:
    projection.commit(projection.fold(records))


def _rules(url: str) -> Counter[str]:
    with open_engine(url).connect() as connection:
        return Counter(alert.data.rule for alert in all_raised(connection))


def test_a_level_3_release_raises_one_alert_and_redelivery_raises_none(url: str) -> None:
    """The release is alerted once; the same records again (a retried batch) add nothing."""
    log = Log()
    records = [log.append(_level(Level.THREE, 1)), log.append(_release(2))]
    projection = _projection(url)

    _consume(projection, records)
    _consume(projection, records)

    assert _rules(url) == Counter({"released-from-custody": 1})


def test_after_a_restart_the_pictures_are_read_from_the_store_and_only_new_events_raise(
    url: str,
) -> None:
    """A restarted service reads its pictures from its store, skips what it folded (the
    records delivered again) without raising again, then raises for what is new."""
    log = Log()
    _consume(_projection(url), [log.append(_level(Level.TWO, 1)), log.append(_release(2))])
    restarted = _projection(url)
    raised_at_restart = restarted.raised_count()
    recall = log.append(_level(Level.THREE, 3))

    _consume(restarted, [*log.records[:2], recall])

    assert _rules(url) == Counter({"released-from-custody": 1, "level-raised": 1})
    assert restarted.raised_count() - raised_at_restart == 1
    assert restarted.stored_pictures()[CASE].level is Level.THREE


def test_a_level_that_arrives_after_the_release_it_precedes_still_raises_the_alert(
    url: str,
) -> None:
    """Prison's release reached the bus before probation's level: once the level is known,
    the release of a level 3 person is alerted."""
    log = Log()
    projection = _projection(url)
    _consume(projection, [log.append(_release(5))])
    assert _rules(url) == Counter()

    _consume(projection, [log.append(_level(Level.THREE, 1))])

    assert _rules(url) == Counter({"released-from-custody": 1})


def test_the_same_event_sent_again_under_a_new_offset_raises_nothing(url: str) -> None:
    """An agency re-sending an event (same id) is not a new trigger."""
    log = Log()
    level, release = _level(Level.THREE, 1), _release(2)
    projection = _projection(url)
    _consume(projection, [log.append(level), log.append(release)])
    _consume(projection, [log.append(release)])

    assert _rules(url) == Counter({"released-from-custody": 1})


def test_an_overdue_review_is_raised_once_and_only_when_the_pictures_are_current(
    url: str,
) -> None:
    """The clock raises the overdue review once, however often it looks; a restarted service
    that has not yet folded the log again raises nothing (its pictures are not current)."""
    log = Log()
    projection = _projection(url)
    _consume(projection, [log.append(_level(Level.TWO, 1, review_in=30))])
    due = (START + timedelta(days=31)).date()

    assert projection.raise_overdue(due) == 0  # due today: not yet overdue
    assert projection.raise_overdue(due + timedelta(days=1)) == 1
    assert projection.raise_overdue(date(2022, 1, 1)) == 0
    assert _projection(url).raise_overdue(date(2022, 1, 1)) == 0
    assert _rules(url) == Counter({"review-overdue": 1})


def _agreed(day: int, due_day: int) -> Envelope[EventData]:
    """Probation's meeting agrees an accommodation search owned by housing."""
    data = plans.ProbationPlanActionAgreed(
        action_id="ACT-7",
        meeting_reference="MTG-0007",
        agreed_on=(START + timedelta(days=day)).date(),
        owner=Agency.HOUSING,
        kind=plans.ActionKind.ACCOMMODATION_SEARCH,
        due_on=(START + timedelta(days=due_day)).date(),
    )
    return _event(data, day, f"agreed-{day}")


def _redated(day: int, due_day: int) -> Envelope[EventData]:
    """Housing, the owner, moves the action's due date."""
    data = plans.HousingPlanActionRedated(
        action_id="ACT-7",
        redated_on=(START + timedelta(days=day)).date(),
        due_on=(START + timedelta(days=due_day)).date(),
        reason=plans.RedateReason.RESOURCING,
    )
    return _event(data, day, f"redated-{day}")


def test_an_overdue_action_is_raised_once_across_restarts_and_again_once_redated(
    url: str,
) -> None:
    """The clock raises an overdue action once however often it looks and after a restart;
    re-dated by its owner and missed again, it raises a second alert, once."""
    log = Log()
    records = [log.append(_level(Level.TWO, 1, review_in=400)), log.append(_agreed(5, 40))]
    projection = _projection(url)
    _consume(projection, records)
    due = (START + timedelta(days=40)).date()

    assert projection.raise_overdue(due) == 0
    assert projection.raise_overdue(due + timedelta(days=1)) == 1
    assert projection.raise_overdue(due + timedelta(days=20)) == 0
    restarted = _projection(url)
    _consume(restarted, records)
    assert restarted.raise_overdue(due + timedelta(days=30)) == 0
    _consume(restarted, [log.append(_redated(45, 80))])
    assert restarted.raise_overdue(due + timedelta(days=30)) == 0  # not due till day 80
    assert restarted.raise_overdue(due + timedelta(days=41)) == 1
    assert restarted.raise_overdue(due + timedelta(days=90)) == 0
    assert _rules(url) == Counter({"action-overdue": 2})


def test_a_high_risk_at_level_one_and_open_actions_at_the_end_are_raised_once_each(
    url: str,
) -> None:
    """Each event rule raises once: the same records again, and a restart folding them all
    again, add nothing."""
    log = Log()
    day = (START + timedelta(days=20)).date()
    assessed = plans.PoliceRiskAssessmentCompleted(
        assessed_on=day, tool=plans.RiskTool.ARMS, overall=plans.RiskLevel.HIGH
    )
    ended = MappaManagementEnded(
        ended_on=day + timedelta(days=10), reason=ManagementEndReason.LICENCE_ENDED
    )
    records = [
        log.append(_level(Level.ONE, 1, review_in=400)),
        log.append(_agreed(5, 200)),
        log.append(_event(assessed, 20, "assessed-20")),
        log.append(_event(ended, 30, "ended-30")),
    ]
    projection = _projection(url)
    _consume(projection, records)
    _consume(projection, records)
    _consume(_projection(url), records)

    assert _rules(url) == Counter({"high-risk-at-level-one": 1, "plan-open-at-end": 1})


def test_the_level_three_interval_is_the_projections_to_set(url: str) -> None:
    """A level 3 case without a meeting: unmet after four weeks when the interval is four."""
    log = Log()
    projection = _projection(url)
    projection.level_three_interval = timedelta(weeks=4)
    _consume(projection, [log.append(_level(Level.THREE, 1, review_in=400))])
    set_on = (START + timedelta(days=1)).date()

    assert projection.raise_overdue(set_on + timedelta(weeks=4)) == 0
    assert projection.raise_overdue(set_on + timedelta(weeks=4, days=1)) == 1
    assert _rules(url) == Counter({"level-three-unmet": 1})


class SlowBroker(FakeBroker):
    """A broker whose sends each take a turn of the loop, counting how many are in flight."""

    def __init__(self) -> None:
        super().__init__()
        self.in_flight = 0
        self.most_in_flight = 0

    async def publish(self, value: bytes, topic: str, **_: object) -> None:
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        await asyncio.sleep(0)
        self.in_flight -= 1
        await super().publish(value, topic)


async def test_a_large_round_is_sent_a_share_at_a_time(
    url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A catch-up's last round can hold years of overdue reviews: the outbox sends them
    `SENDS_AT_ONCE` at a time, every one once."""
    log = Log()
    records: list[Record] = []
    for n in range(7):
        event = kent_case(f"KEN-2021-{n:06}", START)
        level = MappaLevelSet(
            set_on=START.date(), level=Level.THREE, reason=LevelReason.RELEASE_PLANNING
        )
        records.append(log.append(event(level, 1, f"level-{n}")))
        records.append(log.append(_released(event, n)))
    projection = _projection(url)
    _consume(projection, records)
    monkeypatch.setattr("mappa_bus.alerts.service.SENDS_AT_ONCE", 3)
    broker = SlowBroker()
    outbox = Outbox(projection.engine, NAMESPACE, outgoing=projection.outgoing)

    sent = await outbox.publish(broker)  # type: ignore[arg-type]

    subjects = [AlertRaised.model_validate_json(value).subject for value, _ in broker.sent]
    assert sent == 7
    assert broker.most_in_flight == 3
    assert sorted(subjects) == [f"KEN-2021-{n:06}" for n in range(7)]


def _released(event: EventMaker, n: int) -> Envelope[EventData]:
    on = (START + timedelta(days=2)).date()
    data = prisons.ReleasedFromCustody(
        released_on=on, release="on-licence", licence_ends_on=on + timedelta(days=365)
    )
    return event(data, 2, f"release-{n}")


def test_the_outbox_keeps_alerts_unpublished_until_marked(url: str) -> None:
    """What the service stores, it still has to publish; marking is by id."""
    log = Log()
    _consume(_projection(url), [log.append(_level(Level.THREE, 1)), log.append(_release(2))])
    engine = open_engine(url)
    with engine.begin() as connection:
        pending = unpublished(connection)
        mark_published(connection, [alert.id for alert in pending])
        left = unpublished(connection)

    assert [alert.data.rule for alert in pending] == ["released-from-custody"]
    assert pending[0].subject == CASE
    assert left == []


async def test_a_batchs_alerts_go_out_as_stored_and_are_marked_by_the_next_commit(
    url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The outbox reads the store back once after a load (a start, a reassignment); from then
    on it sends each batch's alerts as the commit stored them, and the next commit marks them
    published; what the store holds unmarked and the outbox sent is not sent again."""
    log = Log()
    projection = _projection(url)
    outbox = Outbox(projection.engine, NAMESPACE, outgoing=projection.outgoing)
    broker = FakeBroker()

    def rules(sent: list[tuple[bytes, str]]) -> list[str]:
        return [AlertRaised.model_validate_json(value).data.rule for value, _ in sent]

    def pending() -> list[str]:
        with projection.engine.connect() as connection:
            return [alert.data.rule for alert in unpublished(connection)]

    _consume(projection, [log.append(_level(Level.THREE, 1)), log.append(_release(2))])
    assert await outbox.publish(broker) == 1  # type: ignore[arg-type]
    assert pending() == ["released-from-custody"]  # sent, not marked yet

    with monkeypatch.context() as patched:
        patched.setattr("mappa_bus.alerts.service.unpublished", None)  # not read back
        _consume(projection, [log.append(_level(Level.TWO, 3)), log.append(_level(Level.THREE, 4))])
        assert await outbox.publish(broker) == 1  # type: ignore[arg-type]
    assert pending() == ["level-raised"]  # the first marked by the second batch's commit

    projection.load()
    assert await outbox.publish(broker) == 0  # type: ignore[arg-type]
    outbox.mark_sent()

    assert pending() == []
    assert rules(broker.sent) == ["released-from-custody", "level-raised"]


def test_a_group_member_asks_the_clock_only_about_the_cases_it_holds(url: str) -> None:
    """Two cases on two partitions; the member holding the second's partition raises the
    overdue review of that case alone (the other member raises the other's)."""
    first, second = _level(Level.TWO, 1), _level(Level.TWO, 1)
    second = second.model_copy(update={"subject": "KEN-2021-000011", "id": "level-other"})
    topic = agency_topic(first.publisher, NAMESPACE)
    stamp = int(START.timestamp() * 1000)
    records = [record_of(first, 0, stamp, NAMESPACE), record_of(second, 0, stamp, NAMESPACE)]
    assert records[0].partition != records[1].partition
    projection = _projection(url)
    _consume(projection, records)

    raised = projection.raise_overdue(date(2022, 1, 1), held=[(topic, records[1].partition)])

    with open_engine(url).connect() as connection:
        cases = [alert.subject for alert in all_raised(connection)]
    assert raised == 1
    assert cases == ["KEN-2021-000011"]


def _year_records(cases: int) -> list[Record]:
    """The events of `cases` cases of a simulated area-year, as the broker would hold them."""
    stream = small_area_year()
    chosen = set(sorted({event.case_id for event in stream})[:cases])
    offsets: Counter[tuple[str, int]] = Counter()
    records = []
    for event in stream:
        if event.case_id not in chosen:
            continue
        stamp = int((event.time + timedelta(minutes=5)).timestamp() * 1000)
        record = record_of(event, 0, stamp, NAMESPACE)
        record = dataclasses.replace(record, offset=offsets[(record.topic, record.partition)])
        offsets[(record.topic, record.partition)] += 1
        records.append(record)
    return records


def _run_the_year(
    url: str, records: list[Record], cache_size: int, cache_bytes: int = 2**30
) -> tuple[list[tuple[str, str]], AlertProjection]:
    """Every alert and withdrawal a projection caching `cache_size` cases (and `cache_bytes`
    of their rows) stores, folding `records` 20 at a time and asking the clock each month; and
    the projection."""
    projection = AlertProjection(
        open_engine(url),
        NAMESPACE,
        keyring=KEYRING,
        cache_size=cache_size,
        cache_bytes=cache_bytes,
        clock=lambda: START,
    )
    projection.load()
    alerts, _ = fold_the_year(projection, records, 20)
    return alerts, projection


def test_a_cache_of_one_or_two_cases_raises_what_a_large_one_does(tmp_path: Path) -> None:
    """The cache only saves reads: a projection that must read almost every case back from its
    store raises the very alerts, time-driven ones too, of one that holds them all."""
    records = _year_records(60)
    large, _ = _run_the_year(f"sqlite:///{tmp_path / 'large.db'}", records, 10_000)

    assert len(large) > 30  # a year of 60 cases raises plenty, of many rules
    assert len({data.split('"rule":"')[1].split('"')[0] for _, data in large}) >= 5
    for size in (1, 2):
        small, _ = _run_the_year(f"sqlite:///{tmp_path / f'{size}.db'}", records, size)
        assert small == large


def test_a_cache_bounded_in_bytes_raises_what_a_large_one_does_and_keeps_to_its_bytes(
    tmp_path: Path,
) -> None:
    """A picture grows with its case's history, so the cache is bounded in the bytes of the
    cases' rows as well as in cases: it keeps to them, and raises the very same alerts."""
    records = _year_records(60)
    large, _ = _run_the_year(f"sqlite:///{tmp_path / 'large.db'}", records, 10_000)
    bounded, projection = _run_the_year(
        f"sqlite:///{tmp_path / 'bytes.db'}", records, 10_000, cache_bytes=8_000
    )

    assert bounded == large
    cached, _ = projection.cache.found(sorted({record.key.decode() for record in records}))
    sizes = [held.stored_size for held in cached.values()]
    assert sizes
    assert min(sizes) > 0  # each weighed by its row
    assert sum(sizes) <= 8_000 or len(sizes) == 1


def _as_made_before_the_pictures_were_kept(url: str) -> None:
    """Take from the store what an earlier version did not keep: the pictures' table, and
    the offsets and links they were folded with."""
    with open_engine(url).begin() as connection:
        connection.exec_driver_sql("DROP TABLE alerts_cases")
        connection.exec_driver_sql(
            "DELETE FROM projection_offsets WHERE projection = 'alerts-cases'"
        )
        connection.exec_driver_sql(
            "DELETE FROM projection_merges WHERE projection = 'alerts-cases'"
        )


def test_a_store_made_before_the_pictures_were_kept_folds_them_again_from_the_log(
    url: str,
) -> None:
    """An upgraded store has alerts and their offsets but no pictures: they are folded from the
    start of the log, raising nothing twice and refusing nothing twice; until then the clock
    waits, and from then on the pictures are current."""
    log = Log()
    _consume(_projection(url), [log.append(_level(Level.TWO, 1)), log.append(_release(2))])
    stray = withdrawal(
        _event,
        ProbationEventWithdrawn,
        "no-such-event",
        "w-1",
        day=4,
        on=(START + timedelta(days=4)).date(),
    )
    refused = _projection(url).fold([log.append(stray)])
    _projection(url).commit(refused)
    _as_made_before_the_pictures_were_kept(url)
    raised_before = _rules(url)

    upgraded = _projection(url)
    cold = upgraded.raise_overdue(date(2022, 1, 1))
    batch = upgraded.fold(log.records)
    upgraded.commit(batch)

    assert len(refused.rejected) == 1  # refused when first met, and only then:
    assert (cold, upgraded.warm, batch.rejected, _rules(url)) == (0, True, [], raised_before)
    assert upgraded.stored_pictures()[CASE].level is Level.TWO
    _consume(upgraded, [log.append(_level(Level.THREE, 3))])
    assert upgraded.raise_overdue(date(2022, 1, 1)) == 2
    assert _rules(url) == raised_before + Counter(
        {"level-raised": 1, "review-overdue": 1, "level-three-unmet": 1}
    )


OTHER = "KEN-2021-000008"


def _due_on(url: str) -> dict[str, date | None]:
    with open_engine(url).connect() as connection:
        rows = connection.exec_driver_sql("SELECT case_id, due_on FROM alerts_cases")
        return {case_id: None if due is None else date.fromisoformat(due) for case_id, due in rows}


def test_the_clock_reads_only_the_cases_due_and_moves_each_on_past_today(url: str) -> None:
    """Each case is stored with its first due day; the clock reads the cases due by today
    alone, and once asked a case is due again only when something new can fall due."""
    log, other = Log(), kent_case(OTHER, START)
    projection = _projection(url)
    level = MappaLevelSet(
        set_on=START.date(),
        level=Level.TWO,
        reason=LevelReason.RELEASE_PLANNING,
        review_due_on=(START + timedelta(days=300)).date(),
    )
    _consume(projection, [log.append(_level(Level.TWO, 1)), log.append(other(level, 0, "o-1"))])
    review = (START + timedelta(days=31)).date()  # the first case's, 30 days after day 1
    stored = _due_on(url)

    with projection.engine.connect() as connection:
        due = due_cases(connection, review + timedelta(days=1), None)
    assert stored == {CASE: review + timedelta(days=1), OTHER: (START + timedelta(301)).date()}
    assert due == [CASE]
    assert projection.raise_overdue(review + timedelta(days=1)) == 1
    assert _due_on(url)[CASE] is None  # nothing else can fall due until the case changes
