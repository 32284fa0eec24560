"""Where the partnership fold's state is kept: one row per (Kafka partition, area, reporting year,
agency), beside the reporting consumer's cases and offsets, written in the consumer's own
transaction.

By partition because the members of a consumer group share the store: each member writes only
the rows of the partitions it holds, as it writes only their offsets, so no member's tally ever
overwrites another's; readers add the partitions up.

Beside the counts, each shared event's contribution (`reporting_partnership_contributions`),
until its agency withdraws it or its case is erased; read back only for the events a batch's
withdrawals name, so the consumer's memory does not grow with the log."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator, Mapping

import orjson
from sqlalchemy import and_, delete, insert, select
from sqlalchemy.engine import Connection

from mappa_bus.agencies import Agency
from mappa_bus.catalogue import Area
from mappa_bus.projection.database import upsert
from mappa_bus.reporting.partnership import (
    AgencyTally,
    Contribution,
    Counted,
    Histogram,
    PartnershipCounts,
    PartnershipKey,
    combine,
)
from mappa_bus.reporting.schema import partnership_contributions_table, partnership_table

# Ids per query when reading or deleting contributions: well under every database's limit on
# bound parameters.
IDS_PER_QUERY = 500


def _chunks(ids: Collection[str]) -> Iterator[list[str]]:
    """`ids` sorted, IDS_PER_QUERY at a time."""
    ordered = sorted(ids)
    for start in range(0, len(ordered), IDS_PER_QUERY):
        yield ordered[start : start + IDS_PER_QUERY]


def _encode(delays: Histogram) -> str:
    # Pairs, not an object: JSON object keys are strings, and the buckets are numbers.
    return orjson.dumps(sorted([index, n] for index, n in delays.items())).decode()


def _decode(text: str) -> Histogram:
    return {int(index): int(n) for index, n in orjson.loads(text)}


def load_partnership(connection: Connection) -> PartnershipCounts:
    """The counts as stored, every partition's together."""
    return combine(load_partnership_parts(connection).values())


def load_partnership_parts(connection: Connection) -> dict[int, PartnershipCounts]:
    """The counts as stored, by partition (what a consumer keeps adding to)."""
    parts: dict[int, dict[PartnershipKey, AgencyTally]] = {}
    for row in connection.execute(select(partnership_table)):
        key = PartnershipKey(Area(row.area), row.year_start, Agency(row.agency))
        parts.setdefault(row.partition, {})[key] = AgencyTally(
            delays=_decode(row.delays),
            meetings_held=row.meetings_held,
            meetings_attended=row.meetings_attended,
        )
    return dict(parts)


def save_partnership(
    connection: Connection,
    partition: int,
    counts: PartnershipCounts,
    changed_keys: Iterable[PartnershipKey],
) -> None:
    """Write the changed keys' tallies of one partition (inside the caller's transaction); a
    changed key the counts no longer hold (every event in it withdrawn) is deleted."""
    gone = sorted(key for key in changed_keys if key not in counts)
    for key in gone:
        connection.execute(
            delete(partnership_table).where(
                and_(
                    partnership_table.c.partition == partition,
                    partnership_table.c.area == key.area.value,
                    partnership_table.c.year_start == key.year_start,
                    partnership_table.c.agency == key.agency.value,
                )
            )
        )
    rows = [
        {
            "partition": partition,
            "area": key.area.value,
            "year_start": key.year_start,
            "agency": key.agency.value,
            "delays": _encode(counts[key].delays),
            "meetings_held": counts[key].meetings_held,
            "meetings_attended": counts[key].meetings_attended,
        }
        for key in sorted(changed_keys)
        if key in counts
    ]
    keys = ("partition", "area", "year_start", "agency")
    upsert(connection, partnership_table, rows, keys=keys)


def save_contributions(connection: Connection, counted: Mapping[str, Counted]) -> None:
    """Keep each event's contribution, by event id (inside the caller's transaction)."""
    if not counted:
        return
    rows = [
        {
            "event_id": event_id,
            "case_id": item.case_id,
            "partition": item.partition,
            "area": item.contribution.key.area.value,
            "year_start": item.contribution.key.year_start,
            "agency": item.contribution.key.agency.value,
            "delay_bucket": item.contribution.delay_bucket,
            "meeting_held": item.contribution.meeting_held,
            "present": ",".join(sorted(agency.value for agency in item.contribution.present)),
        }
        for event_id, item in counted.items()
    ]
    connection.execute(insert(partnership_contributions_table), rows)


def load_contributions(connection: Connection, event_ids: Collection[str]) -> dict[str, Counted]:
    """The kept contributions of those of `event_ids` that have one, by event id."""
    table = partnership_contributions_table
    found: dict[str, Counted] = {}
    for chunk in _chunks(event_ids):
        for row in connection.execute(select(table).where(table.c.event_id.in_(chunk))):
            key = PartnershipKey(Area(row.area), row.year_start, Agency(row.agency))
            present = frozenset(Agency(name) for name in row.present.split(",") if name)
            contribution = Contribution(key, row.delay_bucket, bool(row.meeting_held), present)
            found[row.event_id] = Counted(row.case_id, row.partition, contribution)
    return found


def delete_contributions(connection: Connection, event_ids: Collection[str]) -> None:
    """Forget the contributions of `event_ids` (inside the caller's transaction): withdrawn."""
    table = partnership_contributions_table
    for chunk in _chunks(event_ids):
        connection.execute(delete(table).where(table.c.event_id.in_(chunk)))


def delete_case_contributions(connection: Connection, case_ids: Collection[str]) -> None:
    """Forget every contribution of these cases (inside the caller's transaction): erased. The
    counts keep what they added (aggregates, docs/retention.md)."""
    table = partnership_contributions_table
    for chunk in _chunks(case_ids):
        connection.execute(delete(table).where(table.c.case_id.in_(chunk)))


def clear_partnership(connection: Connection) -> None:
    """Forget the fold's state, counts and contributions (inside the caller's transaction): the
    start of a rebuild."""
    connection.execute(delete(partnership_table))
    connection.execute(delete(partnership_contributions_table))
