"""Reading the sealed record (decision 0002, `MAPPA_RECORD=sealed`): a projection reads
`mappa.record` instead of the agency topics and opens each record with its case's key.

The intake has checked every record there as `subscriber.read_event` checks an agency record
(wire, place, signature), so none of that is checked again. A record whose case's key was
destroyed is erased: skipped, counted, never dead-lettered (erasure is not bad input) and never
an error. One that does not open under a live key was altered, or sealed by a bug: it is
dead-lettered as `bad-signature` (the sealed object's tag is its signature), so that a partition
never stops behind it.

The bus's own events about a case (alerts, their withdrawals, the coordinators'
acknowledgements) are sealed the same way in sealed mode (`SealedBusEvents`), under the same case
key, so that erasing a case shreds what the alerts topics say of it too: a reader that meets one
whose key is destroyed has an `ErasedEvent`, its clear fields only, to show as erased.
"""

from __future__ import annotations

import hmac
import uuid
from dataclasses import dataclass
from typing import Any

import orjson

from mappa_bus.agencies import Agency
from mappa_bus.catalogue import Area, Envelope, EventData, Rejection, WireError
from mappa_bus.catalogue.bus_event import BusEvent
from mappa_bus.keystore import CaseKey, KeyMissing, KeyStore
from mappa_bus.sealing import (
    SealError,
    is_sealed,
    open_record,
    read_sealed,
    seal_value,
    unseal,
)
from mappa_bus.signing import Keyring
from mappa_bus.topics import agency_topic, record_topic


@dataclass(frozen=True)
class SealedRecords:
    """How a projection in sealed mode reads its records: opened with the key store's keys."""

    keys: KeyStore

    def open(self, record: Any) -> Envelope[EventData] | None:
        """The event sealed in `record`, or None when its case's key is destroyed (erased);
        WireError `bad-signature` when it does not open. KeyMissing (no key was ever made for
        the case: the wrong key store) is raised: an error to fix, not a record to skip."""
        try:
            sealed = read_sealed(record.value)
        except SealError as error:
            raise WireError(Rejection.BAD_SIGNATURE, "data", str(error)) from None
        cipher = self.keys.opener_for(sealed.case_id)
        if cipher is None:
            return None
        try:
            return open_record(cipher, sealed)
        except SealError as error:
            raise WireError(Rejection.BAD_SIGNATURE, "data", str(error)) from None


RecordKeys = Keyring | SealedRecords
"""What a projection reads its records with: the agencies' signing keys (the agency topics) or
the case keys (the sealed record)."""


def source_topics(namespace: str, keys: RecordKeys) -> list[str]:
    """The topics a projection reading with `keys` subscribes to."""
    if isinstance(keys, SealedRecords):
        return [record_topic(namespace)]
    return [agency_topic(agency, namespace) for agency in Agency]


# What a sealed bus event keeps in the clear: what routes and identifies it (a reader tells
# repeats apart by `id`, filters by area, and shows which case an erased alert was of), never
# `time` or `data`: when things happened, and what, are details of the case.
BUS_CLEAR_FIELDS = ("specversion", "id", "source", "type", "subject", "mappaarea", "mappahandling")


@dataclass(frozen=True)
class ErasedEvent:
    """A bus event sealed under its case's key that no longer opens: the case was erased.
    What is left of it is its clear fields; readers show it as erased."""

    id: str
    type: str
    subject: str
    mappaarea: Area

    @property
    def case_id(self) -> str:
        """The erased case."""
        return self.subject


@dataclass(frozen=True)
class SealedBusEvents:
    """The bus's own events about a case (alerts, withdrawals, acknowledgements) sealed under
    the case's key, in sealed mode; opened again by their readers with the same key store.

    The clear `id` is not the event's own but its `wire_id`: an alert's id is derived from its
    rule and trigger, and a time-driven trigger is the case and a day, so with the case id in
    the clear the day could be found by trying every day of a few years. Under a key derived
    from the case's, the clear id is as stable as the event's (the same alert sealed again has
    the same one, so repeats are still told apart) and, once the key is destroyed, says nothing.
    """

    keys: KeyStore

    def seal(self, event: BusEvent) -> bytes | None:
        """`event`'s record value with its `time` and `data` sealed under its subject's (its
        case's) key, made if the case has none yet (a merged group's kept id may have no record
        of its own); None when the key is destroyed: the case is erased, and the event is not
        to be published at all."""
        key = self.keys.case_keys_for([event.subject])[event.subject]
        if key is None:
            return None
        document = event.model_dump(mode="json")
        clear = {name: document[name] for name in BUS_CLEAR_FIELDS}
        clear["id"] = wire_id(key, event.id)
        return seal_value(key.cipher, clear, event.kafka_value())

    def wire_id(self, event: BusEvent) -> str | None:
        """The clear id `event` has once sealed; None when its case's key is destroyed."""
        key = self.keys.case_keys_for([event.subject])[event.subject]
        return None if key is None else wire_id(key, event.id)

    def open(self, value: bytes) -> bytes | ErasedEvent:
        """The event in a record value as JSON (a value in the clear as it is; a sealed one
        opened, with its own id), or the `ErasedEvent` it leaves when its case's key is
        destroyed. SealError when it is sealed and does not open under a live key (altered,
        moved), or was sealed under a key this key store never had (the wrong key store)."""
        if not is_sealed(value):
            return value
        sealed = read_sealed(value)
        try:
            key = self.keys.case_key(sealed.case_id)
        except KeyMissing as error:
            raise SealError(str(error)) from None
        if key is None:
            clear = orjson.loads(value)
            try:
                area = Area(clear.get("mappaarea"))
            except ValueError:
                raise SealError("a sealed event without a MAPPA area") from None
            return ErasedEvent(sealed.id, sealed.type, sealed.subject, area)
        plaintext = unseal(key.cipher, sealed.sealed, sealed.aad())
        try:
            document = orjson.loads(plaintext)
            named = (wire_id(key, document["id"]), document["type"], document["subject"])
        except (orjson.JSONDecodeError, KeyError, TypeError):
            raise SealError("opens to no event") from None
        if named != (sealed.id, sealed.type, sealed.subject):
            raise SealError("opens to another event than its clear fields name")
        return plaintext


def wire_id(key: CaseKey, event_id: str) -> str:
    """The clear id of the sealed event `event_id` of the case whose key is `key`: 128 bits of
    HMAC-SHA256 under the case's key for ids, as a UUID."""
    digest = hmac.digest(key.ids, event_id.encode(), "sha256")
    return str(uuid.UUID(bytes=digest[:16], version=4))


def bus_sealer(keys: RecordKeys) -> SealedBusEvents | None:
    """How a projection reading with `keys` seals the events it publishes about a case: under
    the case keys when it reads the sealed record, not at all when it reads the agency topics
    (which hold every detail in the clear anyway)."""
    return SealedBusEvents(keys.keys) if isinstance(keys, SealedRecords) else None
