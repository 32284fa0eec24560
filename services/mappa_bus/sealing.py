"""Crypto-shredding (docs/decisions/0002-erasure-reaching-the-log.md): each record on
`mappa.record` carries its event sealed under its case's own key, so that destroying the key
erases every copy of the case's records, wherever they are.

A sealed record is a CloudEvent whose routing fields stay in the clear (`id`, `source`, `type`,
`subject`, `dataschema`, `mappaarea`, `mappahandling`) and whose `data` is the sealed object
`{alg, kid, nonce, ciphertext}`: AES-256-GCM over the agency's record value exactly as it was
signed and checked (so its `time`, when the thing happened, and its `data`), with the clear
`id`, `type` and `subject` as associated data, so a sealed blob moved to another record, or to
another case, does not open. The event's `time` is not left in the clear: a date is a detail
of the case as much as the data is.

Pure: no key store, no Kafka (`keystore.py` holds the keys, `intake/` seals, the projection
shell opens).
"""

from __future__ import annotations

import binascii
import secrets
from dataclasses import dataclass
from typing import Any

import orjson
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from mappa_bus.catalogue import Envelope, EventData, WireError, parse_event

ALG = "A256GCM"
KEY_BYTES = 32
NONCE_BYTES = 12
# The fields a sealed record keeps in the clear: what routes it, nothing that describes a person
# beyond the case id the record is keyed by anyway.
CLEAR_FIELDS = (
    "specversion",
    "id",
    "source",
    "type",
    "subject",
    "dataschema",
    "mappaarea",
    "mappahandling",
)
SEALED_CONTENT_TYPE = "application/json"


class SealError(ValueError):
    """A sealed record that is not one, or does not open under the key it was given."""


@dataclass(frozen=True)
class Sealed:
    """The sealed object: the algorithm, the id of the key (its case), the nonce, and the
    ciphertext with its 16-byte tag."""

    alg: str
    kid: str
    nonce: bytes
    ciphertext: bytes

    def to_json(self) -> dict[str, str]:
        """As it sits in a record's `data` (bytes in base64, RFC 4648 section 4)."""
        return {
            "alg": self.alg,
            "kid": self.kid,
            "nonce": _b64(self.nonce),
            "ciphertext": _b64(self.ciphertext),
        }

    @classmethod
    def from_json(cls, document: Any) -> Sealed:
        """The sealed object in a record's `data`; SealError when it is not one."""
        if not isinstance(document, dict):
            raise SealError("data is not a sealed object")
        try:
            sealed = cls(
                alg=str(document["alg"]),
                kid=str(document["kid"]),
                nonce=_unb64(document["nonce"]),
                ciphertext=_unb64(document["ciphertext"]),
            )
        except (KeyError, TypeError, ValueError) as error:
            raise SealError(f"data is not a sealed object: {error!r}") from None
        if sealed.alg != ALG or len(sealed.nonce) != NONCE_BYTES:
            raise SealError(f"data is sealed with {sealed.alg}, not {ALG} with a 12-byte nonce")
        return sealed


def new_key() -> bytes:
    """A fresh random AES-256 key."""
    return secrets.token_bytes(KEY_BYTES)


def associated_data(event_id: str, event_type: str, subject: str) -> bytes:
    """What a sealed object is bound to: its record's id, type and subject (as a JSON array,
    so no choice of values can make two triples read the same)."""
    return orjson.dumps([event_id, event_type, subject])


def seal(cipher: AESGCM, kid: str, plaintext: bytes, aad: bytes) -> Sealed:
    """`plaintext` sealed under `cipher`'s key (named `kid`), bound to `aad`; a fresh random
    nonce each time (96 bits: safe for far more records than a case will ever have)."""
    nonce = secrets.token_bytes(NONCE_BYTES)
    return Sealed(ALG, kid, nonce, cipher.encrypt(nonce, plaintext, aad))


def unseal(cipher: AESGCM, sealed: Sealed, aad: bytes) -> bytes:
    """The plaintext of `sealed`; SealError when it does not open under `cipher`'s key with
    `aad` (another key, another record, or altered)."""
    try:
        return cipher.decrypt(sealed.nonce, sealed.ciphertext, aad)
    except InvalidTag:
        raise SealError(f"does not open under key {sealed.kid}") from None


@dataclass(frozen=True)
class SealedRecord:
    """A record of `mappa.record` as read before opening: its clear fields and sealed data."""

    id: str
    type: str
    subject: str
    sealed: Sealed

    @property
    def case_id(self) -> str:
        """The case whose key opens it."""
        return self.subject

    def aad(self) -> bytes:
        """The associated data its sealed object was bound to."""
        return associated_data(self.id, self.type, self.subject)


def seal_record(cipher: AESGCM, event: Envelope[Any], wire: bytes) -> bytes:
    """The `mappa.record` value of `event`, whose agency record value was `wire`: the clear
    fields, and `wire` sealed under its case's key (`cipher`)."""
    return seal_value(cipher, {name: getattr(event, name) for name in CLEAR_FIELDS}, wire)


def seal_value(cipher: AESGCM, clear: dict[str, Any], plaintext: bytes) -> bytes:
    """A sealed record's value: the `clear` fields (which name the event's `id`, `type` and
    `subject`, the case whose key `cipher` is), and `plaintext` sealed as its `data`, bound to
    them. The one form of every sealed record, the sealed record's and the bus's own events'
    (an alert sealed under its case's key) alike."""
    sealed = dict(clear)
    sealed["datacontenttype"] = SEALED_CONTENT_TYPE
    aad = associated_data(str(clear["id"]), str(clear["type"]), str(clear["subject"]))
    sealed["data"] = seal(cipher, str(clear["subject"]), plaintext, aad).to_json()
    return orjson.dumps(sealed)


def read_sealed(value: bytes) -> SealedRecord:
    """The clear fields and sealed object of a `mappa.record` value; SealError when it is not
    one (only the intake writes there, so this means a bug or tampering, not bad input)."""
    try:
        document = orjson.loads(value)
        record = SealedRecord(
            id=str(document["id"]),
            type=str(document["type"]),
            subject=str(document["subject"]),
            sealed=Sealed.from_json(document["data"]),
        )
    except (orjson.JSONDecodeError, KeyError, TypeError) as error:
        raise SealError(f"not a sealed record: {error!r}") from None
    if record.sealed.kid != record.subject:
        raise SealError("sealed under another case's key than its subject's")
    return record


def is_sealed(value: bytes | None) -> bool:
    """Whether a record value is a sealed record (its `data` a sealed object) rather than an
    event in the clear; cheap, and no judgement of either."""
    try:
        document = orjson.loads(value or b"")
    except orjson.JSONDecodeError:
        return False
    data = document.get("data") if isinstance(document, dict) else None
    return isinstance(data, dict) and "ciphertext" in data and "alg" in data


def open_record(cipher: AESGCM, record: SealedRecord) -> Envelope[EventData]:
    """The event sealed in `record`, opened with its case's key (`cipher`); SealError when it
    does not open or holds another event than its clear fields name."""
    plaintext = unseal(cipher, record.sealed, record.aad())
    try:
        event = parse_event(plaintext)
    except WireError as error:
        raise SealError(f"opens to no event: {error}") from None
    if (event.id, event.type, event.subject) != (record.id, record.type, record.subject):
        raise SealError("opens to another event than its clear fields name")
    return event


# binascii directly: the base64 module's wrappers cost more than the decryption itself.
def _b64(raw: bytes) -> str:
    return binascii.b2a_base64(raw, newline=False).decode("ascii")


def _unb64(text: Any) -> bytes:
    if not isinstance(text, str):
        raise TypeError("not base64 text")
    return binascii.a2b_base64(text, strict_mode=True)
