"""`mappa erase`: erase a case everywhere on a recorded decision (docs/decisions/0002); and
`mappa erase-expired`: erase everywhere every case whose retention has passed.

The command does not cut any store itself: in sealed mode it destroys the case's key (so the
log's copies of its records no longer open), then publishes the case's erasure (`CaseErased`) on
the erasures topic as its own principal, and every projection (picture, reporting, alerts) cuts
the case as it folds it, now and in every rebuild. The decision (who, when, why) goes into the
audit trail (s.62), which is kept; the event on the log names only the case, its area, the
ground and the decision's reference.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, date, datetime

import typer
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError
from pydantic import ValidationError
from rich.console import Console
from sqlalchemy.engine import Connection

from mappa_bus.access.reasons import ReasonError, checked_reason, escaped
from mappa_bus.audit import reads, record_read
from mappa_bus.case.fold import joined
from mappa_bus.case.model import CasePicture
from mappa_bus.case.retention import due, retention_decision
from mappa_bus.catalogue.bus_event import BUS_EVENT_HEADERS
from mappa_bus.catalogue.erasure import (
    DECISION_PATTERN,
    CaseErased,
    ErasureData,
    ErasureGround,
    case_erased,
)
from mappa_bus.cli_common import EXIT_CONFIG, command_settings
from mappa_bus.connection import KafkaConnection
from mappa_bus.keystore import KeyStoreError, open_key_store
from mappa_bus.picture.schema import create_schema
from mappa_bus.picture.store import each_picture, load_picture, pictures_of, stored_merges
from mappa_bus.principals import Role
from mappa_bus.projection.database import open_engine
from mappa_bus.settings import Settings
from mappa_bus.topics import erasures_topic

console = Console(stderr=True)

# The audit trail's role for the erasure of a case: its records say who decided, not who read.
AUDIT_ROLE = Role.ERASURE.value
# Who and why, in the audit trail, for an erasure after retention: the schedule decided.
RETENTION_BY = "retention"
RETENTION_REASON = "retention period passed since MAPPA management ended (DPA 2018 s.39)"
EXIT_NOT_FOUND = 1
EXIT_ALREADY = 3
EXIT_BROKER = 4


def erase(
    case_id: str,
    decision: str,
    reason: str,
    by: str,
    whole_group: bool | None,
    namespace: str,
    database: str | None,
) -> None:
    """`mappa erase`, given its options (`mappa_bus.erase_cli`)."""
    settings = command_settings()
    engine = open_engine(database or settings.database_url)
    create_schema(engine)
    try:
        why = checked_reason(reason)
    except ReasonError as error:
        console.print(f"[red]--reason: {error}[/]")
        raise typer.Exit(2) from None
    who = escaped(by.strip())
    if not who:
        console.print("[red]--by: say who decided (the audit trail keeps it)[/]")
        raise typer.Exit(2)
    with engine.connect() as connection:
        picture = load_picture(connection, case_id)
        group = stored_merges(connection).group(case_id)
        members = list(pictures_of(connection, group).values())
    if picture is None:
        console.print(
            f"[red]no case {case_id} in the picture store: nothing erased, nothing published. "
            "Check the id (the picture service must have folded the case's events).[/]"
        )
        raise typer.Exit(EXIT_NOT_FOUND)
    if picture.erased_on is not None:
        console.print(
            f"[yellow]{case_id} was erased on {picture.erased_on.isoformat()}: nothing "
            "published again, the audit trail unchanged.[/]"
        )
        raise typer.Exit(EXIT_ALREADY)
    with engine.connect() as connection:
        decided = erased_at(connection, case_id)
    if decided is not None:
        console.print(
            f"[yellow]{case_id}'s erasure was published at {decided.isoformat()}; the picture "
            "service has not folded it yet: nothing published again.[/]"
        )
        raise typer.Exit(EXIT_ALREADY)
    if picture.area is None:
        console.print(f"[red]{case_id} has no area in the picture yet: nothing erased.[/]")
        raise typer.Exit(EXIT_NOT_FOUND)
    if len(group) > 1 and whole_group is None:
        console.print(
            f"[red]{case_id} is one person with {', '.join(i for i in group if i != case_id)} "
            "(merged): say --whole-group to erase every id, or --this-id-only. Nothing erased.[/]"
        )
        raise typer.Exit(2)
    chosen = [p for p in members if whole_group or p.case_id == case_id]
    today = datetime.now(UTC).date()
    try:
        events = [
            erasure(p.case_id, p.area.value, ErasureGround.DECISION, decision, today)
            for p in chosen
            if p.erased_on is None and p.area is not None
        ]
    except ValidationError:
        console.print(f"[red]--decision must match {DECISION_PATTERN}: a reference[/]")
        raise typer.Exit(2) from None
    erased = [event.subject for event in events]
    # The cases' keys first (sealed mode): from then on no copy of their records on the log
    # opens.
    _destroy_keys(settings, erased, decision, who)
    connection_as = settings.connection_for_role(Role.ERASURE.value)
    try:
        asyncio.run(publish_erasures(connection_as, events, namespace))
    except (OSError, KafkaError) as error:
        console.print(
            f"[red]the erasure could not be published ({error!r}): the stores are not cut yet; "
            "run the command again[/]"
        )
        raise typer.Exit(EXIT_BROKER) from error
    with engine.begin() as connection:
        for erased_id in erased:
            audit_erasure(connection, erased_id, who, f"decision {decision}: {why}")
    console.print(
        f"published the erasure of {', '.join(erased)} (decision {decision}) on "
        f"{erasures_topic(namespace)}: the picture, reporting and alerts services cut the case "
        "as they fold it, and never fold its events back in."
    )


def erase_expired(
    retention_years: int | None, today: datetime | None, namespace: str, database: str | None
) -> None:
    """`mappa erase-expired`, given its options (`mappa_bus.erase_cli`)."""
    settings = command_settings()
    engine = open_engine(database or settings.database_url)
    create_schema(engine)
    years = retention_years if retention_years is not None else settings.retention_years
    on = (today or datetime.now(UTC)).date()
    with engine.connect() as connection:
        # An erasure published by an earlier run (or `mappa erase`) that the picture service
        # has not folded yet is not published, nor audited, twice.
        expired = [
            p for p in _expired(connection, on, years) if erased_at(connection, p.case_id) is None
        ]
    events = [
        erasure(p.case_id, p.area.value, ErasureGround.RETENTION, retention_decision(years), on)
        for p in expired
        if p.area is not None
    ]
    if events:
        _destroy_keys(
            settings, [e.subject for e in events], retention_decision(years), RETENTION_BY
        )
        try:
            asyncio.run(
                publish_erasures(
                    settings.connection_for_role(Role.ERASURE.value), events, namespace
                )
            )
        except (OSError, KafkaError) as error:
            console.print(f"[red]the erasures could not be published ({error!r}): none done[/]")
            raise typer.Exit(EXIT_BROKER) from error
        with engine.begin() as connection:
            for event in events:
                audit_erasure(connection, event.subject, RETENTION_BY, RETENTION_REASON)
    console.print(
        f"{len(events):,} cases erased in every store (retention {years} years after "
        f"management ended), published on {erasures_topic(namespace)}"
    )


def _expired(connection: Connection, on: date, years: int) -> list[CasePicture]:
    """The pictures due for erasure by `on`: a case alone when its retention has passed; the
    ids of a merged person together when the person's (their joined picture's) has, and none
    of them before, whatever each id's own picture says."""
    merges = stored_merges(connection)
    groups = merges.groups()
    found = [
        picture
        for picture in due(each_picture(connection), on, years)
        if merges.kept(picture.case_id) not in groups
    ]
    for group in groups.values():
        members = list(pictures_of(connection, group).values())
        if members and due([joined(group, members)], on, years):
            found.extend(p for p in members if p.erased_on is None)
    return found


def _destroy_keys(settings: Settings, case_ids: Sequence[str], decision: str, by: str) -> None:
    """Destroy each case's key in the key store, so that its records on `mappa.record`, in
    every copy, can no longer be opened (decision 0002). In sealed mode (`MAPPA_RECORD=sealed`),
    and wherever a key-encryption key exists, whatever mode this shell reads in: a shell that
    erases beside `mappa up`'s sealed services need not name the mode, and a case key left
    standing after its erasure would open its records again. Without either there is no key."""
    if not settings.sealed() and not settings.key_encryption_key_path().exists():
        return
    try:
        keys = open_key_store(settings.key_store_url, settings.key_encryption_key_path())
    except KeyStoreError as error:
        console.print(f"[red]{error}: nothing erased[/]")
        raise typer.Exit(EXIT_CONFIG) from None
    for case_id in case_ids:
        keys.destroy_key(case_id, decision, by)


def erasure(case_id: str, area: str, ground: ErasureGround, decision: str, on: date) -> CaseErased:
    """The erasure event of one case; ValidationError for a decision that is no reference."""
    data = ErasureData.model_validate(
        {"case_id": case_id, "area": area, "ground": ground, "decision": decision, "erased_on": on}
    )
    return case_erased(data, datetime.now(UTC))


def erased_at(connection: Connection, case_id: str) -> datetime | None:
    """When the audit trail says the case's erasure was published, or None: the trail is
    written as the erasure is published, before any service has folded it."""
    subject = f"case:{case_id}"
    after = 0
    while page := reads(connection, subject_prefix=subject, after=after):
        for record in page:
            if (record.subject, record.role, record.outcome) == (subject, AUDIT_ROLE, "erased"):
                return record.at
        last = page[-1].id
        if last is None:
            return None
        after = last
    return None


def audit_erasure(connection: Connection, case_id: str, by: str, why: str) -> None:
    """Keep who erased a case and why in the audit trail (inside the caller's transaction)."""
    record_read(
        connection,
        user=by,
        role=AUDIT_ROLE,
        subject=f"case:{case_id}",
        reason=why,
        outcome="erased",
        cases=[case_id],
    )


async def publish_erasures(
    connection: KafkaConnection, events: Sequence[CaseErased], namespace: str
) -> None:
    """Publish `events` on `namespace`'s erasures topic, each confirmed by the broker."""
    producer = AIOKafkaProducer(
        client_id="mappa-erasure",
        acks="all",
        enable_idempotence=True,
        **connection.aiokafka_options(),
    )
    await producer.start()
    try:
        headers = [(name, value.encode()) for name, value in BUS_EVENT_HEADERS.items()]
        for event in events:
            await producer.send_and_wait(
                erasures_topic(namespace), event.kafka_value(), key=event.kafka_key, headers=headers
            )
    finally:
        await producer.stop()
