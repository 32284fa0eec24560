"""Agency feeds onto the real broker: good lines on the agency topic, bad ones dead-lettered."""

import asyncio
import json
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer
from typer.testing import CliRunner, Result

from mappa_bus.adapters.cli import EXIT_BAD_FEED, EXIT_USAGE
from mappa_bus.adapters.feed_publish import publish_feed
from mappa_bus.adapters.publisher import AgencyPublisher
from mappa_bus.agencies import Agency
from mappa_bus.catalogue import Area, Rejection, WireError, parse_event, to_wire
from mappa_bus.catalogue.examples import example_event
from mappa_bus.catalogue.police import ShpoMade
from mappa_bus.catalogue.probation import LicenceBreached, RecallIssued
from mappa_bus.catalogue.wire import OVERSIZED_KEPT_BYTES
from mappa_bus.cli import app
from mappa_bus.connection import KafkaConnection
from mappa_bus.kafka_admin import ensure_acls, ensure_topics
from mappa_bus.keyring import write_keyring
from mappa_bus.log_reader import read_to_end
from mappa_bus.principals import acl_bindings
from mappa_bus.signing import KeyId, Keyring
from mappa_bus.topics import (
    ALL_TOPICS,
    DEAD_LETTER,
    TopicSpec,
    agency_topic,
    agency_topic_specs,
    dead_letter_topic,
)
from tests.conftest import BrokerUnderTest
from tests.every_consumer import catch_up_every_consumer
from tests.keys import KEYRING

pytestmark = pytest.mark.kafka

GOOD = {
    "type": "recall-issued",
    "case_id": "KEN-000001",
    "area": "kent",
    "time": "2021-01-13T16:05:00+00:00",
    "issued_on": "2021-01-13",
    "recall_type": "standard",
}


async def _drain(
    kafka: KafkaConnection, topic: str, count: int, wanted: Callable[[Any], bool] = bool
) -> list[Any]:
    """The first `count` records of `topic` that are `wanted` (every one, by default)."""
    consumer = AIOKafkaConsumer(topic, auto_offset_reset="earliest", **kafka.aiokafka_options())
    await consumer.start()
    records: list[Any] = []
    try:
        async with asyncio.timeout(30):
            while len(records) < count:
                batch = await consumer.getmany(timeout_ms=500)
                records += [r for part in batch.values() for r in part if wanted(r)]
    finally:
        await consumer.stop()
    return records


def _headers(record: Any) -> dict[str, str]:
    return {name: value.decode() for name, value in record.headers}


PublishCli = Callable[..., Awaitable[Result]]


@pytest.fixture
async def publish_cli(
    kafka: KafkaConnection, kafka_broker: BrokerUnderTest, monkeypatch: pytest.MonkeyPatch
) -> PublishCli:
    """`mappa publish ARGS...` run as police's principal against the session's broker, whose
    `mappa` topics exist (as `mappa topics create` makes them)."""
    await ensure_topics(kafka, ALL_TOPICS)
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", kafka.bootstrap_servers)
    monkeypatch.setenv("MAPPA_KAFKA_CREDENTIALS", "")
    if kafka_broker.credentials is not None:
        await ensure_acls(kafka, acl_bindings())
        monkeypatch.setenv("MAPPA_KAFKA_USERNAME", "police")
        monkeypatch.setenv("MAPPA_KAFKA_PASSWORD", kafka_broker.credentials.password("police"))
    runner = CliRunner(env={"COLUMNS": "200"})

    async def run(*args: str) -> Result:
        return await asyncio.to_thread(runner.invoke, app, ["publish", *args])

    return run


@pytest.mark.parametrize("workers", [0, 2], ids=["one-process", "two-workers"])
async def test_a_feed_publishes_good_lines_and_dead_letters_bad_ones(
    kafka: KafkaConnection, unique: str, tmp_path: Path, workers: int
) -> None:
    """Two good lines reach probation's topic; the bad line reaches the dead-letter topic with
    its reason, rejection kind and line: read in this process or by two worker processes."""
    namespace, dead = f"test-{unique}", f"test.dead.{unique}"
    await ensure_topics(kafka, [*agency_topic_specs(namespace), TopicSpec(dead, 1, "test")])
    feed = tmp_path / "recalls.jsonl"
    bad = {**GOOD, "recall_type": "eventually"}
    feed.write_text("\n".join(json.dumps(r) for r in [GOOD, bad, {**GOOD, "case_id": "KEN-2"}]))

    outcome = await publish_feed(
        kafka,
        feed,
        Agency.PROBATION,
        system="ndelius",
        namespace=namespace,
        dead_letter_topic=dead,
        show_progress=False,
        workers=workers,
    )

    published = await _drain(kafka, agency_topic(Agency.PROBATION, namespace), 2)
    [dead_letter] = await _drain(kafka, dead, 1)
    headers = {name: value.decode() for name, value in dead_letter.headers}
    assert (outcome.accepted, [r.line for r in outcome.rejected]) == (2, [2])
    assert sorted(parse_event(r.value).case_id for r in published) == ["KEN-000001", "KEN-2"]
    assert json.loads(dead_letter.value) == bad
    assert headers == {
        "mappa-reason": "recall_type: must be 'fixed-term', 'standard' or 'emergency'",
        "mappa-rejection": "invalid-data",
        "mappa-source": "recalls.jsonl:2",
        "mappa-agency": "probation",
    }


async def test_cloudevents_lines_land_as_their_own_bytes_and_every_consumer_folds_them(
    kafka: KafkaConnection,
    kafka_as: Callable[[str], KafkaConnection],
    namespace: str,
    unique: str,
    tmp_path: Path,
) -> None:
    """A probation feed of whole CloudEvents (as the bus writes them; with other spacing and
    key order; with an extension attribute) and a flat record, published as probation: each
    CloudEvents line is on the topic as its own bytes, and the picture, reporting and alerts
    consumers fold all four events, dead-lettering nothing."""
    cases = [f"KEN-{unique}-{n}" for n in range(4)]

    def line(model: Any, case: str) -> dict[str, Any]:
        event = example_event(model).model_copy(update={"subject": case, "id": f"{case}-e"})
        decoded: dict[str, Any] = json.loads(to_wire(event))
        return decoded

    lines = [
        to_wire(example_event(LicenceBreached).model_copy(update={"subject": cases[0]})),
        json.dumps(line(RecallIssued, cases[1]), sort_keys=True).encode(),
        json.dumps({"traceparent": "00-ab-cd-01", **line(LicenceBreached, cases[2])}).encode(),
    ]
    flat = json.dumps({**GOOD, "case_id": cases[3]}).encode()
    feed = tmp_path / "probation.jsonl"
    feed.write_bytes(b"\n".join([*lines, flat]) + b"\n")

    outcome = await publish_feed(
        kafka_as("probation"),
        feed,
        Agency.PROBATION,
        system="ndelius",
        namespace=namespace,
        dead_letter_topic=dead_letter_topic(namespace),
        show_progress=False,
        keyring=KEYRING,
    )
    consumed = await catch_up_every_consumer(
        kafka, kafka_as, namespace, f"sqlite:///{tmp_path / 'store.db'}"
    )

    topic = agency_topic(Agency.PROBATION, namespace)
    values = [record.value async for batch in read_to_end(kafka, [topic]) for record in batch]
    by_case = {parse_event(value).case_id: value for value in values}
    assert (outcome.accepted, outcome.rejected, outcome.unsent) == (4, [], [])
    assert [by_case[case] for case in cases[:3]] == lines
    assert by_case[cases[3]] == to_wire(parse_event(by_case[cases[3]]))
    assert consumed.letters == []
    assert sorted(consumed.pictures.stored_pictures()) == cases
    assert sorted(consumed.raised.stored_pictures()) == cases
    assert {parse_event(value).id for value in values} <= consumed.facts.seen


async def test_the_sdk_refuses_another_agencys_event_before_sending(
    kafka: KafkaConnection, namespace: str
) -> None:
    """A probation publisher cannot send a police order: refused in the SDK, nothing sent."""
    await ensure_topics(kafka, agency_topic_specs(namespace))
    publisher = AgencyPublisher(kafka, Agency.PROBATION, system="ndelius", namespace=namespace)
    async with publisher:
        with pytest.raises(WireError) as refused:
            await publisher.publish(
                ShpoMade(made_on="2021-01-01", interim=False, foreign_travel_restriction=False),
                case_id="KEN-1",
                area=Area.KENT,
                time=datetime(2021, 1, 1, tzinfo=UTC),
            )
    assert refused.value.kind == Rejection.WRONG_PUBLISHER
    assert publisher.summary.accepted == 0


async def test_the_cli_reports_each_rejected_line_and_exits_1(
    publish_cli: PublishCli, unique: str, tmp_path: Path
) -> None:
    """`mappa publish`, as the police principal, prints a summary with each bad line's number
    and reason, and exits 1."""
    feed = tmp_path / "orders.csv"
    feed.write_text(
        "type,case_id,area,time,made_on,interim,foreign_travel_restriction\n"
        f"shpo-made,KEN-{unique},kent,2021-02-01,2021-02-01,false,false\n"
        f"shpo-made,KEN-{unique},atlantis,2021-02-01,2021-02-01,false,false\n"
    )

    result = await publish_cli("--agency", "police", str(feed))

    rows = [line for line in result.output.splitlines() if "area: must be" in line]
    assert result.exit_code == 1, result.output
    assert [row.split("│")[1].strip() for row in rows] == ["3"]


async def test_a_line_of_an_area_the_publisher_holds_no_key_for_is_wrong_area(
    publish_cli: PublishCli,
    kafka: KafkaConnection,
    unique: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Kent Police, holding only its Kent key: a London line is dead-lettered `wrong-area`
    with its line number, the Kent lines around it are published signed, and it exits 1."""
    keys = tmp_path / "kent-police.json"
    kent = KeyId(Agency.POLICE, Area.KENT)
    write_keyring(keys, Keyring({kent: KEYRING.keys[kent]}))
    monkeypatch.setenv("MAPPA_SIGNING_KEYS", str(keys))
    feed = tmp_path / f"orders-{unique}.jsonl"
    lines = [
        _order(f"KEN-{unique}-1"),
        _order(f"LON-{unique}", "london"),
        _order(f"KEN-{unique}-2"),
    ]
    feed.write_bytes(b"\n".join(lines) + b"\n")

    result = await publish_cli("--agency", "police", str(feed))

    [letter] = await _drain(
        kafka, DEAD_LETTER.name, 1, lambda r: _headers(r).get("mappa-source") == f"{feed.name}:2"
    )
    published = await _drain(
        kafka, agency_topic(Agency.POLICE), 2, lambda r: unique.encode() in (r.key or b"")
    )
    assert result.exit_code == 1, result.output
    assert _headers(letter)["mappa-rejection"] == "wrong-area"
    assert "no key of police for area london" in result.output
    assert sorted(r.key for r in published) == [f"KEN-{unique}-{n}".encode() for n in (1, 2)]
    assert {_headers(r)["mappa-key-id"] for r in published} == {"police/kent/1"}


def _order(case_id: str, area: str = "kent") -> bytes:
    """A valid police feed line for `case_id` in `area`."""
    line = {
        "type": "shpo-made",
        "case_id": case_id,
        "area": area,
        "time": "2021-02-01",
        "made_on": "2021-02-01",
        "interim": False,
        "foreign_travel_restriction": False,
    }
    return json.dumps(line).encode()


async def _oversized_letters(kafka: KafkaConnection, feed: Path, count: int) -> list[Any]:
    def ours(record: Any) -> bool:
        return _headers(record).get("mappa-source", "").startswith(f"{feed.name}:")

    return await _drain(kafka, DEAD_LETTER.name, count, ours)


@pytest.mark.parametrize("workers", ["0", "2"], ids=["one-process", "two-workers"])
async def test_an_oversized_line_mid_feed_is_dead_lettered_and_the_feed_goes_on(
    publish_cli: PublishCli, kafka: KafkaConnection, unique: str, tmp_path: Path, workers: str
) -> None:
    """Junk, a 1.5 MB line, a good line, a 100 KB line, a good line: both long lines are
    dead-lettered as `oversized`, truncated with their size; the good lines are published;
    the summary lists the rejections and the command exits 1 (`--workers`: read in this
    process, or by two others)."""
    feed = tmp_path / f"orders-{unique}.jsonl"
    huge, large = b"x" * 1_500_000, b'{"a": "' + b"y" * 100_000 + b'"}'
    lines = [b"junk", huge, _order(f"KEN-{unique}-1"), large, _order(f"KEN-{unique}-2")]
    feed.write_bytes(b"\n".join(lines) + b"\n")

    result = await publish_cli("--agency", "police", "--workers", workers, str(feed))

    letters = await _oversized_letters(kafka, feed, 3)
    published = await _drain(
        kafka, agency_topic(Agency.POLICE), 2, lambda r: unique.encode() in (r.key or b"")
    )
    assert result.exit_code == 1, result.output
    assert sorted(_headers(r)["mappa-source"] for r in letters) == [
        f"{feed.name}:1",
        f"{feed.name}:2",
        f"{feed.name}:4",
    ]
    sizes = {
        _headers(r)["mappa-source"]: (_headers(r).get("mappa-size"), len(r.value)) for r in letters
    }
    assert sizes[f"{feed.name}:2"] == (str(len(huge)), OVERSIZED_KEPT_BYTES)
    assert sizes[f"{feed.name}:4"] == (str(len(large)), OVERSIZED_KEPT_BYTES)
    assert sorted(r.key for r in published) == [f"KEN-{unique}-{n}".encode() for n in (1, 2)]
    assert "1500000 bytes, more than 65536" in result.output
    assert "100009 bytes, more than 65536" in result.output


async def test_a_50_mb_line_is_counted_not_held_and_dead_lettered(
    publish_cli: PublishCli, kafka: KafkaConnection, unique: str, tmp_path: Path
) -> None:
    """A 50 MB line between two good lines: the good lines are published and the long one is
    dead-lettered with its size; exit 1."""
    feed = tmp_path / f"orders-{unique}.jsonl"
    size = 50 * 1024 * 1024
    with feed.open("wb") as out:
        out.write(_order(f"KEN-{unique}-1") + b"\n")
        out.write(b'{"pad": "' + b"p" * (size - 11) + b'"}\n')
        out.write(_order(f"KEN-{unique}-2") + b"\n")

    result = await publish_cli("--agency", "police", str(feed))

    [letter] = await _oversized_letters(kafka, feed, 1)
    published = await _drain(
        kafka, agency_topic(Agency.POLICE), 2, lambda r: unique.encode() in (r.key or b"")
    )
    assert result.exit_code == 1, result.output
    assert (_headers(letter)["mappa-rejection"], _headers(letter)["mappa-size"]) == (
        "oversized",
        str(size),
    )
    assert len(published) == 2


async def test_a_csv_feed_saved_with_a_byte_order_mark_is_published(
    publish_cli: PublishCli, kafka: KafkaConnection, unique: str, tmp_path: Path
) -> None:
    """A BOM before the header is not part of the first column's name: the line is published
    and the command exits 0."""
    feed = tmp_path / "orders.csv"
    feed.write_bytes(
        b"\xef\xbb\xbftype,case_id,area,time,made_on,interim,foreign_travel_restriction\r\n"
        + f"shpo-made,KEN-{unique},kent,2021-02-01,2021-02-01,false,false\r\n".encode()
    )

    result = await publish_cli("--agency", "police", str(feed))

    [record] = await _drain(
        kafka, agency_topic(Agency.POLICE), 1, lambda r: r.key == f"KEN-{unique}".encode()
    )
    assert result.exit_code == 0, result.output
    assert parse_event(record.value).case_id == f"KEN-{unique}"


async def test_a_bad_header_refuses_the_feed_once_naming_the_columns(
    publish_cli: PublishCli, tmp_path: Path
) -> None:
    """Unknown and missing columns are one error, not one per line; nothing is published and
    the command exits 65."""
    feed = tmp_path / "orders.csv"
    rows = "".join(f"shpo-made,KEN-{n},red,2021-02-01,false\n" for n in range(5))
    feed.write_text(f"type,case_id,colour,made_on,interim\n{rows}")

    result = await publish_cli("--agency", "police", str(feed))

    assert result.exit_code == EXIT_BAD_FEED, result.output
    # Rich wraps at the terminal's width, which differs between runners: compare words.
    said = " ".join(result.output.split())
    assert said.count("header:") == 1
    assert "unknown columns 'colour'; missing columns 'area', 'time'" in said
    assert "nothing published" in said


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--agency", "police", "{dir}"], "is a directory"),
        (["--agency", "police", "{dir}/absent.jsonl"], "no such file"),
        (["--agency", "nobody", "{dir}/absent.jsonl"], "'nobody' is not one of"),
        (["--agency", "police", "--type", "sro-made-up", "{dir}/orders.jsonl"], "unknown event"),
        (["--frobnicate"], "No such option"),
    ],
)
async def test_usage_errors_have_their_own_exit_code(
    publish_cli: PublishCli, tmp_path: Path, args: list[str], says: str
) -> None:
    """A directory, a missing file, an unknown agency or type, an unknown option: exit 64,
    apart from the broker's 2, with what is wrong."""
    (tmp_path / "orders.jsonl").write_bytes(_order("KEN-1"))

    result = await publish_cli(*(arg.format(dir=tmp_path) for arg in args))

    assert result.exit_code == EXIT_USAGE, result.output
    assert says in " ".join(result.output.split())


async def test_an_empty_feed_says_so_and_publishes_nothing(
    publish_cli: PublishCli, tmp_path: Path
) -> None:
    """An empty file is not an error, but the command says it held no events."""
    feed = tmp_path / "orders.jsonl"
    feed.write_bytes(b"")

    result = await publish_cli("--agency", "police", str(feed))

    assert result.exit_code == 0, result.output
    assert "orders.jsonl: no events in the feed; nothing published" in " ".join(
        result.output.split()
    )
