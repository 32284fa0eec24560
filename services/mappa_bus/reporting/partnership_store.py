"""Where the partnership fold's state is kept: one row per (Kafka partition, area, reporting year,
agency), beside the reporting consumer's cases and offsets, written in the consumer's own
transaction.

By partition because the members of a consumer group share the store: each member writes only
the rows of the partitions it holds, as it writes only their offsets, so no member's tally ever
overwrites another's; readers add the partitions up.

Beside the counts, each shared event's contribution (`reporting_contributions`), until its agency
withdraws it or its case is erased, filed under the event's time and id (near the end of the
key as the log is read: see the table); read back only for the events a batch's withdrawals
name, found by the time their applied ids keep, so the consumer's memory does not grow with the
log."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator, Mapping

import orjson
from sqlalchemy import BigInteger, and_, bindparam, delete, literal, select, true
from sqlalchemy.engine import Connection

from mappa_bus.agencies import Agency
from mappa_bus.catalogue import Area
from mappa_bus.projection.database import copy_missing, insert_rows, upsert, wanted_rows
from mappa_bus.projection.seen import UNKNOWN_TIME
from mappa_bus.reporting.partnership import (
    AgencyTally,
    Contribution,
    Counted,
    Histogram,
    PartnershipCounts,
    PartnershipKey,
    combine,
)
from mappa_bus.reporting.schema import (
    contributions_before_table,
    partnership_contributions_table,
    partnership_table,
)

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


def save_contributions(
    connection: Connection, counted: Mapping[str, Counted], times: Mapping[str, int]
) -> None:
    """Keep each event's contribution, filed under its event's time (`times`, by event id:
    `projection.seen.time_key`) and id (inside the caller's transaction)."""
    if not counted:
        return
    rows = [
        {
            "time": times[event_id],
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
    rows.sort(key=lambda row: (row["time"], row["event_id"]))
    insert_rows(connection, partnership_contributions_table, rows)


def load_contributions(connection: Connection, filed: Mapping[str, int]) -> dict[str, Counted]:
    """The kept contributions of those of `filed` (event ids with the time each is filed under,
    as the applied ids keep it) that have one, by event id: a probe of the key each."""
    table = partnership_contributions_table
    found: dict[str, Counted] = {}
    pairs = [(time, event_id) for event_id, time in filed.items()]
    if not pairs:
        return found
    wanted, on = wanted_rows(connection, (table.c.time, table.c.event_id), pairs)
    for row in connection.execute(select(table).select_from(wanted).join(table, on)):
        key = PartnershipKey(Area(row.area), row.year_start, Agency(row.agency))
        present = frozenset(Agency(name) for name in row.present.split(",") if name)
        contribution = Contribution(key, row.delay_bucket, bool(row.meeting_held), present)
        found[row.event_id] = Counted(row.case_id, row.partition, contribution)
    return found


def delete_contributions(connection: Connection, filed: Mapping[str, int]) -> None:
    """Forget the contributions of `filed` (event ids with the time each is filed under; inside
    the caller's transaction): withdrawn. A probe of the key each."""
    if not filed:
        return
    table = partnership_contributions_table
    statement = delete(table).where(
        table.c.time == bindparam("at"), table.c.event_id == bindparam("id")
    )
    connection.execute(
        statement, [{"at": time, "id": event_id} for event_id, time in filed.items()]
    )


def delete_case_contributions(connection: Connection, case_ids: Collection[str]) -> None:
    """Forget every contribution of these cases (inside the caller's transaction): erased. The
    counts keep what they added (aggregates, docs/retention.md)."""
    table = partnership_contributions_table
    for chunk in _chunks(case_ids):
        connection.execute(delete(table).where(table.c.case_id.in_(chunk)))


def clear_partnership(connection: Connection) -> None:
    """Forget the fold's state, counts and contributions (inside the caller's transaction): the
    start of a rebuild."""
    for table in (partnership_table, partnership_contributions_table, contributions_before_table):
        connection.execute(delete(table))


def upgrade_contributions(connection: Connection) -> None:
    """Move the contributions a store written before kept by event id alone into
    `reporting_contributions`, filed at UNKNOWN_TIME (where the applied ids kept before are),
    and empty the old table (inside the caller's transaction; nothing to do when done)."""
    old = contributions_before_table
    columns = [column.name for column in old.columns]
    kept = select(literal(UNKNOWN_TIME, BigInteger), *old.columns).where(true())
    copy_missing(connection, partnership_contributions_table, ["time", *columns], kept)
    connection.execute(delete(old))
