"""The stores' databases: `database_url` gives each test a working database of its own, on SQLite
and on a real PostgreSQL, through the one code path the stores use (SQLAlchemy Core)."""

from __future__ import annotations

import functools
import threading
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from mappa_bus.agencies import Agency
from mappa_bus.alerts.consumer import AlertProjection
from mappa_bus.alerts.schema import cases_table as alerts_cases_table
from mappa_bus.alerts.schema import create_schema as alerts_schema
from mappa_bus.alerts.schema import timeline_table as alerts_timeline_table
from mappa_bus.case.fold import Place, current_of
from mappa_bus.case.model import ActionStatus, CasePicture, Plan, PlanAction
from mappa_bus.catalogue import Area, Envelope
from mappa_bus.catalogue.erasure import ErasureData, ErasureGround, case_erased
from mappa_bus.catalogue.housing import HousingNeedRaised
from mappa_bus.catalogue.plans import ActionKind
from mappa_bus.catalogue.probation import MappaEligibilityIdentified
from mappa_bus.catalogue.vocabulary import Category
from mappa_bus.catalogue.withdrawal import HousingEventWithdrawn, ProbationEventWithdrawn
from mappa_bus.picture.consumer import PictureProjection
from mappa_bus.picture.schema import create_schema as picture_schema
from mappa_bus.picture.schema import pictures_table, timeline_table
from mappa_bus.picture.store import (
    current_pictures,
    find_overdue,
    holding,
    load_pictures,
    save_pictures,
)
from mappa_bus.projection.database import (
    StoreOutOfDateError,
    open_engine,
    snapshot,
)
from mappa_bus.projection.seen import applied_before_table, applied_table
from mappa_bus.projection.timelines import LAST_EVENT_ID, LAST_TIME, place_of
from mappa_bus.reporting.consumer import ReportingProjection
from mappa_bus.reporting.partnership import Contribution, Counted, PartnershipKey
from mappa_bus.reporting.partnership_store import load_contributions, save_contributions
from mappa_bus.reporting.schema import (
    contributions_before_table,
    partnership_contributions_table,
)
from mappa_bus.reporting.schema import create_schema as reporting_schema
from tests.case_events import kent_case, withdrawal, withdrawn_and_late
from tests.keys import KEYRING
from tests.records import delivered, erasure_record
from tests.reporting_case import AGREED, ELIGIBLE, case_event
from tests.reporting_case import NAMESPACE as REPORTING_NAMESPACE
from tests.reporting_case import records as reporting_records

ON = date(2023, 7, 1)
METADATA = sa.MetaData()
NOTES = sa.Table(
    "notes",
    METADATA,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("text", sa.String(200), nullable=False),
)


@pytest.fixture
def engine(database_url: str) -> Iterator[sa.Engine]:
    engine = sa.create_engine(database_url)
    try:
        yield engine
    finally:
        engine.dispose()


def test_each_parametrisation_is_its_own_engine(
    engine: sa.Engine, request: pytest.FixtureRequest
) -> None:
    expected = request.node.callspec.params["database_url"]
    assert expected in ("sqlite", "postgresql")
    assert engine.dialect.name == expected
    if expected == "postgresql":
        assert engine.dialect.driver == "psycopg"
    with engine.connect() as connection:
        assert connection.execute(sa.select(sa.literal(1))).scalar_one() == 1


def test_committed_rows_are_seen_and_rolled_back_ones_are_not(engine: sa.Engine) -> None:
    METADATA.create_all(engine)
    with engine.begin() as connection:
        connection.execute(sa.insert(NOTES), [{"text": "first"}, {"text": "second"}])

    with engine.connect() as connection:
        texts = connection.execute(sa.select(NOTES.c.text).order_by(NOTES.c.id)).scalars().all()
    assert texts == ["first", "second"]

    with engine.connect() as connection:
        transaction = connection.begin()
        connection.execute(sa.insert(NOTES), {"text": "never kept"})
        inside = connection.execute(sa.select(sa.func.count()).select_from(NOTES)).scalar_one()
        assert inside == 3
        transaction.rollback()

    with engine.connect() as connection:
        after = connection.execute(sa.select(sa.func.count()).select_from(NOTES)).scalar_one()
    assert after == 2


def test_the_database_starts_empty(engine: sa.Engine) -> None:
    # The table the test above created is not here: each test has a database of its own.
    assert sa.inspect(engine).get_table_names() == []


def _all_at_once(starts: Sequence[Callable[[], object]]) -> list[BaseException]:
    """Run each of `starts` in a thread of its own, all let go at the same moment (as members
    of a group starting together); what each raised."""
    together = threading.Barrier(len(starts))
    failures: list[BaseException] = []

    def start(action: Callable[[], object]) -> None:
        together.wait()
        try:
            action()
        except BaseException as error:  # every failure is the test's to report
            failures.append(error)

    threads = [threading.Thread(target=start, args=(action,)) for action in starts]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return failures


@pytest.mark.parametrize(
    "create_schema",
    [picture_schema, reporting_schema, alerts_schema],
    ids=["picture", "reporting", "alerts"],
)
def test_members_starting_together_on_a_new_store_all_create_its_schema(
    database_url: str, create_schema: Callable[[sa.Engine], object]
) -> None:
    """Two members of a group started at once on an empty store both create its tables; the
    one that checks first and creates second must not fail (it did, and exited: CI saw it)."""
    engines = [open_engine(database_url) for _ in range(4)]
    failures = _all_at_once([functools.partial(create_schema, engine) for engine in engines])
    try:
        assert failures == []
        tables = set(sa.inspect(engines[0]).get_table_names())
        assert "projection_offsets" in tables
        if create_schema is picture_schema:
            assert "picture_timeline" in tables
        if create_schema is alerts_schema:
            assert "alerts_timeline" in tables
    finally:
        for engine in engines:
            engine.dispose()


def test_a_store_an_earlier_version_made_is_refused_by_name(database_url: str) -> None:
    """A table created before a column was added (here the partnership counts' partition) is
    refused when the service starts, naming the table, the column and the way out."""
    engine = open_engine(database_url)
    older = sa.Table(
        "reporting_partnership",
        sa.MetaData(),
        sa.Column("area", sa.String(64), primary_key=True),
        sa.Column("year_start", sa.Date, primary_key=True),
        sa.Column("agency", sa.String(64), primary_key=True),
        sa.Column("delays", sa.Text, nullable=False),
        sa.Column("meetings_held", sa.Integer, nullable=False),
        sa.Column("meetings_attended", sa.Integer, nullable=False),
    )
    try:
        older.create(engine)
        with pytest.raises(StoreOutOfDateError, match=r"reporting_partnership .* partition") as no:
            reporting_schema(engine)
        assert "new store" in str(no.value)
    finally:
        engine.dispose()


def test_a_picture_store_made_before_the_timeline_rows_is_upgraded_once(
    database_url: str,
) -> None:
    """A store whose pictures carry their timelines (one with a withdrawal and a late event),
    and whose rows have no place columns, gets them as rows on the next start and reads back
    the same pictures, each row without its timeline and with its latest entry's place;
    starting again changes nothing."""
    engine = open_engine(database_url)
    pictures = [
        withdrawn_and_late("KEN-2024-000001"),
        withdrawn_and_late("KEN-2024-000002"),
    ]
    try:
        pictures_table.create(engine)  # as the version before made it
        with engine.begin() as connection:
            for column in (LAST_TIME, LAST_EVENT_ID):
                connection.exec_driver_sql(f"ALTER TABLE picture_cases DROP COLUMN {column}")
        with engine.begin() as connection:
            connection.execute(
                pictures_table.insert(),
                [
                    {"case_id": p.case_id, "status": "unknown", "picture": p.model_dump_json()}
                    for p in pictures
                ],
            )

        picture_schema(engine)
        picture_schema(engine)

        with snapshot(engine) as connection:
            assert load_pictures(connection) == {p.case_id: p for p in pictures}
            rows = connection.execute(sa.select(sa.func.count()).select_from(timeline_table))
            assert rows.scalar_one() == 8
            kept = connection.execute(sa.select(pictures_table.c.picture)).scalars()
            assert all('"timeline"' not in text for text in kept)
            current = current_pictures(connection, [p.case_id for p in pictures])
        assert current == {p.case_id: current_of(p) for p in pictures}
    finally:
        engine.dispose()


def test_the_redelivery_lookup_finds_only_pairs_the_timeline_rows_hold(database_url: str) -> None:
    """`holding` names the cases whose rows hold one of the asked (case, event) pairs: not a
    case asked about an id only other cases hold, nor one asked about ids it lacks; over more
    pairs than a batch of records holds (all of them one statement's single parameter)."""
    engine = open_engine(database_url)
    picture_schema(engine)
    # Both cases hold an event with the id `eligible`.
    pictures = [withdrawn_and_late("KEN-2024-000001"), withdrawn_and_late("KEN-2024-000002")]
    unheld = {f"KEN-2024-{n:06d}": ["eligible"] for n in range(3, 2_503)}
    try:
        with engine.begin() as connection:
            save_pictures(connection, pictures)
        with snapshot(engine) as connection:
            held = holding(
                connection,
                {"KEN-2024-000001": ["eligible", "other"], "KEN-2024-000002": ["other"], **unheld},
            )
    finally:
        engine.dispose()

    assert held == {"KEN-2024-000001"}


def test_contributions_are_read_back_by_the_time_and_id_they_are_filed_under(
    database_url: str,
) -> None:
    """`load_contributions` finds the kept contributions of the asked (time, id) pairs, and
    not an id asked under another time, nor one never kept; over more pairs than a batch."""
    engine = open_engine(database_url)
    reporting_schema(engine)
    key = PartnershipKey(Area.KENT, date(2020, 4, 1), Agency.PROBATION)
    counted = {
        f"event-{n}": Counted(f"KEN-2020-{n:06d}", n % 6, Contribution(key, n % 4))
        for n in range(3)
    }
    times = {event_id: 1_600_000_000_000_000 + n for n, event_id in enumerate(counted)}
    asked = {
        "event-0": times["event-0"],
        "event-1": times["event-1"] + 1,
        "event-2": times["event-2"],
        **{f"never-{n}": n for n in range(2_500)},
    }
    try:
        with engine.begin() as connection:
            save_contributions(connection, counted, times)
        with snapshot(engine) as connection:
            found = load_contributions(connection, asked)
    finally:
        engine.dispose()

    assert found == {"event-0": counted["event-0"], "event-2": counted["event-2"]}


def test_reads_through_a_snapshot_see_one_moment(database_url: str) -> None:
    """A commit made while a snapshot is open is not seen through it (a projection reads its
    state and its offsets so), and is seen through the next."""
    engine = open_engine(database_url)
    try:
        METADATA.create_all(engine)
        with engine.begin() as connection:
            connection.execute(sa.insert(NOTES), [{"text": "before"}])
        count = sa.select(sa.func.count()).select_from(NOTES)
        with snapshot(engine) as reading:
            first = reading.execute(count).scalar_one()
            with engine.begin() as connection:
                connection.execute(sa.insert(NOTES), [{"text": "during"}])
            second = reading.execute(count).scalar_one()
        with snapshot(engine) as reading:
            after = reading.execute(count).scalar_one()
        assert (first, second, after) == (1, 1, 2)
    finally:
        engine.dispose()


def test_the_overdue_listing_reads_the_open_due_date_on_either_database(
    database_url: str,
) -> None:
    """Pictures saved with their earliest open due date are found by it, earliest first, and a
    case whose actions are all done is not."""
    engine = open_engine(database_url)
    picture_schema(engine)
    pictures = [
        _with_plan("case-late", date(2024, 6, 10)),
        _with_plan("case-later", date(2024, 6, 12)),
        _with_plan("case-early", date(2024, 6, 1)),
        _with_plan("case-done", date(2024, 5, 1), ActionStatus.COMPLETED),
    ]
    try:
        with engine.begin() as connection:
            save_pictures(connection, pictures)
        with snapshot(engine) as connection:
            found = [p.case_id for p in find_overdue(connection, date(2024, 6, 11), None)]
    finally:
        engine.dispose()

    assert found == ["case-early", "case-late"]


def _with_plan(case_id: str, due: date, status: ActionStatus = ActionStatus.OPEN) -> CasePicture:
    action = PlanAction(
        action_id="ACT-1",
        owner=Agency.HOUSING,
        kind=ActionKind.HOME_VISIT,
        agreed_by=Agency.PROBATION,
        meeting_reference="MTG-1",
        agreed_on=date(2024, 5, 1),
        due_on=due,
        original_due_on=due,
        status=status,
    )
    return CasePicture(case_id=case_id, area=Area.KENT, plan=Plan(actions=(action,)))


# ---- where each case's latest timeline row sits, kept in its current row ------------------

START = datetime(2024, 4, 1, 9, tzinfo=UTC)
CLOCK = datetime(2024, 6, 1, 9, tzinfo=UTC)
NAMESPACE = "places"
CASE_IDS = [f"KEN-2024-{n:06d}" for n in range(1, 13)]
ERASED = CASE_IDS[5]


@dataclass(frozen=True)
class Slice:
    """A projection that keeps case pictures, and its current rows' and timeline rows' tables."""

    make: Callable[[sa.Engine], Any]
    cases: sa.Table
    timeline: sa.Table
    create_schema: Callable[[sa.Engine], object]


SLICES = {
    "picture": Slice(
        lambda engine: PictureProjection(engine, NAMESPACE, keyring=KEYRING, cache_size=2),
        pictures_table,
        timeline_table,
        picture_schema,
    ),
    "alerts": Slice(
        lambda engine: AlertProjection(
            engine, NAMESPACE, keyring=KEYRING, cache_size=2, clock=lambda: CLOCK
        ),
        alerts_cases_table,
        alerts_timeline_table,
        alerts_schema,
    ),
}


def _batches() -> list[list[Envelope[Any]]]:
    """Twelve Kent cases' events in four deliveries: some late (ordered before what their
    case holds), some withdrawals (one ordered before its case's latest entry), a redelivery,
    and the sixth case erased in the third (its later events are not folded)."""
    makers = {case_id: kent_case(case_id, START) for case_id in CASE_IDS}
    eligible = MappaEligibilityIdentified(
        identified_on=date(2024, 4, 1), category=Category.VIOLENT_OFFENDER, lead_agency="probation"
    )

    def need(case_id: str, day: int, name: str) -> Envelope[Any]:
        data = HousingNeedRaised(raised_on=(START + timedelta(days=day)).date(), need="homeless")
        return makers[case_id](data, day, f"{case_id}-{name}")

    def withdraws(case_id: str, day: int) -> Envelope[Any]:
        target = f"{case_id}-h1"
        return withdrawal(
            makers[case_id],
            HousingEventWithdrawn,
            target,
            f"{target}-out",
            day=day,
            on=START.date(),
        )

    first = [
        e for c in CASE_IDS for e in (makers[c](eligible, 0, f"{c}-eligible"), need(c, 3, "h1"))
    ]
    second = [need(c, 6, "h2") for c in CASE_IDS]
    second += [need(c, 1, "late") for c in CASE_IDS[::3]]
    second += [withdraws(c, 7) for c in CASE_IDS[1::3]]
    second += [need(CASE_IDS[2], 3, "h1")]  # the same event again
    third = [need(c, 9, "h3") for c in CASE_IDS]
    third.append(withdraws(CASE_IDS[8], 2))  # before the case's latest entry
    fourth = [need(c, 12, "h4") for c in CASE_IDS]
    return [first, second, third, fourth]


def _records(batches: list[list[Envelope[Any]]]) -> list[list[Any]]:
    """The deliveries as records, each stamped when it reached the bus; the erasure of
    `ERASED` before the third's events."""
    offsets: Counter[tuple[str, int]] = Counter()
    stamp = 0
    made: list[list[Any]] = []
    for number, events in enumerate(batches):
        records: list[Any] = []
        if number == 2:
            data = ErasureData(
                case_id=ERASED,
                area=Area.KENT,
                ground=ErasureGround.DECISION,
                decision="D-1",
                erased_on=START.date(),
            )
            records.append(erasure_record(case_erased(data, CLOCK), 0, stamp, NAMESPACE))
        on_the_bus, stamp = delivered(events, NAMESPACE, offsets, stamp)
        made.append([*records, *on_the_bus])
    return made


def _places(engine: sa.Engine, kind: Slice) -> tuple[dict[str, Place | None], ...]:
    """Each stored case's place as its current row holds it, and as its timeline rows say."""
    cases, timeline = kind.cases, kind.timeline
    with snapshot(engine) as connection:
        read = connection.execute(
            sa.select(cases.c.case_id, cases.c[LAST_TIME], cases.c[LAST_EVENT_ID])
        )
        held = {case_id: place_of(moment, event_id) for case_id, moment, event_id in read}
        rows: dict[str, Place] = {}
        every = sa.select(timeline.c.case_id, timeline.c.time, timeline.c.event_id)
        for case_id, moment, event_id in connection.execute(every):
            place = place_of(moment, event_id)
            assert place is not None
            rows[case_id] = max(rows.get(case_id, place), place)
    return held, {case_id: rows.get(case_id) for case_id in held}


def _fold(engine: sa.Engine, kind: Slice, records: list[Any]) -> Any:
    """Fold `records` five at a time into a newly loaded projection of `kind`."""
    projection = kind.make(engine)
    projection.load()
    for start in range(0, len(records), 5):
        batch = projection.fold(records[start : start + 5])
        assert not batch.rejected
        projection.commit(batch)
    return projection


@pytest.mark.parametrize("name", sorted(SLICES))
def test_each_current_row_holds_where_its_latest_timeline_row_sits(
    database_url: str, name: str
) -> None:
    """After every delivery (late events, withdrawals, a redelivery, an erasure), with a cache
    of two cases, each current row's place is the latest of its case's timeline rows (none
    for an erased stub), and the fold's read of it is what the whole picture gives."""
    kind = SLICES[name]
    engine = open_engine(database_url)
    try:
        for records in _records(_batches()):
            projection = _fold(engine, kind, records)
            held, rows = _places(engine, kind)
            assert held == rows
        stored = projection.stored_pictures()
        if kind.cases is pictures_table:
            assert held[ERASED] is None
            with snapshot(engine) as connection:
                current = current_pictures(connection, CASE_IDS)
            assert current == {case_id: current_of(p) for case_id, p in stored.items()}
        assert ERASED not in rows or rows[ERASED] is None
        assert sum(bool(p.withdrawn) for p in stored.values()) == 5
    finally:
        engine.dispose()


@pytest.mark.parametrize("name", sorted(SLICES))
def test_a_store_made_before_the_place_columns_is_upgraded_in_place(
    database_url: str, name: str, tmp_path: Path
) -> None:
    """A store whose current rows have no place columns (the version before) has them added
    and filled from its timeline rows by the members starting on it together, and folds on
    to the very pictures and places of a store made with them."""
    kind = SLICES[name]
    deliveries = _records(_batches())
    old, kept = open_engine(database_url), open_engine(f"sqlite:///{tmp_path / 'kept.db'}")
    members = [open_engine(database_url) for _ in range(3)]
    try:
        for records in deliveries[:2]:
            _fold(old, kind, records)
            _fold(kept, kind, records)
        with old.begin() as connection:
            for column in (LAST_TIME, LAST_EVENT_ID):
                connection.exec_driver_sql(f"ALTER TABLE {kind.cases.name} DROP COLUMN {column}")
        starts = [functools.partial(kind.create_schema, member) for member in members]
        assert _all_at_once(starts) == []
        assert _places(old, kind) == _places(kept, kind)
        for records in deliveries[2:]:
            upgraded = _fold(old, kind, records)
            made = _fold(kept, kind, records)
        assert upgraded.stored_pictures() == made.stored_pictures()
        held, rows = _places(old, kind)
        assert (held, rows) == _places(kept, kind)
        assert held == rows
    finally:
        for engine in (old, kept, *members):
            engine.dispose()


def _as_made_before_times_were_kept(engine: sa.Engine) -> None:
    """Make the store one the version before filing by time made: the applied ids by id alone
    (`projection_applied`), the contributions keyed by event id alone, no table of either kind
    kept by time."""
    moves = [
        (applied_table, applied_before_table),
        (partnership_contributions_table, contributions_before_table),
    ]
    with engine.begin() as connection:
        for new, old in moves:
            names = [column.name for column in old.columns]
            connection.execute(old.insert().from_select(names, sa.select(*new.c[*names])))
            new.drop(connection)


def test_a_reporting_store_made_before_the_times_upgrades_in_place_and_counts_exactly(
    database_url: str, tmp_path: Path
) -> None:
    """A store whose applied ids and contributions were kept by event id alone, opened by two
    members at once, moves them to the tables kept by time and goes on counting as a store that
    never knew the old tables: the events it applied, re-sent, change nothing, and a withdrawal
    of one of them takes out what it counted."""
    withdrawn = withdrawal(case_event, ProbationEventWithdrawn, "agreed", "w", day=30, on=ON)
    reference = _reporting(f"sqlite:///{tmp_path / 'reference.db'}")
    for batch in (reporting_records(ELIGIBLE, AGREED), reporting_records(withdrawn, first=2)):
        reference.commit(reference.fold(batch))
    old = _reporting(database_url)
    old.commit(old.fold(reporting_records(ELIGIBLE, AGREED)))
    counts = old.partnership
    old.engine.dispose()
    _as_made_before_times_were_kept(open_engine(database_url))

    members = [_unloaded(database_url) for _ in range(2)]
    failures = _all_at_once([member.load for member in members])
    upgraded = members[0]
    try:
        assert failures == []
        assert upgraded.seen == {"eligible", "agreed"}
        resent = upgraded.fold(reporting_records(ELIGIBLE, AGREED, first=5))
        upgraded.commit(resent)
        assert (resent.new_ids, resent.rejected, upgraded.partnership) == (set(), [], counts)
        taken_out = upgraded.fold(reporting_records(withdrawn, first=7))
        upgraded.commit(taken_out)
        again = upgraded.fold(reporting_records(withdrawn, first=8))
        assert (taken_out.rejected, again.new_ids, again.rejected) == ([], set(), [])
        assert upgraded.partnership == reference.partnership
        assert upgraded.plans == reference.plans == {}
        with snapshot(upgraded.engine) as connection:
            for table in (applied_before_table, contributions_before_table):
                assert connection.execute(sa.select(table)).all() == []
            kept = sa.select(partnership_contributions_table.c.event_id)
            assert connection.scalars(kept).all() == ["eligible"]
    finally:
        for projection in (reference, *members):
            projection.engine.dispose()


def _unloaded(url: str) -> ReportingProjection:
    return ReportingProjection(open_engine(url), REPORTING_NAMESPACE, keyring=KEYRING)


def _reporting(url: str) -> ReportingProjection:
    projection = _unloaded(url)
    projection.load()
    return projection
