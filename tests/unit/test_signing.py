"""Area-bound publishers: signing a record value with an agency-area key and checking it."""

import os
import re
import stat
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mappa_bus.adapters.cli import EXIT_USAGE
from mappa_bus.agencies import Agency
from mappa_bus.catalogue import Area, Rejection, WireError
from mappa_bus.cli import app
from mappa_bus.cli_common import EXIT_CONFIG
from mappa_bus.keyring import KeyringError, local_broker_keyring, read_keyring, write_keyring
from mappa_bus.settings import Settings
from mappa_bus.signing import (
    KEY_ID_HEADER,
    SIGNATURE_HEADER,
    KeyId,
    Keyring,
    generate_keyring,
    sign,
    verify,
)

VALUE = b'{"specversion":"1.0","mappaarea":"kent"}'
EVERY_KEY = generate_keyring()
KENT_POLICE = Keyring(
    {KeyId(Agency.POLICE, Area.KENT): EVERY_KEY.keys[KeyId(Agency.POLICE, Area.KENT)]}
)


def _encoded(headers: dict[str, str]) -> dict[str, bytes]:
    return {name: value.encode() for name, value in headers.items()}


def _refusal(headers: dict[str, bytes], *, publisher: Agency, area: Area) -> WireError:
    with pytest.raises(WireError) as caught:
        verify(EVERY_KEY, VALUE, headers, publisher=publisher, area=area)
    return caught.value


def test_a_key_id_reads_back_as_written_and_defaults_to_generation_one() -> None:
    """`police/kent/2` round-trips; `police/kent` is generation 1."""
    assert str(KeyId.parse("police/kent/2")) == "police/kent/2"
    assert KeyId.parse("police/kent") == KeyId(Agency.POLICE, Area.KENT, 1)


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("police", "agency/area"),
        ("sheriff/kent/1", "no agency"),
        ("police/atlantis/1", "no area"),
        ("police/kent/0", "generation"),
        ("police/kent/x", "generation"),
    ],
)
def test_a_bad_key_id_says_which_part_is_wrong(text: str, says: str) -> None:
    """A malformed key id is refused with the part that is wrong."""
    with pytest.raises(ValueError, match=says):
        KeyId.parse(text)


def test_a_record_signed_by_its_areas_publisher_verifies() -> None:
    """Kent Police's key over the exact bytes verifies as Kent Police's."""
    headers = sign(KENT_POLICE, Agency.POLICE, Area.KENT, VALUE)

    checked = verify(EVERY_KEY, VALUE, _encoded(headers), publisher=Agency.POLICE, area=Area.KENT)

    assert checked == KeyId(Agency.POLICE, Area.KENT, 1)
    assert headers[KEY_ID_HEADER] == "police/kent/1"
    assert len(headers[SIGNATURE_HEADER]) == 64


def test_a_publisher_without_the_areas_key_cannot_sign_for_it() -> None:
    """Kent Police signing a London event is refused `wrong-area` before anything is sent."""
    with pytest.raises(WireError) as caught:
        sign(KENT_POLICE, Agency.POLICE, Area.LONDON, VALUE)
    assert caught.value.kind is Rejection.WRONG_AREA
    assert caught.value.field == "mappaarea"


def test_the_newest_generation_signs_and_an_older_one_still_verifies() -> None:
    """After a rotation the publisher signs with generation 2; records of generation 1 (kept
    for ever on the log) still verify against a keyring holding both."""
    old = KeyId(Agency.POLICE, Area.KENT, 1)
    new = KeyId(Agency.POLICE, Area.KENT, 2)
    rotated = Keyring({old: EVERY_KEY.keys[old], new: os.urandom(32)})
    old_headers = sign(KENT_POLICE, Agency.POLICE, Area.KENT, VALUE)

    new_headers = sign(rotated, Agency.POLICE, Area.KENT, VALUE)

    assert new_headers[KEY_ID_HEADER] == "police/kent/2"
    for headers in (old_headers, new_headers):
        verify(rotated, VALUE, _encoded(headers), publisher=Agency.POLICE, area=Area.KENT)


def test_an_unsigned_record_or_an_unknown_key_is_unsigned() -> None:
    """No headers, or a key id the keyring lacks, is `unsigned`."""
    headers = _encoded(sign(KENT_POLICE, Agency.POLICE, Area.KENT, VALUE))
    stranger = Keyring({KeyId(Agency.POLICE, Area.LONDON): os.urandom(32)})

    assert _refusal({}, publisher=Agency.POLICE, area=Area.KENT).kind is Rejection.UNSIGNED
    with pytest.raises(WireError) as caught:
        verify(stranger, VALUE, headers, publisher=Agency.POLICE, area=Area.KENT)
    assert caught.value.kind is Rejection.UNSIGNED
    assert "police/kent/1" in str(caught.value)


def test_altered_bytes_or_a_forged_key_are_a_bad_signature() -> None:
    """One byte changed, or a signature made with a secret the signer did not hold, fails."""
    headers = _encoded(sign(KENT_POLICE, Agency.POLICE, Area.KENT, VALUE))
    forged = _encoded(
        sign(
            Keyring({KeyId(Agency.POLICE, Area.KENT): os.urandom(32)}),
            Agency.POLICE,
            Area.KENT,
            VALUE,
        )
    )

    with pytest.raises(WireError) as altered:
        verify(EVERY_KEY, VALUE + b" ", headers, publisher=Agency.POLICE, area=Area.KENT)
    assert altered.value.kind is Rejection.BAD_SIGNATURE
    assert _refusal(forged, publisher=Agency.POLICE, area=Area.KENT).kind is Rejection.BAD_SIGNATURE


def test_another_agencys_key_is_the_wrong_publisher() -> None:
    """A record on police's topic signed with probation's Kent key is `wrong-publisher`."""
    headers = _encoded(sign(EVERY_KEY, Agency.PROBATION, Area.KENT, VALUE))

    refusal = _refusal(headers, publisher=Agency.POLICE, area=Area.KENT)

    assert refusal.kind is Rejection.WRONG_PUBLISHER


def test_a_key_of_another_area_is_the_wrong_area() -> None:
    """A London event signed with Kent Police's key is `wrong-area`."""
    headers = _encoded(sign(KENT_POLICE, Agency.POLICE, Area.KENT, VALUE))

    refusal = _refusal(headers, publisher=Agency.POLICE, area=Area.LONDON)

    assert refusal.kind is Rejection.WRONG_AREA
    assert "london" in str(refusal)
    assert "kent" in str(refusal)


def test_a_short_secret_is_refused() -> None:
    """A key shorter than 32 bytes cannot make a keyring."""
    with pytest.raises(ValueError, match="32"):
        Keyring({KeyId(Agency.POLICE, Area.KENT): b"short"})


def test_a_keyring_file_is_private_and_reads_back(tmp_path: Path) -> None:
    """A written keyring is mode 0600 and holds the same keys; `only` keeps an agency's."""
    path = tmp_path / "keys" / "police.json"

    write_keyring(path, EVERY_KEY.only([Agency.POLICE]))

    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert read_keyring(path).keys == {
        key_id: secret
        for key_id, secret in EVERY_KEY.keys.items()
        if key_id.agency is Agency.POLICE
    }
    assert len(read_keyring(path).keys) == len(Area)


def test_a_bad_keyring_file_names_the_file_and_the_fault(tmp_path: Path) -> None:
    """Not JSON, no `keys`, or a bad key id: a KeyringError naming the file."""
    cases = {"a.json": "nonsense", "b.json": "{}", "c.json": '{"keys": {"nobody/kent/1": "00"}}'}
    for name, text in cases.items():
        (tmp_path / name).write_text(text)
        with pytest.raises(KeyringError, match=re.escape(name)):
            read_keyring(tmp_path / name)


def test_settings_find_the_local_brokers_keyring_or_name_the_setting(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """With nothing set, the keyring beside the local broker's credentials is used; with no
    such file, the error names MAPPA_SIGNING_KEYS (or MAPPA_VERIFY_KEYS)."""
    for name in ("MAPPA_SIGNING_KEYS", "MAPPA_VERIFY_KEYS", "KAFKA_BOOTSTRAP_SERVERS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    monkeypatch.setenv("MAPPA_KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:29092")

    with pytest.raises(KeyringError, match="MAPPA_SIGNING_KEYS"):
        Settings().signing_keyring()
    with pytest.raises(KeyringError, match="MAPPA_VERIFY_KEYS"):
        Settings().verification_keyring()

    write_keyring(local_broker_keyring(29092), EVERY_KEY)
    assert Settings().verification_keyring().keys == EVERY_KEY.keys
    monkeypatch.setenv("MAPPA_SIGNING_KEYS", str(tmp_path / "missing.json"))
    with pytest.raises(KeyringError, match=r"missing\.json"):
        Settings().signing_keyring()


def test_mappa_publish_without_signing_keys_names_the_setting(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A feed with no keyring to sign with is a usage error (64) naming MAPPA_SIGNING_KEYS,
    before anything connects."""
    monkeypatch.delenv("MAPPA_SIGNING_KEYS", raising=False)
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:1")
    feed = tmp_path / "feed.jsonl"
    feed.write_text("{}\n")

    result = CliRunner(env={"COLUMNS": "200"}).invoke(
        app, ["publish", "--agency", "police", str(feed)]
    )

    assert result.exit_code == EXIT_USAGE, result.output
    assert "MAPPA_SIGNING_KEYS" in result.output


def test_mappa_keys_generates_every_key_once_and_selects_a_publishers(tmp_path: Path) -> None:
    """`keys generate` writes 420 keys and keeps an existing file; `keys select` cuts Kent
    Police's keyring from it, and refuses an area the source has no key for."""
    every, kent = tmp_path / "every.json", tmp_path / "kent-police.json"
    runner = CliRunner()

    first = runner.invoke(app, ["keys", "generate", "--output", str(every)])
    written = every.read_text()
    again = runner.invoke(app, ["keys", "generate", "--output", str(every)])
    cut = runner.invoke(
        app, ["keys", "select", str(every), str(kent), "--agency", "police", "--area", "kent"]
    )
    write_keyring(tmp_path / "police-only.json", read_keyring(every).only([Agency.POLICE]))
    refused = runner.invoke(
        app,
        [
            "keys",
            "select",
            str(tmp_path / "police-only.json"),
            str(tmp_path / "x.json"),
            "--agency",
            "probation",
            "--area",
            "kent",
        ],
    )

    assert (first.exit_code, again.exit_code, cut.exit_code) == (0, 0, 0)
    assert every.read_text() == written
    assert len(read_keyring(every).keys) == len(Agency) * len(Area)
    assert read_keyring(kent).keys == {
        KeyId(Agency.POLICE, Area.KENT): read_keyring(every).keys[KeyId(Agency.POLICE, Area.KENT)]
    }
    assert refused.exit_code != 0
    assert "no key of probation for area kent" in refused.output


@pytest.mark.parametrize(
    "command", [["picture", "catch-up"], ["reporting", "catch-up"], ["alerts", "catch-up"]]
)
def test_a_consumer_without_a_keyring_to_verify_with_names_the_setting(
    command: list[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Each consumer's command, with no keyring to check records against, exits 78 naming
    MAPPA_VERIFY_KEYS, before it reads anything."""
    monkeypatch.delenv("MAPPA_VERIFY_KEYS", raising=False)
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:1")
    monkeypatch.setenv("MAPPA_DATABASE_URL", f"sqlite:///{tmp_path / 'store.db'}")

    result = CliRunner(env={"COLUMNS": "200"}).invoke(app, command)

    assert result.exit_code == EXIT_CONFIG, result.output
    assert "MAPPA_VERIFY_KEYS" in result.output
