"""The signing keys of a test run: one random key per agency and area, as kafka-local makes,
held by every publisher and consumer the tests start (conftest points MAPPA_SIGNING_KEYS and
MAPPA_VERIFY_KEYS at a file of them)."""

from __future__ import annotations

from typing import Any

from mappa_bus.catalogue import Envelope, WireError, parse_event
from mappa_bus.signing import generate_keyring, sign

KEYRING = generate_keyring()


def signed(value: bytes, event: Envelope[Any]) -> dict[str, str]:
    """The signature headers of `value` as `event`'s publisher in `event`'s area sends it."""
    return sign(KEYRING, event.publisher, event.mappaarea, value)


def kafka_headers(value: bytes, event: Envelope[Any]) -> list[tuple[str, bytes]]:
    """As `signed`, as a Kafka client takes headers."""
    return [(name, text.encode()) for name, text in signed(value, event).items()]


def headers_of(value: bytes) -> list[tuple[str, bytes]]:
    """The headers a producer holding every key would send with `value`: signed as its event's
    publisher in its area when it reads as an event, none when it does not (junk stays junk)."""
    try:
        event = parse_event(value)
    except WireError:
        return []
    return kafka_headers(value, event)
