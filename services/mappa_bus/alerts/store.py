"""What the alerts service keeps: the offsets up to which it has raised alerts, and every alert
it raised or withdrew (an outbox: written in the same transaction as those offsets, published
after).

The case pictures the rules compare are not kept here: the service folds them again from the
agency topics when it starts, raising nothing for records below its stored offsets.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from pydantic import TypeAdapter
from sqlalchemy import delete, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from mappa_bus.alerts.model import AlertRaised, AlertWithdrawn, OnAlertsTopic
from mappa_bus.alerts.schema import raised_table

_OUTBOX: TypeAdapter[AlertRaised | AlertWithdrawn] = TypeAdapter(OnAlertsTopic)

PROJECTION = "alerts"


def record_raised(connection: Connection, alerts: Iterable[AlertRaised | AlertWithdrawn]) -> None:
    """Add alerts (or withdrawals of alerts) to the outbox, unpublished (inside the caller's
    transaction). An id already there is left as it is: two instances may both see a review
    fall due."""
    rows = [
        {"alert_id": a.id, "area": a.mappaarea.value, "event": a.model_dump_json(), "published": 0}
        for a in alerts
    ]
    if not rows:
        return
    insert = postgresql.insert if connection.dialect.name == "postgresql" else sqlite.insert
    connection.execute(insert(raised_table).on_conflict_do_nothing(), rows)


def forget_cases(connection: Connection, case_ids: Iterable[str]) -> int:
    """Delete every alert and withdrawal of these cases from the outbox, published or not
    (inside the caller's transaction): the cases are erased (docs/decisions/0002). How many."""
    doomed = []
    for case_id in sorted(set(case_ids)):
        # The JSON holds the subject as `"subject":"<case id>"`; read back to be sure.
        rows = connection.execute(
            select(raised_table.c.alert_id, raised_table.c.event).where(
                raised_table.c.event.contains(f'"subject":"{case_id}"', autoescape=True)
            )
        )
        doomed += [alert_id for alert_id, text in rows if _subject(text) == case_id]
    if doomed:
        connection.execute(delete(raised_table).where(raised_table.c.alert_id.in_(doomed)))
    return len(doomed)


def _subject(text: str) -> str:
    return _OUTBOX.validate_json(text).subject


def raised_ids(connection: Connection) -> set[str]:
    """Every alert id ever raised."""
    return set(connection.execute(select(raised_table.c.alert_id)).scalars())


def unpublished(connection: Connection) -> list[AlertRaised | AlertWithdrawn]:
    """The alerts and withdrawals not yet confirmed on the alerts topic."""
    rows = connection.execute(
        select(raised_table.c.event)
        .where(raised_table.c.published.is_(False))
        .order_by(raised_table.c.alert_id)
    ).scalars()
    return [_OUTBOX.validate_json(text) for text in rows]


def raised_alerts(connection: Connection, alert_ids: Iterable[str]) -> list[AlertRaised]:
    """Those of `alert_ids` the outbox holds, as raised."""
    wanted = sorted(set(alert_ids))
    if not wanted:
        return []
    rows = connection.execute(
        select(raised_table.c.event).where(raised_table.c.alert_id.in_(wanted))
    ).scalars()
    return [event for text in rows if isinstance(event := _OUTBOX.validate_json(text), AlertRaised)]


def mark_published(connection: Connection, alert_ids: Sequence[str]) -> None:
    """Record that these alerts are on the topic."""
    if alert_ids:
        connection.execute(
            update(raised_table)
            .where(raised_table.c.alert_id.in_(alert_ids))
            .values(published=True)
        )


def all_raised(connection: Connection) -> list[AlertRaised]:
    """Every alert raised, in id order (for comparing runs); withdrawn ones too."""
    return [event for event in _everything(connection) if isinstance(event, AlertRaised)]


def all_withdrawn(connection: Connection) -> list[AlertWithdrawn]:
    """Every withdrawal of an alert, in id order (for comparing runs)."""
    return [event for event in _everything(connection) if isinstance(event, AlertWithdrawn)]


def _everything(connection: Connection) -> list[AlertRaised | AlertWithdrawn]:
    rows = connection.execute(select(raised_table.c.event).order_by(raised_table.c.alert_id))
    return [_OUTBOX.validate_json(text) for text in rows.scalars()]
