"""Crypto-shredding's seal (decision 0002): a record's event sealed under its case's key opens
only with that key, only in that record, and only unaltered."""

from __future__ import annotations

from datetime import UTC, date, datetime

import orjson
import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from mappa_bus.catalogue import Envelope, EventData, to_wire
from mappa_bus.catalogue.probation import MappaEligibilityIdentified
from mappa_bus.catalogue.vocabulary import Category
from mappa_bus.sealing import (
    ALG,
    CLEAR_FIELDS,
    SealError,
    new_key,
    open_record,
    read_sealed,
    seal_record,
)
from tests.case_events import kent_case

CASE = "KEN-2024-000321"
OTHER = "KEN-2024-000322"
KEY = AESGCM(new_key())


def _identified(case_id: str = CASE, event_id: str = "e-1") -> Envelope[EventData]:
    data = MappaEligibilityIdentified(
        identified_on=date(2024, 5, 17), category=Category.VIOLENT_OFFENDER, lead_agency="police"
    )
    return kent_case(case_id, datetime(2024, 5, 17, 9, tzinfo=UTC))(data, 0, event_id)


def _sealed(event: Envelope[EventData]) -> bytes:
    return seal_record(KEY, event, to_wire(event))


def test_a_sealed_record_opens_to_the_event_it_sealed() -> None:
    """Sealed and opened with the case's key, the record gives back the very event."""
    event = _identified()
    assert event == open_record(KEY, read_sealed(_sealed(event)))


def test_a_sealed_record_keeps_only_routing_fields_in_the_clear() -> None:
    """The clear fields are the routing ones; the date and the payload are not readable."""
    value = _sealed(_identified())
    document = orjson.loads(value)
    assert sorted((*CLEAR_FIELDS, "datacontenttype", "data")) == sorted(document)
    assert sorted(document["data"]) == ["alg", "ciphertext", "kid", "nonce"]
    assert (document["data"]["alg"], document["data"]["kid"]) == (ALG, CASE)
    plain = to_wire(_identified())
    assert [b"2024-05-17" in plain, b'"lead_agency":"police"' in plain] == [True, True]
    assert [b"2024-05-17" in value, b'"lead_agency":"police"' in value] == [False, False]


def test_an_altered_ciphertext_does_not_open() -> None:
    """One bit flipped in the ciphertext: the tag does not match, SealError."""
    document = orjson.loads(_sealed(_identified()))
    text = document["data"]["ciphertext"]
    document["data"]["ciphertext"] = ("B" if text[0] == "A" else "A") + text[1:]
    with pytest.raises(SealError, match="does not open"):
        open_record(KEY, read_sealed(orjson.dumps(document)))


def test_another_key_does_not_open_it() -> None:
    """Another case's key (or a destroyed one replaced) opens nothing."""
    with pytest.raises(SealError, match="does not open"):
        open_record(AESGCM(new_key()), read_sealed(_sealed(_identified())))


@pytest.mark.parametrize("field", ["id", "type"])
def test_a_sealed_blob_moved_to_another_record_does_not_open(field: str) -> None:
    """The blob is bound to its record's id and type: under another's, it does not open."""
    document = orjson.loads(_sealed(_identified()))
    document[field] = _identified(event_id="e-2").id if field == "id" else document[field] + "x"
    with pytest.raises(SealError, match="does not open"):
        open_record(KEY, read_sealed(orjson.dumps(document)))


def test_a_sealed_blob_moved_to_another_case_does_not_open() -> None:
    """Under another case's subject, even sealed with that case's key id, it does not open."""
    document = orjson.loads(_sealed(_identified()))
    document["subject"] = OTHER
    document["data"]["kid"] = OTHER
    with pytest.raises(SealError, match="does not open"):
        open_record(KEY, read_sealed(orjson.dumps(document)))


def test_a_key_id_other_than_the_subject_is_refused() -> None:
    """A sealed object naming another case's key than its record's subject is no record."""
    document = orjson.loads(_sealed(_identified()))
    document["data"]["kid"] = OTHER
    with pytest.raises(SealError, match="another case's key"):
        read_sealed(orjson.dumps(document))


@pytest.mark.parametrize(
    "value", [b"not json", b"{}", b'{"id":"e","type":"t","subject":"s","data":{"alg":"A256GCM"}}']
)
def test_what_is_no_sealed_record_is_refused(value: bytes) -> None:
    """Junk, or a record without a whole sealed object, is a SealError."""
    with pytest.raises(SealError):
        read_sealed(value)


def test_each_seal_takes_a_fresh_nonce() -> None:
    """The same event sealed twice gives two different ciphertexts."""
    event = _identified()
    first, second = (orjson.loads(_sealed(event))["data"] for _ in range(2))
    assert (first["nonce"] != second["nonce"], first["ciphertext"] != second["ciphertext"]) == (
        True,
        True,
    )
