#!/usr/bin/env python3
"""Check that a Kafka broker really answers: send one Metadata request and read the reply.

Standard library only, so it runs before any project dependency is installed.

It sends Metadata v4 (request header v1, ``topics`` = null meaning all topics, no topic
auto-creation). Kafka 4.x removed many old protocol versions (KIP-896) but still serves
Metadata v0-v13; v4 is the newest version without the "flexible" (tagged-field) encoding, which
keeps this parser short. The reply must carry our correlation id and list at least one broker.

Prints e.g. ``broker 1 at 127.0.0.1:9092, cluster MkU3OEVBNTcwNTJENDM2Qk`` and exits 0;
otherwise prints the reason on stderr and exits 1.
"""

from __future__ import annotations

import argparse
import os
import socket
import struct
import sys
from dataclasses import dataclass

API_KEY_METADATA = 3
METADATA_VERSION = 4
CLIENT_ID = b"mappa-bus-kafka-ping"
MAX_RESPONSE_BYTES = 16 * 1024 * 1024


class PingError(Exception):
    """The peer did not give a usable Metadata answer."""


@dataclass(frozen=True)
class Broker:
    node_id: int
    host: str
    port: int


@dataclass(frozen=True)
class Metadata:
    brokers: tuple[Broker, ...]
    cluster_id: str | None
    controller_id: int


def build_request(correlation_id: int) -> bytes:
    """Size-prefixed Metadata v4 request with a v1 request header."""
    header = struct.pack(
        ">hhih", API_KEY_METADATA, METADATA_VERSION, correlation_id, len(CLIENT_ID)
    )
    # topics: null array (-1) = all topics; allow_auto_topic_creation = false.
    body = struct.pack(">i?", -1, False)
    payload = header + CLIENT_ID + body
    return struct.pack(">i", len(payload)) + payload


class _Reader:
    """Reads big-endian Kafka primitives from a byte string."""

    def __init__(self, data: bytes) -> None:
        self._data = data
        self._pos = 0

    def _take(self, size: int) -> bytes:
        end = self._pos + size
        if size < 0 or end > len(self._data):
            raise PingError("truncated Metadata response")
        chunk = self._data[self._pos : end]
        self._pos = end
        return chunk

    def int32(self) -> int:
        value: int = struct.unpack(">i", self._take(4))[0]
        return value

    def nullable_string(self) -> str | None:
        (length,) = struct.unpack(">h", self._take(2))
        if length < 0:
            return None
        return self._take(length).decode("utf-8")

    def string(self) -> str:
        value = self.nullable_string()
        if value is None:
            raise PingError("unexpected null string in Metadata response")
        return value


def parse_response(data: bytes, correlation_id: int) -> Metadata:
    """Parse a Metadata v4 response (header v0), up to the controller id."""
    reader = _Reader(data)
    got = reader.int32()
    if got != correlation_id:
        raise PingError(f"correlation id mismatch: sent {correlation_id}, got {got}")
    reader.int32()  # throttle_time_ms
    count = reader.int32()
    if count < 0:
        raise PingError("null broker list in Metadata response")
    brokers = []
    for _ in range(count):
        node_id = reader.int32()
        host = reader.string()
        port = reader.int32()
        reader.nullable_string()  # rack
        brokers.append(Broker(node_id, host, port))
    cluster_id = reader.nullable_string()
    controller_id = reader.int32()
    return Metadata(tuple(brokers), cluster_id, controller_id)


def _recv_exact(sock: socket.socket, size: int) -> bytes:
    data = bytearray()
    while len(data) < size:
        chunk = sock.recv(min(size - len(data), 65536))
        if not chunk:
            raise PingError(f"connection closed after {len(data)} of {size} bytes")
        data += chunk
    return bytes(data)


def ping(host: str, port: int, timeout: float) -> Metadata:
    """Send one Metadata request; ``timeout`` bounds the connect and each read."""
    correlation_id = os.getpid() & 0x7FFFFFFF
    with socket.create_connection((host, port), timeout=timeout) as sock:
        sock.sendall(build_request(correlation_id))
        (size,) = struct.unpack(">i", _recv_exact(sock, 4))
        if not 0 < size <= MAX_RESPONSE_BYTES:
            raise PingError(f"implausible response size {size}: not a Kafka broker?")
        return parse_response(_recv_exact(sock, size), correlation_id)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--host", default="127.0.0.1", help="broker host (default: %(default)s)")
    parser.add_argument("--port", type=int, default=9092, help="broker port (default: %(default)s)")
    parser.add_argument(
        "--timeout", type=float, default=5.0, help="seconds per network step (default: %(default)s)"
    )
    args = parser.parse_args(argv)

    where = f"{args.host}:{args.port}"
    try:
        metadata = ping(args.host, args.port, args.timeout)
    except (OSError, PingError) as exc:
        reason = str(exc) or type(exc).__name__
        print(f"kafka_ping: no Kafka answer from {where}: {reason}", file=sys.stderr)
        return 1
    if not metadata.brokers:
        print(f"kafka_ping: {where} answered but lists no broker (not ready yet?)", file=sys.stderr)
        return 1
    listed = ", ".join(f"broker {b.node_id} at {b.host}:{b.port}" for b in metadata.brokers)
    print(f"{listed}, cluster {metadata.cluster_id}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
