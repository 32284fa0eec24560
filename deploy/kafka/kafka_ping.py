#!/usr/bin/env python3
"""Check that a Kafka broker really answers: send one Metadata request and read the reply.

Standard library only, so it runs before any project dependency is installed.

It sends Metadata v4 (request header v1, ``topics`` = null meaning all topics, no topic
auto-creation). Kafka 4.x removed many old protocol versions (KIP-896) but still serves
Metadata v0-v13; v4 is the newest version without the "flexible" (tagged-field) encoding, which
keeps this parser short. The reply must carry our correlation id and list at least one broker.

On a SASL listener a broker answers nothing before the client has authenticated, so with
``--credentials`` (the local broker's ``credentials.json``) it first authenticates as
``--principal`` (default ``admin``) with SCRAM-SHA-256 or -512: SaslHandshake v1, then the SCRAM
exchange of RFC 5802 in two SaslAuthenticate v1 requests, checking the server's signature too.

Prints e.g. ``broker 1 at 127.0.0.1:9092, cluster MkU3OEVBNTcwNTJENDM2Qk`` and exits 0;
otherwise prints the reason on stderr and exits 1, or 2 when the broker refused the credentials.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import json
import os
import secrets
import socket
import struct
import sys
from dataclasses import dataclass, field
from pathlib import Path

API_KEY_METADATA = 3
METADATA_VERSION = 4
API_KEY_SASL_HANDSHAKE = 17
API_KEY_SASL_AUTHENTICATE = 36
SASL_VERSION = 1  # SaslHandshake v1 and SaslAuthenticate v1: both served by Kafka 1.0 to 4.x
CLIENT_ID = b"mappa-bus-kafka-ping"
MAX_RESPONSE_BYTES = 16 * 1024 * 1024
SCRAM_HASHES = {"SCRAM-SHA-256": "sha256", "SCRAM-SHA-512": "sha512"}
EXIT_NO_ANSWER = 1
EXIT_REFUSED = 2


class PingError(Exception):
    """The peer did not give a usable Metadata answer."""


class AuthenticationRefused(PingError):
    """The broker answered, and refused the credentials."""


@dataclass(frozen=True)
class Credentials:
    """A SASL/SCRAM principal to authenticate as."""

    username: str
    password: str = field(repr=False)
    mechanism: str = "SCRAM-SHA-256"

    @classmethod
    def from_file(cls, path: Path, principal: str) -> Credentials:
        """Read `principal` from a kafka-local credentials.json."""
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
            password = document["principals"][principal]
            mechanism = document.get("mechanism", "SCRAM-SHA-256")
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise PingError(f"no password for {principal!r} in {path}: {exc!r}") from exc
        if mechanism not in SCRAM_HASHES:
            raise PingError(f"unsupported mechanism {mechanism!r} in {path}")
        return cls(principal, str(password), mechanism)


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


def _frame(api_key: int, version: int, correlation_id: int, body: bytes) -> bytes:
    """A size-prefixed request with a v1 request header (api key, version, id, client id)."""
    header = struct.pack(">hhih", api_key, version, correlation_id, len(CLIENT_ID)) + CLIENT_ID
    payload = header + body
    return struct.pack(">i", len(payload)) + payload


def build_request(correlation_id: int) -> bytes:
    """Size-prefixed Metadata v4 request with a v1 request header."""
    # topics: null array (-1) = all topics; allow_auto_topic_creation = false.
    return _frame(API_KEY_METADATA, METADATA_VERSION, correlation_id, struct.pack(">i?", -1, False))


def _string(value: str) -> bytes:
    data = value.encode("utf-8")
    return struct.pack(">h", len(data)) + data


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

    def int16(self) -> int:
        value: int = struct.unpack(">h", self._take(2))[0]
        return value

    def int32(self) -> int:
        value: int = struct.unpack(">i", self._take(4))[0]
        return value

    def bytes_(self) -> bytes:
        length = self.int32()
        return b"" if length < 0 else self._take(length)

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


def _exchange(sock: socket.socket, request: bytes) -> bytes:
    """Send one framed request and return the response after its size prefix."""
    sock.sendall(request)
    (size,) = struct.unpack(">i", _recv_exact(sock, 4))
    if not 0 < size <= MAX_RESPONSE_BYTES:
        raise PingError(f"implausible response size {size}: not a Kafka broker?")
    return _recv_exact(sock, size)


class _Scram:
    """The client side of one SCRAM exchange (RFC 5802; no channel binding, as Kafka uses it)."""

    def __init__(self, credentials: Credentials) -> None:
        self._hash = SCRAM_HASHES[credentials.mechanism]
        self._password = credentials.password.encode("utf-8")
        name = credentials.username.replace("=", "=3D").replace(",", "=2C")
        self._client_nonce = base64.b64encode(secrets.token_bytes(24)).decode("ascii")
        self._client_first_bare = f"n={name},r={self._client_nonce}"
        self._server_signature = b""

    def first(self) -> bytes:
        return f"n,,{self._client_first_bare}".encode()

    def final(self, server_first: bytes) -> bytes:
        text = server_first.decode("utf-8")
        fields = dict(item.split("=", 1) for item in text.split(",") if "=" in item)
        if "e" in fields:
            raise AuthenticationRefused(f"SCRAM error from broker: {fields['e']}")
        try:
            nonce, salt, iterations = fields["r"], base64.b64decode(fields["s"]), int(fields["i"])
        except (KeyError, ValueError) as exc:
            raise PingError(f"malformed SCRAM server-first message: {text!r}") from exc
        if not nonce.startswith(self._client_nonce):
            raise PingError("SCRAM server nonce does not extend ours")
        salted = hashlib.pbkdf2_hmac(self._hash, self._password, salt, iterations)
        client_key = self._hmac(salted, b"Client Key")
        stored_key = hashlib.new(self._hash, client_key).digest()
        without_proof = f"c=biws,r={nonce}"  # biws = base64("n,,"): no channel binding
        auth_message = f"{self._client_first_bare},{text},{without_proof}".encode()
        signature = self._hmac(stored_key, auth_message)
        proof = bytes(a ^ b for a, b in zip(client_key, signature, strict=True))
        self._server_signature = self._hmac(self._hmac(salted, b"Server Key"), auth_message)
        return f"{without_proof},p={base64.b64encode(proof).decode('ascii')}".encode()

    def check(self, server_final: bytes) -> None:
        text = server_final.decode("utf-8")
        if text.startswith("e="):
            raise AuthenticationRefused(f"SCRAM error from broker: {text[2:]}")
        if not text.startswith("v=") or not hmac.compare_digest(
            base64.b64decode(text[2:]), self._server_signature
        ):
            raise PingError("the broker's SCRAM signature is wrong: not the broker we set up?")

    def _hmac(self, key: bytes, message: bytes) -> bytes:
        return hmac.new(key, message, self._hash).digest()


def authenticate(sock: socket.socket, credentials: Credentials, correlation_id: int) -> int:
    """SaslHandshake then SCRAM over SaslAuthenticate; return the next correlation id."""
    reader = _Reader(
        _exchange(
            sock,
            _frame(
                API_KEY_SASL_HANDSHAKE,
                SASL_VERSION,
                correlation_id,
                _string(credentials.mechanism),
            ),
        )
    )
    _expect_correlation(reader, correlation_id)
    error = reader.int16()
    enabled = [reader.string() for _ in range(max(reader.int32(), 0))]
    if error:
        raise PingError(
            f"SaslHandshake for {credentials.mechanism} refused (Kafka error {error}); "
            f"the listener offers {enabled or 'no SASL mechanism'}"
        )
    scram = _Scram(credentials)
    server_first = _sasl_authenticate(sock, scram.first(), correlation_id + 1)
    server_final = _sasl_authenticate(sock, scram.final(server_first), correlation_id + 2)
    scram.check(server_final)
    return correlation_id + 3


def _sasl_authenticate(sock: socket.socket, token: bytes, correlation_id: int) -> bytes:
    body = struct.pack(">i", len(token)) + token
    reader = _Reader(
        _exchange(sock, _frame(API_KEY_SASL_AUTHENTICATE, SASL_VERSION, correlation_id, body))
    )
    _expect_correlation(reader, correlation_id)
    error = reader.int16()
    message = reader.nullable_string()
    auth_bytes = reader.bytes_()
    if error:
        raise AuthenticationRefused(f"{message or 'authentication failed'} (Kafka error {error})")
    return auth_bytes


def _expect_correlation(reader: _Reader, correlation_id: int) -> None:
    got = reader.int32()
    if got != correlation_id:
        raise PingError(f"correlation id mismatch: sent {correlation_id}, got {got}")


def ping(host: str, port: int, timeout: float, credentials: Credentials | None = None) -> Metadata:
    """Send one Metadata request (authenticating first when given credentials).

    ``timeout`` bounds the connect and each read.
    """
    correlation_id = os.getpid() & 0x3FFFFFFF
    with socket.create_connection((host, port), timeout=timeout) as sock:
        if credentials is not None:
            correlation_id = authenticate(sock, credentials, correlation_id)
        return parse_response(_exchange(sock, build_request(correlation_id)), correlation_id)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--host", default="127.0.0.1", help="broker host (default: %(default)s)")
    parser.add_argument("--port", type=int, default=9092, help="broker port (default: %(default)s)")
    parser.add_argument(
        "--timeout", type=float, default=5.0, help="seconds per network step (default: %(default)s)"
    )
    parser.add_argument(
        "--credentials",
        type=Path,
        help="a kafka-local credentials.json: authenticate with SASL/SCRAM first",
    )
    parser.add_argument(
        "--principal", default="admin", help="who to authenticate as (default: %(default)s)"
    )
    args = parser.parse_args(argv)

    where = f"{args.host}:{args.port}"
    try:
        credentials = (
            Credentials.from_file(args.credentials, args.principal) if args.credentials else None
        )
        metadata = ping(args.host, args.port, args.timeout, credentials)
    except AuthenticationRefused as exc:
        print(f"kafka_ping: {where} refused {args.principal!r}: {exc}", file=sys.stderr)
        return EXIT_REFUSED
    except (OSError, PingError) as exc:
        reason = str(exc) or type(exc).__name__
        print(f"kafka_ping: no Kafka answer from {where}: {reason}", file=sys.stderr)
        return EXIT_NO_ANSWER
    if not metadata.brokers:
        print(f"kafka_ping: {where} answered but lists no broker (not ready yet?)", file=sys.stderr)
        return EXIT_NO_ANSWER
    listed = ", ".join(f"broker {b.node_id} at {b.host}:{b.port}" for b in metadata.brokers)
    print(f"{listed}, cluster {metadata.cluster_id}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
