"""The alerts projection folds a case without its timeline when its events follow all of its
own, reading the timeline rows only when the history is needed (issue 17): it raises exactly
the alerts, and stores exactly the pictures, that the fold over whole pictures does, on a
simulated area-year delivered as a real bus might (late events, withdrawals, merges, an
erasure); and a store that kept whole pictures is upgraded in place on open."""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select

from mappa_bus.agencies import Agency
from mappa_bus.alerts.consumer import AlertProjection
from mappa_bus.alerts.schema import cases_table, timeline_table
from mappa_bus.alerts.store import CASES
from mappa_bus.catalogue import Envelope, EventData, make_event
from mappa_bus.catalogue.erasure import ErasureData, ErasureGround, case_erased
from mappa_bus.catalogue.merges import CasesMerged, CasesUnmerged, UnmergeReason
from mappa_bus.catalogue.withdrawal import WITHDRAWALS, EventWithdrawn, WithdrawalReason
from mappa_bus.projection.database import open_engine
from mappa_bus.projection.offsets import load_offsets
from tests.alert_year import fold_the_year
from tests.area_year import small_area_year
from tests.keys import KEYRING
from tests.records import Record, erasure_record
from tests.records import delivered as on_the_bus

NAMESPACE = "unit"
CLOCK = datetime(2021, 1, 1, 9, tzinfo=UTC)
# Records folded a batch: small enough that a case's events span many batches, as on a live bus.
BATCH = 100
# Every LATE-th event reaches the bus DELAY events after its place: it sorts before events of
# its case already folded.
LATE, DELAY = 23, 60
# Every WITHDRAWING-th case has one of its events withdrawn by its agency, a week later.
WITHDRAWING = 9
# Pairs of cases merged mid-year (the first pair unmerged again a month later).
MERGED_PAIRS = 3


def _withdrawals(stream: Sequence[Envelope[EventData]]) -> list[Envelope[EventData]]:
    """A withdrawal, by its own agency, of the middle event of every `WITHDRAWING`-th case."""
    by_case: dict[str, list[Envelope[EventData]]] = {}
    for event in stream:
        by_case.setdefault(event.case_id, []).append(event)
    made = []
    for number, case_id in enumerate(sorted(by_case)):
        if number % WITHDRAWING:
            continue
        target = by_case[case_id][len(by_case[case_id]) // 2]
        data = WITHDRAWALS[target.publisher](
            withdrawn_event_id=target.id,
            reason=WithdrawalReason.ENTERED_IN_ERROR,
            withdrawn_on=(target.time + timedelta(days=7)).date(),
        )
        made.append(_event(data, target, target.time + timedelta(days=7), f"w-{target.id}"))
    return made


def _merges(stream: Sequence[Envelope[EventData]]) -> list[Envelope[EventData]]:
    """`MERGED_PAIRS` pairs of busy cases merged in the middle of the year, the first pair
    unmerged a month after."""
    counts = Counter(event.case_id for event in stream)
    busy = sorted(case_id for case_id, _ in counts.most_common(2 * MERGED_PAIRS))
    first = {event.case_id: event for event in reversed(stream)}
    middle = stream[len(stream) // 2].time
    made = []
    for number in range(MERGED_PAIRS):
        kept, merged = busy[2 * number], busy[2 * number + 1]
        data = CasesMerged(merged_case_id=merged, merged_on=middle.date(), decision=f"MCU/{number}")
        made.append(_event(data, first[kept], middle, f"merge-{number}"))
    kept, merged = busy[0], busy[1]
    later = middle + timedelta(days=30)
    undone = CasesUnmerged(
        merged_case_id=merged, unmerged_on=later.date(), reason=UnmergeReason.DIFFERENT_PEOPLE
    )
    made.append(_event(undone, first[kept], later, "unmerge-0"))
    return made


def _event(
    data: EventData, like: Envelope[EventData], time: datetime, event_id: str
) -> Envelope[EventData]:
    """`data` as an event of `like`'s case and area, at `time`."""
    return make_event(
        data, case_id=like.case_id, area=like.mappaarea, time=time, system="test", event_id=event_id
    )


def _records(stream: Sequence[Envelope[EventData]]) -> list[Record]:
    """The year as a real bus would hold it, less kindly than in event order: withdrawals and
    merges among the events, every `LATE`-th event delivered late, and the first case erased
    in the last month; each record stamped when it reached the bus (never before the one
    before it)."""
    withdrawals = _withdrawals(stream)
    ordered = sorted([*stream, *withdrawals, *_merges(stream)], key=lambda e: e.time)
    # Not late: what the bus's own events act on (a withdrawal names an event already applied).
    steady = {event.id for event in ordered if event.publisher is Agency.MAPPA_UNIT}
    steady |= {w.id for w in withdrawals}
    steady |= {w.data.withdrawn_event_id for w in withdrawals if isinstance(w.data, EventWithdrawn)}
    delivered: list[Envelope[EventData]] = []
    held: list[tuple[int, Envelope[EventData]]] = []
    for index, event in enumerate(ordered):
        if index % LATE == LATE - 1 and event.id not in steady:
            held.append((index + DELAY, event))
        else:
            delivered.append(event)
        while held and held[0][0] <= index:
            delivered.append(held.pop(0)[1])
    delivered += [event for _, event in held]
    records, stamp = on_the_bus(delivered, NAMESPACE, Counter())
    erased = sorted(event.case_id for event in stream)[0]
    data = ErasureData(
        case_id=erased,
        area=stream[0].mappaarea,
        ground=ErasureGround.DECISION,
        decision="D-1",
        erased_on=delivered[-1].time.date(),
    )
    erasure = erasure_record(case_erased(data, CLOCK), 0, stamp, NAMESPACE)
    return [*records[: -BATCH * 5], erasure, *records[-BATCH * 5 :]]


@dataclasses.dataclass(frozen=True)
class Outcome:
    """What a projection made of the year: every alert and withdrawal it stored (id and JSON),
    and its pictures."""

    alerts: list[tuple[str, str]]
    pictures: dict[str, str]


def _run(url: str, records: Sequence[Record], *, lean: bool, cache_size: int) -> Outcome:
    """Fold `records` a `BATCH` at a time, asking the clock each month."""
    projection = AlertProjection(
        open_engine(url),
        NAMESPACE,
        keyring=KEYRING,
        cache_size=cache_size,
        clock=lambda: CLOCK,
        lean=lean,
    )
    projection.load()
    alerts, refused = fold_the_year(projection, records, BATCH)
    assert refused == 0
    pictures = {k: p.model_dump_json() for k, p in projection.stored_pictures().items()}
    projection.engine.dispose()
    return Outcome(alerts, pictures)


def _compare(tmp_path: Path, stream: Sequence[Envelope[EventData]]) -> None:
    records = _records(stream)
    whole = _run(f"sqlite:///{tmp_path / 'whole.db'}", records, lean=False, cache_size=10_000)
    # A cache far smaller than the caseload: most batches read their cases back from the store.
    lean = _run(f"sqlite:///{tmp_path / 'lean.db'}", records, lean=True, cache_size=50)

    rules = Counter(data.split('"rule":"')[1].split('"')[0] for _, data in whole.alerts)
    withdrawn = sum("alert-withdrawn" in data for _, data in whole.alerts)
    # The year exercises many rules, and withdrawals of alerts.
    assert (len(rules) >= 5, withdrawn > 0) == (True, True)
    assert lean.alerts == whole.alerts
    assert lean.pictures == whole.pictures


def test_the_lean_fold_raises_what_the_whole_fold_does_over_cumbrias_year(tmp_path: Path) -> None:
    """Over Cumbria's simulated year, with late events, withdrawals, merges and an erasure, the
    fold that reads timelines only when it needs them raises the very alerts and withdrawals,
    and stores the very pictures, of the fold over whole pictures."""
    _compare(tmp_path, small_area_year())


def _as_kept_before_the_timeline_rows(url: str, pictures: dict[str, str]) -> None:
    """Make the store what a version that kept whole pictures in a row left: no timeline
    table, each case's row holding its whole picture."""
    engine = open_engine(url)
    with engine.begin() as connection:
        connection.exec_driver_sql("DROP TABLE alerts_timeline")
        for case_id, text in pictures.items():
            connection.execute(
                cases_table.update().where(cases_table.c.case_id == case_id).values(picture=text)
            )
    engine.dispose()


def test_a_store_that_kept_whole_pictures_is_upgraded_in_place_on_open(tmp_path: Path) -> None:
    """A store whose rows hold whole pictures has their entries moved into timeline rows when
    opened, folding nothing again (its offsets stay), and goes on to raise what a store made
    with the rows does."""
    records = _records(small_area_year()[:3_000])
    first, rest = records[: len(records) // 2], records[len(records) // 2 :]
    url, kept = f"sqlite:///{tmp_path / 'old.db'}", f"sqlite:///{tmp_path / 'kept.db'}"
    half = _run(url, first, lean=True, cache_size=50)
    assert _run(kept, first, lean=True, cache_size=50) == half
    _as_kept_before_the_timeline_rows(url, half.pictures)
    engine = open_engine(url)
    with engine.connect() as connection:
        offsets = load_offsets(connection, CASES)

    upgraded = AlertProjection(engine, NAMESPACE, keyring=KEYRING, clock=lambda: CLOCK)
    upgraded.load()
    with engine.connect() as connection:
        rows = connection.execute(select(func.count()).select_from(timeline_table)).scalar_one()
        current = connection.execute(select(cases_table.c.picture)).scalars().all()
    stored = {k: p.model_dump_json() for k, p in upgraded.stored_pictures().items()}
    engine.dispose()

    assert (upgraded.offsets, stored) == (offsets, half.pictures)
    assert (rows > len(stored), any('"timeline"' in text for text in current)) == (True, False)
    assert _run(url, rest, lean=True, cache_size=50) == _run(kept, rest, lean=True, cache_size=50)
