"""Area-bound publishers: each agency record is signed with a key of one agency in one area.

docs/decisions/0001-area-bound-publishers.md gives the why. A key is a 32-byte secret named
`<agency>/<area>/<generation>` (`police/kent/1`); its HMAC-SHA256 over the record value's
exact bytes goes in the `mappa-signature` header (lowercase hex), its name in `mappa-key-id`.
A publisher signs with the newest generation it holds for the event's area; a consumer checks
with whichever generation the record names, so records signed before a rotation still verify.

Pure: no files, no Kafka (keyring files are `mappa_bus.keyring`'s).
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from mappa_bus.agencies import Agency
from mappa_bus.catalogue import Area, Rejection, WireError

KEY_ID_HEADER = "mappa-key-id"
SIGNATURE_HEADER = "mappa-signature"
SECRET_BYTES = 32


@dataclass(frozen=True, order=True)
class KeyId:
    """The name of one signing key: whose (agency), where (area), which replacement (generation,
    from 1)."""

    agency: Agency
    area: Area
    generation: int = 1

    def __str__(self) -> str:
        return f"{self.agency.value}/{self.area.value}/{self.generation}"

    @classmethod
    def parse(cls, text: str) -> KeyId:
        """`agency/area[/generation]` (generation 1 when left out); ValueError saying which part
        is wrong otherwise."""
        parts = text.split("/")
        if len(parts) not in (2, 3):
            raise ValueError(f"key id {text!r} is not agency/area[/generation]")
        try:
            agency = Agency(parts[0])
        except ValueError:
            raise ValueError(f"key id {text!r} names no agency {parts[0]!r}") from None
        try:
            area = Area(parts[1])
        except ValueError:
            raise ValueError(f"key id {text!r} names no area {parts[1]!r}") from None
        generation = parts[2] if len(parts) == 3 else "1"
        if not generation.isdigit() or int(generation) < 1:
            raise ValueError(f"key id {text!r} has a generation that is not a positive number")
        return cls(agency, area, int(generation))


@dataclass(frozen=True)
class Keyring:
    """Secrets by key id: a publisher's (its areas' current keys) or the consumers' (every key,
    retired generations too)."""

    keys: Mapping[KeyId, bytes] = field(repr=False)

    def __post_init__(self) -> None:
        for key_id, secret in self.keys.items():
            if len(secret) < SECRET_BYTES:
                raise ValueError(f"key {key_id} is {len(secret)} bytes; at least {SECRET_BYTES}")

    @functools.cached_property
    def _newest(self) -> dict[tuple[Agency, Area], KeyId]:
        # Looked up for every event a publisher sends: worked out once.
        newest: dict[tuple[Agency, Area], KeyId] = {}
        for key_id in sorted(self.keys):
            newest[key_id.agency, key_id.area] = key_id
        return newest

    def current(self, agency: Agency, area: Area) -> KeyId:
        """The newest key this keyring holds for `agency` in `area`; WireError `wrong-area`
        when it holds none (the publisher does not speak for that area)."""
        held = self._newest.get((agency, area))
        if held is None:
            raise WireError(
                Rejection.WRONG_AREA,
                "mappaarea",
                f"this publisher holds no key of {agency.value} for area {area.value}",
            )
        return held

    def only(self, agencies: Iterable[Agency]) -> Keyring:
        """The keys of `agencies` alone (what a publisher of those agencies is given)."""
        wanted = set(agencies)
        return Keyring({k: s for k, s in self.keys.items() if k.agency in wanted})


# Every record names its key: a handful of ids, parsed once each.
@functools.lru_cache(maxsize=4096)
def _key_id(raw: bytes) -> KeyId:
    return KeyId.parse(raw.decode())


def generate_keyring(generation: int = 1) -> Keyring:
    """A fresh random key of `generation` for every agency in every area."""
    return Keyring(
        {
            KeyId(agency, area, generation): secrets.token_bytes(SECRET_BYTES)
            for agency in Agency
            for area in Area
        }
    )


def signature(secret: bytes, value: bytes) -> str:
    """HMAC-SHA256 of `value` under `secret`, lowercase hex."""
    return hmac.new(secret, value, hashlib.sha256).hexdigest()


def sign(keyring: Keyring, agency: Agency, area: Area, value: bytes) -> dict[str, str]:
    """The signature headers of a record `value` that `agency` publishes about `area`; WireError
    `wrong-area` when the keyring has no key for that area."""
    key_id = keyring.current(agency, area)
    return {
        KEY_ID_HEADER: _key_name(key_id),
        SIGNATURE_HEADER: signature(keyring.keys[key_id], value),
    }


# Every record a publisher sends names its key: a handful of keys, each written out once.
@functools.lru_cache(maxsize=4096)
def _key_name(key_id: KeyId) -> str:
    return str(key_id)


def verify(
    keyring: Keyring,
    value: bytes,
    headers: Mapping[str, bytes],
    *,
    publisher: Agency,
    area: Area,
) -> KeyId:
    """The key that signed `value`, checked: it is one the keyring holds, its HMAC matches the
    exact bytes, it is `publisher`'s (the topic's agency) and `area`'s (the event's
    `mappaarea`). WireError with the rejection otherwise."""
    raw_id = headers.get(KEY_ID_HEADER)
    raw_signature = headers.get(SIGNATURE_HEADER)
    if raw_id is None or raw_signature is None:
        raise WireError(
            Rejection.UNSIGNED, "headers", f"needs {KEY_ID_HEADER} and {SIGNATURE_HEADER}"
        )
    try:
        key_id = _key_id(raw_id)
    except (UnicodeDecodeError, ValueError) as error:
        raise WireError(Rejection.UNSIGNED, KEY_ID_HEADER, str(error)) from None
    secret = keyring.keys.get(key_id)
    if secret is None:
        raise WireError(Rejection.UNSIGNED, KEY_ID_HEADER, f"no key {key_id} in the keyring")
    expected = signature(secret, value).encode()
    if not hmac.compare_digest(expected, raw_signature.strip().lower()):
        raise WireError(
            Rejection.BAD_SIGNATURE,
            SIGNATURE_HEADER,
            f"does not match the value under key {key_id}",
        )
    if key_id.agency is not publisher:
        raise WireError(
            Rejection.WRONG_PUBLISHER,
            KEY_ID_HEADER,
            f"a key of {key_id.agency.value} on {publisher.value}'s topic",
        )
    if key_id.area is not area:
        raise WireError(
            Rejection.WRONG_AREA,
            "mappaarea",
            f"an event of {area.value} signed with {key_id.area.value}'s key",
        )
    return key_id
