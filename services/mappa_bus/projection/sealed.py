"""Reading the sealed record (decision 0002, `MAPPA_RECORD=sealed`): a projection reads
`mappa.record` instead of the agency topics and opens each record with its case's key.

The intake has checked every record there as `subscriber.read_event` checks an agency record
(wire, place, signature), so none of that is checked again. A record whose case's key was
destroyed is erased: skipped, counted, never dead-lettered (erasure is not bad input) and never
an error. One that does not open under a live key was altered, or sealed by a bug: it is
dead-lettered as `bad-signature` (the sealed object's tag is its signature), so that a partition
never stops behind it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mappa_bus.agencies import Agency
from mappa_bus.catalogue import Envelope, EventData, Rejection, WireError
from mappa_bus.keystore import KeyStore
from mappa_bus.sealing import SealError, open_record, read_sealed
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
