"""Which hosts and origins the HTTP apps answer: the configured names, checked."""

from __future__ import annotations

import pytest

from mappa_bus.web.hosts import LOOPBACK, allowed_hosts, host_allowed, origin_allowed


def test_hosts_are_read_from_comma_separated_text_lower_cased() -> None:
    """The setting's text gives the names, whatever their case and spacing."""
    assert allowed_hosts(" Mappa.Example.org , [::1],*.gov.uk") == (
        "mappa.example.org",
        "[::1]",
        "*.gov.uk",
    )


@pytest.mark.parametrize(
    ("entry", "why"),
    [
        ("mappa.example.org:8001", "without a port"),
        ("[::1", "ends with ']'"),
        ("https://mappa.example.org", "not a host name"),
        ("mappa.*.org", "not a host name"),
        (" , ", "at least one"),
    ],
)
def test_an_entry_that_is_no_host_name_is_refused_naming_it(entry: str, why: str) -> None:
    """A mistyped setting stops the server at start, saying which entry and why."""
    with pytest.raises(ValueError, match=why):
        allowed_hosts(entry)


@pytest.mark.parametrize(
    ("host", "allowed"),
    [
        ("localhost", True),
        ("LOCALHOST", True),
        ("[::1]", True),
        ("127.0.0.2", False),
        ("attacker.example", False),
        ("localhost.attacker.example", False),
    ],
)
def test_loopback_is_answered_by_its_names_only(host: str, allowed: bool) -> None:
    """The default answers this machine's loopback names and nothing a rebinding could use."""
    assert host_allowed(host, LOOPBACK) is allowed


def test_a_wildcard_allows_subdomains_not_lookalikes() -> None:
    """`*.gov.uk` allows `mappa.gov.uk`, not `evilgov.uk`."""
    hosts = allowed_hosts("*.gov.uk")
    assert host_allowed("mappa.gov.uk", hosts)
    assert not host_allowed("evilgov.uk", hosts)


@pytest.mark.parametrize(
    ("origin", "allowed"),
    [
        ("http://127.0.0.1:8001", True),
        ("https://localhost", True),
        ("http://[::1]:8001", True),
        ("http://attacker.example:8001", False),
        ("null", False),
        ("file://localhost", False),
        ("http://127.0.0.1:port", False),
        ("http://user@127.0.0.1", False),
    ],
)
def test_an_origin_is_allowed_only_as_a_web_page_of_an_allowed_host(
    origin: str, allowed: bool
) -> None:
    """Any port, HTTP or HTTPS; never an opaque (`null`) or non-web origin."""
    assert origin_allowed(origin, LOOPBACK) is allowed
