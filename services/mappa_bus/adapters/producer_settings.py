"""How the bus produces: the settings every publisher uses, chosen on purpose.

- `acks="all"` and the idempotent producer: an event the broker acknowledged is on every
  in-sync replica, and a retried send is never written twice.
- `linger_ms` and a large `max_batch_size`: agency feeds arrive in bursts, and a batch of a few
  hundred small JSON events costs the broker one request instead of hundreds.
- lz4 compression: CloudEvents JSON repeats its attribute names in every event and compresses
  to about a fifth; lz4 costs the least CPU of Kafka's codecs (measured in
  benchmarks/publish.py).
"""

from __future__ import annotations

from typing import Any

PRODUCER_OPTIONS: dict[str, Any] = {
    "acks": "all",
    "enable_idempotence": True,
    "linger_ms": 5,
    "max_batch_size": 512 * 1024,
    "compression_type": "lz4",
    "request_timeout_ms": 30_000,
}
