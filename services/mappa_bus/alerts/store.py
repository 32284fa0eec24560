"""What the alerts service keeps: the offsets up to which it has raised alerts, and every alert
it raised (an outbox: written in the same transaction as those offsets, published after).

The case pictures the rules compare are not kept here: the service folds them again from the
agency topics when it starts, raising nothing for records below its stored offsets.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from mappa_bus.alerts.model import AlertRaised
from mappa_bus.alerts.schema import raised_table

PROJECTION = "alerts"


def record_raised(connection: Connection, alerts: Iterable[AlertRaised]) -> None:
    """Add alerts to the outbox, unpublished (inside the caller's transaction). An id already
    there is left as it is: two instances may both see a review fall due."""
    rows = [
        {"alert_id": a.id, "area": a.mappaarea.value, "event": a.model_dump_json(), "published": 0}
        for a in alerts
    ]
    if not rows:
        return
    insert = postgresql.insert if connection.dialect.name == "postgresql" else sqlite.insert
    connection.execute(insert(raised_table).on_conflict_do_nothing(), rows)


def raised_ids(connection: Connection) -> set[str]:
    """Every alert id ever raised."""
    return set(connection.execute(select(raised_table.c.alert_id)).scalars())


def unpublished(connection: Connection) -> list[AlertRaised]:
    """The raised alerts not yet confirmed on the alerts topic, oldest first."""
    rows = connection.execute(
        select(raised_table.c.event)
        .where(raised_table.c.published.is_(False))
        .order_by(raised_table.c.alert_id)
    ).scalars()
    return [AlertRaised.model_validate_json(text) for text in rows]


def mark_published(connection: Connection, alert_ids: Sequence[str]) -> None:
    """Record that these alerts are on the topic."""
    if alert_ids:
        connection.execute(
            update(raised_table)
            .where(raised_table.c.alert_id.in_(alert_ids))
            .values(published=True)
        )


def all_raised(connection: Connection) -> list[AlertRaised]:
    """Every alert raised, in id order (for comparing runs)."""
    rows = connection.execute(select(raised_table.c.event).order_by(raised_table.c.alert_id))
    return [AlertRaised.model_validate_json(text) for text in rows.scalars()]
