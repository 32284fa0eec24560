"""What checking one record costs a consumer, per record, beside the per-record budget of the
target (50,000 events/s per consumer process: 20 us for everything).

Measures, on one typical event's exact bytes: the parse every consumer already does; the
placement check of issue 15 (murmur2 of the key, with and without the cache); and the two
candidate ways to bind a publisher to its areas (docs/decisions/0001-area-bound-publishers.md):
HMAC-SHA256 with a per agency-area key, and an Ed25519 signature; and the crypto-shredding of
the sealed record (docs/decisions/0002-erasure-reaching-the-log.md): sealing a record under its
case's key at the intake, and opening it in every projection (AES-256-GCM, the key from the key
store's cache).

    .venv/bin/python -m benchmarks.record_checks
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import tempfile
import timeit
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

from aiokafka.partitioner import murmur2
from rich.console import Console
from rich.table import Table

from benchmarks.common import machine
from mappa_bus.catalogue import Envelope, EventData, parse_event, to_wire
from mappa_bus.catalogue.examples import example_event
from mappa_bus.catalogue.probation import LicenceConditionsSet
from mappa_bus.kafka_codec import partition_of
from mappa_bus.keystore import open_key_store, write_key_encryption_key
from mappa_bus.projection.sealed import SealedRecords
from mappa_bus.sealing import read_sealed, seal_record, unseal
from mappa_bus.signing import KeyId, generate_keyring, sign, verify

TARGET_PER_SECOND = 50_000
BUDGET_US = 1_000_000 / TARGET_PER_SECOND


@dataclass(frozen=True)
class Cost:
    """One check's median cost per record."""

    what: str
    micros: float


def per_record(check: Callable[[], object], number: int = 20_000, repeat: int = 7) -> float:
    """The median microseconds of one call of `check`, over `repeat` runs of `number` calls."""
    runs = timeit.repeat(check, number=number, repeat=repeat)
    return sorted(runs)[len(runs) // 2] / number * 1_000_000


def costs() -> list[Cost]:
    """Every check measured on the same event."""
    value = to_wire(example_event(LicenceConditionsSet))
    key = example_event(LicenceConditionsSet).case_id.encode()
    secret = secrets.token_bytes(32)
    tag = hmac.digest(secret, value, hashlib.sha256)

    def verify_hmac() -> bool:
        return hmac.compare_digest(hmac.digest(secret, value, hashlib.sha256), tag)

    # The bus's own signing (mappa_bus.signing), key lookup and header parsing included.
    event = example_event(LicenceConditionsSet)
    keyring = generate_keyring()
    headers = {
        name: text.encode()
        for name, text in sign(keyring, event.publisher, event.mappaarea, value).items()
    }

    def verify_record() -> KeyId:
        return verify(keyring, value, headers, publisher=event.publisher, area=event.mappaarea)

    measured = [
        Cost(
            f"parse_event ({len(value)} bytes), for scale", per_record(lambda: parse_event(value))
        ),
        Cost("partition: murmur2 of the key", per_record(lambda: murmur2(key))),
        Cost("partition: murmur2, cached (partition_of)", per_record(lambda: partition_of(key))),
        Cost("HMAC-SHA256 sign", per_record(lambda: hmac.digest(secret, value, hashlib.sha256))),
        Cost("HMAC-SHA256 verify (constant-time compare)", per_record(verify_hmac)),
        Cost(
            "signing.sign, as the SDK signs",
            per_record(lambda: sign(keyring, event.publisher, event.mappaarea, value)),
        ),
        Cost("signing.verify, as read_event checks", per_record(verify_record)),
    ]
    return measured + _ed25519(value) + _sealing(event, value)


def _sealing(event: Envelope[EventData], value: bytes) -> list[Cost]:
    """Sealing at the intake and opening in a projection, the case key already cached."""
    with tempfile.TemporaryDirectory() as directory:
        write_key_encryption_key(Path(directory) / "kek")
        keys = open_key_store(f"sqlite:///{directory}/keys.db", Path(directory) / "kek")
        cipher = keys.key_for(event.case_id)
        sealed_value = seal_record(cipher, event, value)
        sealed = read_sealed(sealed_value)
        record = SimpleNamespace(value=sealed_value)
        opener = SealedRecords(keys)
        costs = [
            Cost("key store: case key, cached", per_record(lambda: keys.key_for(event.case_id))),
            Cost(
                "sealing.seal_record, as the intake seals",
                per_record(lambda: seal_record(cipher, event, value)),
            ),
            Cost(
                "AES-256-GCM open alone",
                per_record(lambda: unseal(cipher, sealed.sealed, sealed.aad())),
            ),
            Cost(
                "SealedRecords.open, as a projection reads (parse included)",
                per_record(lambda: opener.open(record)),
            ),
        ]
        keys.engine.dispose()
    return costs


def _ed25519(value: bytes) -> list[Cost]:
    try:
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    except ImportError:
        return []
    private = Ed25519PrivateKey.generate()
    public = private.public_key()
    signature = private.sign(value)
    return [
        Cost("Ed25519 sign", per_record(lambda: private.sign(value), number=2_000)),
        Cost("Ed25519 verify", per_record(lambda: public.verify(signature, value), number=2_000)),
    ]


def main() -> None:
    """Print the table."""
    table = Table(
        title=f"Per-record checks (budget at {TARGET_PER_SECOND:,} events/s: {BUDGET_US:.0f} us)",
        caption=machine(),
    )
    for column in ("check", "us/record", "records/s alone", "share of the budget"):
        table.add_column(column, justify="left" if column == "check" else "right")
    for cost in costs():
        table.add_row(
            cost.what,
            f"{cost.micros:.2f}",
            f"{1_000_000 / cost.micros:,.0f}",
            f"{cost.micros / BUDGET_US:.0%}",
        )
    Console().print(table)


if __name__ == "__main__":
    main()
