"""aiokafka's zstd record batches decompressed with a context kept for the thread (issue 17).

aiokafka decompresses each zstd batch through cramjam, which makes a decompression context for
every call: about 17 us for a batch of one or two records, whatever its size. The agencies'
systems send as things happen, so most batches on the bus are that small, and a catch-up of a
history published day by day paid about 9 us an event for it, nearly half of what issue 17's
50,000 events a second leaves for an event (docs/benchmarks.md). python-zstandard with a
context kept for the thread does the same in about 2 us.

A frame it cannot read alone (more than one frame in a batch, a truncated one) goes to
aiokafka's own decoder, so what it accepts and refuses is unchanged. `install` puts the decoder
where aiokafka's record batches (its compiled ones and their pure-Python twins) look it up.
"""

from __future__ import annotations

import importlib
import threading

import zstandard
from aiokafka import codec

# Where aiokafka's record batches find their zstd decoder: the compiled module first.
_BATCH_MODULES = ("aiokafka.record._crecords.default_records", "aiokafka.record.default_records")

_local = threading.local()
_installed: list[str] | None = None


def decode(payload: bytes) -> bytes:
    """The bytes of the zstd frame `payload` (one frame, as a Kafka record batch holds)."""
    decompressor: zstandard.ZstdDecompressor | None = getattr(_local, "decompressor", None)
    if decompressor is None:
        decompressor = _local.decompressor = zstandard.ZstdDecompressor()
    stream = decompressor.decompressobj()
    data = stream.decompress(payload)
    if not stream.eof or stream.unused_data:
        whole: bytes = codec.zstd_decode(payload)
        return whole
    return data


def install() -> list[str]:
    """Make aiokafka's record batches decompress zstd through `decode` (once a process); the
    modules changed (none when this aiokafka no longer looks the decoder up where it did: it
    then decompresses as it always did, and a test says so)."""
    global _installed
    if _installed is not None:
        return _installed
    installed = []
    for name in _BATCH_MODULES:
        try:
            module = importlib.import_module(name)
        except ImportError:
            continue
        if hasattr(module, "zstd_decode"):
            module.zstd_decode = decode  # type: ignore[attr-defined]
            installed.append(name)
    _installed = installed
    return installed
