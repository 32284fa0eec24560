"""Merging against the real broker: the MAPPA unit merges two case ids of one person, and the
year's tables count that person once (a new revision naming the merge); its unmerge restores
the counts; both survive a rebuild of the stores from the log."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from mappa_bus.adapters.publisher import AgencyPublisher
from mappa_bus.agencies import Agency
from mappa_bus.case.merges import merges_of
from mappa_bus.catalogue import Area, EventData
from mappa_bus.catalogue.merges import CasesMerged, CasesUnmerged, UnmergeReason
from mappa_bus.catalogue.probation import (
    LeadAgency,
    LevelReason,
    MappaEligibilityIdentified,
    MappaLevelSet,
)
from mappa_bus.catalogue.vocabulary import Category, Level
from mappa_bus.connection import KafkaConnection
from mappa_bus.log_reader import read_to_end
from mappa_bus.picture import service as picture
from mappa_bus.reporting import service as reporting
from mappa_bus.reporting.facts import CaseFacts
from mappa_bus.reporting.publication import RevisionReason, StatisticsPublished
from mappa_bus.topics import statistics_topic

pytestmark = pytest.mark.kafka

KEPT, MERGED = "KEN-2020-000801", "KEN-2020-000802"
YEAR = date(2020, 4, 1)
# What the stores hold of the merge: the merges in force, and the people the tables count.
Held = tuple[dict[str, str], dict[str, CaseFacts]]


def _probation_case(eligible_on: date) -> tuple[EventData, EventData]:
    """A category 2 case made eligible on `eligible_on` and set to level 2 the next day."""
    return (
        MappaEligibilityIdentified(
            identified_on=eligible_on,
            category=Category.VIOLENT_OFFENDER,
            lead_agency=LeadAgency.PROBATION,
        ),
        MappaLevelSet(
            set_on=eligible_on.replace(day=eligible_on.day + 1),
            level=Level.TWO,
            reason=LevelReason.INITIAL_SCREENING,
        ),
    )


async def _publish_cases(kafka_as: Callable[[str], KafkaConnection], namespace: str) -> None:
    """Probation's two cases of one person (it keyed them differently), in Kent 2020-21."""
    async with AgencyPublisher(
        kafka_as("probation"), Agency.PROBATION, system="ndelius", namespace=namespace
    ) as probation:
        for case_id, first in ((KEPT, date(2020, 5, 1)), (MERGED, date(2020, 8, 1))):
            for index, data in enumerate(_probation_case(first)):
                await probation.publish(
                    data,
                    case_id=case_id,
                    area=Area.KENT,
                    time=datetime(first.year, first.month, first.day + index, 9, tzinfo=UTC),
                    event_id=f"{case_id}-{index}",
                )


async def _unit_says(
    kafka_as: Callable[[str], KafkaConnection], namespace: str, data: EventData, event_id: str
) -> None:
    """The MAPPA unit publishes `data` about the kept case, as its own principal."""
    async with AgencyPublisher(
        kafka_as("mappa-unit"), Agency.MAPPA_UNIT, system="mcu", namespace=namespace
    ) as unit:
        await unit.publish(
            data,
            case_id=KEPT,
            area=Area.KENT,
            time=datetime(2021, 5, 3, 9, tzinfo=UTC),
            event_id=event_id,
        )


async def _catch_up(
    kafka_as: Callable[[str], KafkaConnection], namespace: str, store: Path
) -> None:
    """Picture and reporting caught up with `namespace` (reporting publishing what changed)."""
    await picture.catch_up(
        kafka_as("picture"), picture.open_projection(f"sqlite:///{store / 'picture.db'}", namespace)
    )
    await reporting.catch_up(
        kafka_as("reporting"),
        reporting.open_projection(f"sqlite:///{store / 'reporting.db'}", namespace),
    )


async def _kent(kafka: KafkaConnection, namespace: str) -> list[StatisticsPublished]:
    """Kent 2020-21's statistics as published, in order."""
    published = [
        StatisticsPublished.model_validate_json(record.value)
        async for batch in read_to_end(kafka, [statistics_topic(namespace)])
        for record in batch
    ]
    return [s for s in published if (s.subject, s.data.year_start) == ("kent", YEAR)]


def _cells(statistics: StatisticsPublished) -> tuple[int, int]:
    """Level 2, category 2 of table 1 (on 31 March) and table 2 (levels 2 and 3 in the year)."""
    data = statistics.data
    return data.eligible_on_31_march[2][2], data.levels_2_and_3_in_year[2][2]


async def _rebuilt(kafka_as: Callable[[str], KafkaConnection], namespace: str, store: Path) -> Held:
    """Both stores emptied and replayed from the log; what they then hold (links, counted)."""
    picture.rebuild(picture.open_projection(f"sqlite:///{store / 'picture.db'}", namespace))
    reporting.rebuild(reporting.open_projection(f"sqlite:///{store / 'reporting.db'}", namespace))
    await _catch_up(kafka_as, namespace, store)
    return _held(store, namespace)


def _held(store: Path, namespace: str) -> Held:
    """The picture store's merges in force, and reporting's people as the tables count them."""
    pictures = picture.open_projection(f"sqlite:///{store / 'picture.db'}", namespace)
    counted = reporting.open_projection(f"sqlite:///{store / 'reporting.db'}", namespace)
    return dict(merges_of(pictures.links).into), counted.counted


async def test_a_merge_counts_one_person_once_and_an_unmerge_restores_the_counts(
    kafka: KafkaConnection,
    kafka_as: Callable[[str], KafkaConnection],
    namespace: str,
    tmp_path: Path,
) -> None:
    """By hand: two ids, each at level 2 category 2 in the community on 31 March 2021, are two
    people in table 1 and in table 2 (2, 2); merged, one person (1, 1), revision 2 because of
    the merge; unmerged, two again (2, 2), revision 3 because of the unmerge. A rebuild after
    each holds the same links and facts and publishes nothing new."""
    await _publish_cases(kafka_as, namespace)
    await _catch_up(kafka_as, namespace, tmp_path)

    merge = CasesMerged(merged_case_id=MERGED, merged_on=date(2021, 5, 3), decision="MCU/KEN/9")
    await _unit_says(kafka_as, namespace, merge, "merge")
    await _catch_up(kafka_as, namespace, tmp_path)
    merged = _held(tmp_path, namespace)
    merged_again = await _rebuilt(kafka_as, namespace, tmp_path)

    unmerge = CasesUnmerged(
        merged_case_id=MERGED, unmerged_on=date(2021, 6, 1), reason=UnmergeReason.DIFFERENT_PEOPLE
    )
    await _unit_says(kafka_as, namespace, unmerge, "unmerge")
    await _catch_up(kafka_as, namespace, tmp_path)
    split = _held(tmp_path, namespace)
    split_again = await _rebuilt(kafka_as, namespace, tmp_path)

    statistics = await _kent(kafka, namespace)
    assert [(s.revision, s.revised_because, _cells(s)) for s in statistics] == [
        (1, (), (2, 2)),
        (2, (RevisionReason.CASES_MERGED,), (1, 1)),
        (3, (RevisionReason.CASES_UNMERGED,), (2, 2)),
    ]
    assert (merged[0], sorted(merged[1])) == ({MERGED: KEPT}, [KEPT])
    assert (merged, split) == (merged_again, split_again)
    assert (split[0], sorted(split[1])) == ({}, [KEPT, MERGED])
