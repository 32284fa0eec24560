"""The opening every projection's fold of a batch shares: skip what was applied, move the
offsets past the rest, read each record as an event or refuse it. A slice's fold takes the
events from here and adds only what it does with them."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from mappa_bus.catalogue import Envelope, EventData, Rejection, WireError
from mappa_bus.catalogue.erasure import CaseErased, ErasureData
from mappa_bus.projection.offsets import Position
from mappa_bus.projection.sealed import RecordKeys, SealedRecords
from mappa_bus.projection.subscriber import Rejected, read_event
from mappa_bus.topics import NAMESPACE, is_erasures_topic


@dataclass
class Batch:
    """Where a batch leaves each partition (the next offset to read) and the records it
    refused; a slice's batch adds what the batch would change in its store."""

    offsets: dict[Position, int]
    rejected: list[Rejected] = field(default_factory=list)
    # The erasures among the records (docs/decisions/0002), by case id: taken out of the
    # stream by `unread`, for the slice to apply after the batch's events, so that an erasure
    # wins over every event of its case in the same batch, whichever came first.
    erasures: dict[str, ErasureData] = field(default_factory=dict)
    namespace: str = NAMESPACE
    erased: int = 0
    """Records of the sealed record whose case's key is destroyed: skipped, not refused."""

    def unread(self, records: Iterable[Any]) -> Iterator[Any]:
        """The records not applied before, each moving `offsets` past itself; those below an
        offset were delivered again (after a rebalance or a retry) and are skipped. Erasures
        are kept in `erasures`, not yielded."""
        offsets = self.offsets
        for record in records:
            position = (record.topic, record.partition)
            if record.offset < offsets.get(position, 0):
                continue
            offsets[position] = record.offset + 1
            if is_erasures_topic(record.topic, self.namespace):
                self._erasure(record)
                continue
            yield record

    def _erasure(self, record: Any) -> None:
        """Keep the erasure `record` holds; refuse one that is not (only the erasure principal
        writes that topic, so this is a bug or a broken ACL, and is dead-lettered)."""
        try:
            erasure = CaseErased.model_validate_json(record.value)
        except ValidationError as error:
            problem = error.errors()[0]
            where = ".".join(str(part) for part in problem["loc"]) or "value"
            self.refuse(record, WireError(Rejection.INVALID_DATA, where, problem["msg"]))
            return
        if record.key != erasure.subject.encode() or erasure.data.case_id != erasure.subject:
            self.refuse(record, WireError(Rejection.WRONG_KEY, "key", "must be the case id"))
            return
        self.erasures[erasure.subject] = erasure.data

    def read(
        self, record: Any, namespace: str, keyring: RecordKeys, *, refuse: bool = True
    ) -> Envelope[EventData] | None:
        """The event in `record`, or None when it is not a valid one in its place (noted in
        `rejected`, to be dead-lettered, unless `refuse` is false: refused before), or when it
        is a sealed record whose case was erased (counted in `erased`)."""
        try:
            if isinstance(keyring, SealedRecords):
                event = keyring.open(record)
                if event is None:
                    self.erased += 1
                return event
            return read_event(record, namespace, keyring)
        except WireError as error:
            if refuse:
                self.refuse(record, error)
            return None

    def refuse(self, record: Any, error: WireError) -> None:
        """Refuse `record` for `error`: it is dead-lettered with the batch, and folds nothing.
        A slice refuses here what only its own state shows wrong (a plan action's outcome from
        an agency that does not own it; a withdrawal naming an event it does not hold, or
        another agency's)."""
        self.rejected.append(Rejected(record, error))

    def events(
        self, records: Iterable[Any], namespace: str, keyring: RecordKeys
    ) -> Iterator[tuple[Any, Envelope[EventData]]]:
        """Each record not applied before that holds a valid event, with the event."""
        for record in self.unread(records):
            event = self.read(record, namespace, keyring)
            if event is not None:
                yield record, event
