"""Where the partnership fold's state is kept: one row per (Kafka partition, area, reporting year,
agency), beside the reporting consumer's cases and offsets, written in the consumer's own
transaction.

By partition because the members of a consumer group share the store: each member writes only
the rows of the partitions it holds, as it writes only their offsets, so no member's tally ever
overwrites another's; readers add the partitions up."""

from __future__ import annotations

from collections.abc import Iterable

import orjson
from sqlalchemy import delete, select
from sqlalchemy.engine import Connection

from mappa_bus.agencies import Agency
from mappa_bus.catalogue import Area
from mappa_bus.projection.database import upsert
from mappa_bus.reporting.partnership import (
    AgencyTally,
    Histogram,
    PartnershipCounts,
    PartnershipKey,
    combine,
)
from mappa_bus.reporting.schema import partnership_table


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
    """Write the changed keys' tallies of one partition (inside the caller's transaction)."""
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
    ]
    keys = ("partition", "area", "year_start", "agency")
    upsert(connection, partnership_table, rows, keys=keys)


def clear_partnership(connection: Connection) -> None:
    """Forget the fold's state (inside the caller's transaction): the start of a rebuild."""
    connection.execute(delete(partnership_table))
