"""Which hosts and origins an HTTP app of the bus answers: the names, checked (no I/O here,
so the settings can check them without loading a web framework)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Final
from urllib.parse import urlsplit

LOOPBACK: Final = ("127.0.0.1", "localhost", "[::1]")
"""The hosts answered unless configured otherwise: this machine, by any of its loopback names."""


def allowed_hosts(entries: str | Iterable[str]) -> tuple[str, ...]:
    """The host names in `entries` (comma-separated text, or a list), lower-cased and checked.

    An entry is a name (`mappa.example.org`), an IPv4 address, an IPv6 address in brackets
    (`[::1]`), a wildcard for subdomains (`*.example.org`), or `*` for any host (never
    advisable). No port: every port of an allowed host is allowed.
    """
    items = entries.split(",") if isinstance(entries, str) else list(entries)
    hosts = tuple(entry.strip().lower() for entry in items if entry.strip())
    if not hosts:
        raise ValueError("allowed hosts: give at least one host name")
    for host in hosts:
        _check_entry(host)
    return hosts


def _check_entry(host: str) -> None:
    if host == "*":
        return
    name = host[2:] if host.startswith("*.") else host
    if not name or "*" in name or "/" in name or "@" in name:
        raise ValueError(f"allowed hosts: {host!r} is not a host name (e.g. localhost, *.gov.uk)")
    if name.startswith("["):
        if not name.endswith("]"):
            raise ValueError(f"allowed hosts: {host!r}: an IPv6 address ends with ']'")
        return
    if ":" in name:
        raise ValueError(
            f"allowed hosts: {host!r}: give the name without a port (IPv6 in brackets)"
        )


def host_allowed(host: str, hosts: Sequence[str]) -> bool:
    """Whether host name `host` (no port; IPv6 in brackets) is one of `hosts`."""
    host = host.lower()
    return any(
        pattern == "*"
        or host == pattern
        or (pattern.startswith("*.") and host.endswith(pattern[1:]))
        for pattern in hosts
    )


def origin_allowed(origin: str, hosts: Sequence[str]) -> bool:
    """Whether `origin` (an `Origin` header: scheme, host, maybe port) is a page of an allowed
    host, over HTTP or HTTPS. `null` (a sandboxed or local page) is not."""
    try:
        parts = urlsplit(origin)
        parts.port  # noqa: B018 - a port that is no number raises here
    except ValueError:
        return False
    name = parts.hostname
    if parts.scheme not in ("http", "https") or not name or parts.path or parts.username:
        return False
    return host_allowed(f"[{name}]" if ":" in name else name, hosts)
