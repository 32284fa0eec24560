"""Merging and unmerging cases: the links' fold (which id a case resolves to, at a point in the
log), the refusals, the tables counting a merged person once, and the projections keeping links."""

from __future__ import annotations

import itertools
import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from mappa_bus.adapters.feeds import Accepted, read_jsonl
from mappa_bus.agencies import Agency
from mappa_bus.alerts.consumer import AlertProjection
from mappa_bus.alerts.store import all_raised
from mappa_bus.case.merges import Link, link_of, merges_of, refusal
from mappa_bus.catalogue import Area, Envelope, EventData, Rejection, make_event, parse_event
from mappa_bus.catalogue.merges import CasesMerged, CasesUnmerged, UnmergeReason
from mappa_bus.catalogue.probation import (
    LeadAgency,
    LevelReason,
    MappaEligibilityIdentified,
    MappaLevelSet,
)
from mappa_bus.catalogue.vocabulary import Category, Level
from mappa_bus.picture.consumer import PictureProjection
from mappa_bus.projection.database import open_engine
from mappa_bus.reporting.consumer import ReportingProjection
from mappa_bus.reporting.queries import statistics_for
from tests.case_events import kent_case
from tests.keys import KEYRING
from tests.records import Record, record_of

NAMESPACE = "test"
START = datetime(2023, 6, 1, 9, 0, tzinfo=UTC)
KEPT, MERGED, OTHER = "KEN-2023-000201", "KEN-2023-000202", "KEN-2023-000203"
FOURTH = "KEN-2023-000204"
YEAR = 2023  # 1 April 2023 to 31 March 2024


def _link(kept: str, merged: str, minute: int, *, joined: bool = True) -> Link:
    """A merge (or, not `joined`, an unmerge) recorded `minute` minutes after START."""
    at = START + timedelta(minutes=minute)
    return Link(at, f"{kept}-{merged}-{minute}", kept, merged, joined, at.date(), "MCU/1")


def test_a_merge_resolves_both_ids_to_the_kept_one_and_an_unmerge_splits_them() -> None:
    """After the merge either id reads as the group (kept first); after the unmerge, each alone."""
    merge, unmerge = _link(KEPT, MERGED, 1), _link(KEPT, MERGED, 2, joined=False)

    merged, split = merges_of([merge]), merges_of([merge, unmerge])

    assert (
        merged.kept(MERGED),
        merged.group(KEPT),
        merged.group(MERGED),
    ) == (KEPT, (KEPT, MERGED), (KEPT, MERGED))
    assert (split.group(MERGED), split.group(KEPT)) == ((MERGED,), (KEPT,))


def test_the_links_at_a_point_in_the_log_are_those_recorded_by_then() -> None:
    """As known before the merge was recorded, the two ids are two cases."""
    merge = _link(KEPT, MERGED, 5)

    assert merges_of([merge], at=START + timedelta(minutes=4)).group(MERGED) == (MERGED,)


def test_the_fold_is_the_same_in_whatever_order_the_links_were_read() -> None:
    """Of two merges of one id into two others, the first recorded counts, whatever the order
    the consumer read the two partitions in."""
    links = [_link(KEPT, MERGED, 1), _link(OTHER, MERGED, 2), _link(KEPT, MERGED, 3, joined=False)]

    outcomes = {
        tuple(sorted(merges_of(order).into.items())) for order in itertools.permutations(links)
    }

    assert {()} == outcomes
    assert dict(merges_of(links[:2]).into) == {MERGED: KEPT}


@pytest.mark.parametrize(
    ("known", "link", "expected"),
    [
        ([], _link(KEPT, KEPT, 1), Rejection.SELF_MERGE),
        ([_link(KEPT, MERGED, 1)], _link(OTHER, MERGED, 2), Rejection.ALREADY_MERGED),
        ([_link(KEPT, MERGED, 1)], _link(OTHER, KEPT, 2), Rejection.ALREADY_MERGED),
        ([_link(KEPT, MERGED, 1)], _link(MERGED, OTHER, 2), Rejection.ALREADY_MERGED),
        ([], _link(KEPT, MERGED, 1, joined=False), Rejection.NOT_MERGED),
        ([_link(KEPT, MERGED, 1)], _link(MERGED, KEPT, 2, joined=False), Rejection.NOT_MERGED),
        ([_link(KEPT, MERGED, 1)], _link(KEPT, OTHER, 2), None),
        ([_link(KEPT, MERGED, 1)], _link(KEPT, MERGED, 2, joined=False), None),
        (
            [_link(KEPT, MERGED, 1), _link(KEPT, MERGED, 2, joined=False)],
            _link(OTHER, KEPT, 3),
            None,
        ),
        (
            [_link(KEPT, MERGED, 1), _link(KEPT, OTHER, 2), _link(KEPT, MERGED, 3, joined=False)],
            _link(FOURTH, KEPT, 4),
            Rejection.ALREADY_MERGED,
        ),
    ],
    ids=[
        "into itself",
        "merged elsewhere",
        "a kept id with merges, into another",
        "a merged id as the kept one (chain)",
        "unmerge of a pair never merged",
        "unmerge with the ids swapped",
        "a second id into the same kept one",
        "unmerge of the pair merged",
        "a kept id whose one merge was undone, into another",
        "a kept id still keeping one of two, into another",
    ],
)
def test_what_a_consumer_refuses(known: list[Link], link: Link, expected: Rejection | None) -> None:
    """A merge into itself, of an id merged already or into a chain, and an unmerge of a pair
    not merged, are refused with their reason; the rest are applied."""
    error = refusal(known, link)

    assert expected == (None if error is None else error.kind)


def test_many_merges_and_unmerges_fold_into_their_groups() -> None:
    """A thousand kept ids with two merged ids each, one of every pair later unmerged: each
    group is its kept id and the id left, whichever id it is asked through."""
    links = []
    for n in range(1000):
        kept, first, second = (f"KEN-2023-{n:03}{part}" for part in "abc")
        links += [_link(kept, first, 3 * n), _link(kept, second, 3 * n + 1)]
        links.append(_link(kept, first, 3 * n + 2, joined=False))

    merges = merges_of(links)

    assert len(merges.into) == 1000
    assert merges.group("KEN-2023-417c") == ("KEN-2023-417a", "KEN-2023-417c")
    assert merges.group("KEN-2023-417a") == ("KEN-2023-417a", "KEN-2023-417c")
    assert merges.group("KEN-2023-417b") == ("KEN-2023-417b",)
    assert all(group == (kept, f"{kept[:-1]}c") for kept, group in merges.groups().items())


def test_a_refusal_is_judged_against_the_links_recorded_before() -> None:
    """A consumer that read a later conflicting merge first still applies the earlier one."""
    earlier, later = _link(KEPT, MERGED, 1), _link(OTHER, MERGED, 2)

    assert (
        refusal([later], earlier),
        getattr(refusal([earlier], later), "kind", None),
    ) == (None, Rejection.ALREADY_MERGED)


def test_a_link_survives_its_row() -> None:
    """What a store keeps of a link reads back as the same link."""
    link = _link(KEPT, MERGED, 1)

    assert link == Link.from_row(link.as_row())


# --- the tables: one person with two ids, in Kent 2023-24 ------------------------------------


def _case(case_id: str, day: int) -> list[Envelope[EventData]]:
    """`case_id` made eligible (category 2) on day `day` after START and set to level 2 next day."""
    event = kent_case(case_id, START)
    eligible = MappaEligibilityIdentified(
        identified_on=(START + timedelta(days=day)).date(),
        category=Category.VIOLENT_OFFENDER,
        lead_agency=LeadAgency.PROBATION,
    )
    level = MappaLevelSet(
        set_on=(START + timedelta(days=day + 1)).date(),
        level=Level.TWO,
        reason=LevelReason.INITIAL_SCREENING,
    )
    return [event(eligible, day, f"{case_id}-e"), event(level, day + 1, f"{case_id}-l")]


def _unit(data: EventData, kept: str, event_id: str) -> Envelope[EventData]:
    return make_event(
        data, case_id=kept, area=Area.KENT, time=START + timedelta(days=60), system="mcu",
        event_id=event_id,
    )  # fmt: skip


MERGE = _unit(
    CasesMerged(merged_case_id=MERGED, merged_on=date(2023, 8, 1), decision="MCU/KEN/1"),
    KEPT,
    "merge",
)
UNMERGE = _unit(
    CasesUnmerged(
        merged_case_id=MERGED, unmerged_on=date(2023, 9, 1), reason=UnmergeReason.DIFFERENT_PEOPLE
    ),
    KEPT,
    "unmerge",
)


def _records(events: list[Envelope[EventData]], first: int) -> list[Record]:
    """The events as their topics deliver them, a minute apart, offsets from `first`."""
    millis = int(START.timestamp() * 1000)
    return [
        record_of(event, first + index, millis + (first + index) * 60_000, NAMESPACE)
        for index, event in enumerate(events)
    ]


def _tables_1_and_2(projection: ReportingProjection) -> tuple[int, int]:
    """Kent 2023-24's level 2 category 2 cells of table 1 and table 2."""
    statistics = statistics_for(projection.counted, Area.KENT, YEAR, {Area.KENT: 1_000_000})
    assert statistics is not None
    return statistics.eligible_on_31_march[2][2], statistics.levels_2_and_3_in_year[2][2]


def _reporting(tmp_path: Path) -> ReportingProjection:
    projection = ReportingProjection(
        open_engine(f"sqlite:///{tmp_path / 'reporting.db'}"), NAMESPACE, keyring=KEYRING
    )
    projection.load()
    return projection


def test_the_tables_count_a_merged_person_once_and_twice_again_after_the_unmerge(
    tmp_path: Path,
) -> None:
    """Two ids at level 2 category 2 are two people in tables 1 and 2 (2, 2); merged, one
    (1, 1), the year revised because of the merge; unmerged, two again, also after a reload."""
    projection = _reporting(tmp_path)
    projection.commit(projection.fold(_records([*_case(KEPT, 0), *_case(MERGED, 30)], 0)))
    apart = _tables_1_and_2(projection)
    projection.commit(projection.fold(_records([MERGE], 10)))
    merged, revised = _tables_1_and_2(projection), set(projection.revised)
    projection.commit(projection.fold(_records([UNMERGE], 11)))
    projection.load()

    assert (apart, merged, _tables_1_and_2(projection)) == ((2, 2), (1, 1), (2, 2))
    assert {(YEAR, "cases-merged")} == revised


def test_a_merge_of_a_case_into_itself_is_refused_by_each_projection(tmp_path: Path) -> None:
    """Dead-lettered as self-merge by reporting and the picture consumer alike; nothing kept."""
    itself = _unit(
        CasesMerged(merged_case_id=KEPT, merged_on=date(2023, 8, 1), decision="MCU/KEN/2"),
        KEPT,
        "itself",
    )
    pictures = PictureProjection(
        open_engine(f"sqlite:///{tmp_path / 'pictures.db'}"), NAMESPACE, keyring=KEYRING
    )
    pictures.load()
    reporting = _reporting(tmp_path)

    refused = [
        _refused(projection.fold(_records([itself], 0))) for projection in (pictures, reporting)
    ]

    assert refused == [[("itself", Rejection.SELF_MERGE)]] * 2


def test_a_merge_changes_no_picture_and_is_kept_beside_them(tmp_path: Path) -> None:
    """The picture consumer keeps the link (reloaded from its store) and leaves both pictures
    as they were: no timeline entry of the MAPPA unit."""
    projection = PictureProjection(
        open_engine(f"sqlite:///{tmp_path / 'pictures.db'}"), NAMESPACE, keyring=KEYRING
    )
    projection.load()
    projection.commit(projection.fold(_records([*_case(KEPT, 0), *_case(MERGED, 30)], 0)))
    before = projection.stored_pictures()

    projection.commit(projection.fold(_records([MERGE], 10)))
    projection.load()

    assert before == projection.stored_pictures()
    assert [link_of(MERGE, START + timedelta(minutes=10))] == projection.links


def _refused(batch: Any) -> list[tuple[str, Rejection]]:
    """The ids of the events a batch refused, each with why."""
    return [(parse_event(item.record.value).id, item.error.kind) for item in batch.rejected]


# --- alerts: one person under two ids ---------------------------------------------------------


def _reviewed(case_id: str, day: int) -> list[Envelope[EventData]]:
    """`case_id` eligible and at level 2 from day `day`, its review due 30 days later."""
    event = kent_case(case_id, START)
    eligible, level = _case(case_id, day)
    assert isinstance(level.data, MappaLevelSet)
    review = (START + timedelta(days=day + 30)).date()
    due = level.data.model_copy(update={"review_due_on": review})
    return [eligible, event(due, day + 1, f"{case_id}-l")]


def _overdue_reviews(tmp_path: Path, name: str, *extra: Envelope[EventData]) -> list[str]:
    """The case ids of the review-overdue alerts raised 90 days after START, both ids' reviews
    (due after 30 and 40 days) having passed, with `extra` events folded after the cases."""
    projection = AlertProjection(
        open_engine(f"sqlite:///{tmp_path / name}"), NAMESPACE, keyring=KEYRING
    )
    projection.load()
    projection.commit(projection.fold(_records([*_reviewed(KEPT, 0), *_reviewed(MERGED, 10)], 0)))
    if extra:
        projection.commit(projection.fold(_records(list(extra), 10)))
    projection.raise_overdue((START + timedelta(days=90)).date())
    with projection.engine.connect() as connection:
        return sorted(
            alert.data.case_id
            for alert in all_raised(connection)
            if alert.data.rule == "review-overdue"
        )


def test_a_merged_person_has_one_overdue_review_alert_not_one_per_id(tmp_path: Path) -> None:
    """Apart, each id's missed review is alerted (two alerts); merged, the person's one
    picture has one review due (the later id's), alerted once under the kept id."""
    assert (
        _overdue_reviews(tmp_path, "apart.db"),
        _overdue_reviews(tmp_path, "merged.db", MERGE),
    ) == ([KEPT, MERGED], [KEPT])


def test_the_mappa_units_feed_line_is_a_merge_its_topic_carries() -> None:
    """`mappa publish --agency mappa-unit` reads a flat line of type cases-merged as the unit's
    merge of the merged id into the line's case."""
    line = {
        "type": "cases-merged",
        "case_id": KEPT,
        "area": "kent",
        "time": "2023-08-01T10:00:00+00:00",
        "merged_case_id": MERGED,
        "merged_on": "2023-08-01",
        "decision": "MCU/KEN/4",
    }

    [result] = read_jsonl([json.dumps(line).encode()], Agency.MAPPA_UNIT, system="mcu")

    assert isinstance(result, Accepted)
    assert (
        result.event.source,
        result.event.case_id,
        getattr(result.event.data, "merged_case_id", None),
    ) == ("/mappa/mappa-unit/mcu", KEPT, MERGED)
