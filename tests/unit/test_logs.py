"""Logging: JSON lines with the context bound to them, and never personal details."""

import json
import logging

import pytest
import structlog

from mappa_bus.logs import REDACTED, configure_logging, redact_sensitive


def test_redaction_blanks_fields_that_may_hold_personal_data() -> None:
    """Values under sensitive names are replaced; identifiers pass through."""
    event = {"event": "x", "case_id": "C-1", "name": "Jane Example", "payload": {"a": 1}}

    assert redact_sensitive(None, "info", event) == {
        "event": "x",
        "case_id": "C-1",
        "name": REDACTED,
        "payload": REDACTED,
    }


def test_json_lines_carry_event_and_case_id(capsys: pytest.CaptureFixture[str]) -> None:
    """A line logged with an event's identity bound names it, and hides the payload."""
    configure_logging("json", "INFO")
    log = structlog.get_logger("test")

    with structlog.contextvars.bound_contextvars(
        event_id="E-1", case_id="C-9", topic="t", partition=2, offset=7
    ):
        log.info("handled", payload="date of birth 01/01/1970")
    log.info("after")

    first, second = (json.loads(line) for line in capsys.readouterr().err.splitlines())
    assert (first["event_id"], first["case_id"], first["partition"], first["offset"]) == (
        "E-1",
        "C-9",
        2,
        7,
    )
    assert first["payload"] == REDACTED
    assert "event_id" not in second


def test_filtering_level_drops_lower_lines(capsys: pytest.CaptureFixture[str]) -> None:
    """At WARNING, info lines are not written at all."""
    configure_logging("json", "WARNING")

    structlog.get_logger("test").info("quiet")

    assert capsys.readouterr().err == ""


def test_standard_library_loggers_come_out_as_json_too(capsys: pytest.CaptureFixture[str]) -> None:
    """aiokafka's stdlib log lines are rendered by the same pipeline, context and redaction."""
    configure_logging("json", "INFO")

    with structlog.contextvars.bound_contextvars(
        event_id="E-2", case_id="C-3", topic="t", partition=0, offset=1
    ):
        logging.getLogger("aiokafka.test").warning("retrying")

    line = json.loads(capsys.readouterr().err)
    assert (line["event"], line["logger"], line["level"], line["case_id"]) == (
        "retrying",
        "aiokafka.test",
        "warning",
        "C-3",
    )


def test_a_consumers_partition_set_is_summarised_not_listed(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A field listing 60 partitions of 10 topics is logged as that count, on a short line."""
    configure_logging("json", "INFO")
    assigned = [f"mappa.agency-{t}.events/{p}" for t in range(10) for p in range(6)]

    structlog.get_logger("test").info("partitions assigned", partitions=assigned)

    output = capsys.readouterr().err
    assert json.loads(output)["partitions"] == "60 partitions of 10 topics"
    assert len(output) < 300


def test_a_library_message_naming_every_partition_is_summarised(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """aiokafka's and FastStream's "assigned to partitions: (TopicPartition(...), ...)" text
    keeps its words and loses the list."""
    configure_logging("json", "INFO")
    listed = ", ".join(
        f"TopicPartition(topic='mappa.t{t}.events', partition={p})"
        for t in range(10)
        for p in range(6)
    )

    logging.getLogger("aiokafka.test").warning("Consumer c-1 assigned to partitions: (%s)", listed)

    line = json.loads(capsys.readouterr().err)
    assert line["event"] == "Consumer c-1 assigned to partitions: 60 partitions of 10 topics"


def test_any_other_long_text_is_cut_and_says_how_much(capsys: pytest.CaptureFixture[str]) -> None:
    """No log line runs to kilobytes: long text is cut and says how many characters went."""
    configure_logging("json", "INFO")

    structlog.get_logger("test").info("x" * 5000)

    line = json.loads(capsys.readouterr().err)
    assert line["event"].endswith("... (4000 more characters)")
    assert len(line["event"]) < 1100


def test_no_group_coordinator_yet_is_not_an_error(capsys: pytest.CaptureFixture[str]) -> None:
    """aiokafka's ERROR for a group coordinator not elected yet (every first start) is not
    written at the default level; a real aiokafka error still is."""
    configure_logging("json", "INFO")
    coordinator = logging.getLogger("aiokafka.consumer.group_coordinator")

    coordinator.error(
        "Group Coordinator Request failed: %s", "[Error 15] GroupCoordinatorNotAvailableError"
    )
    coordinator.error("Error sending JoinGroupRequest_v5")

    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    assert [(line["event"], line["level"]) for line in lines] == [
        ("Error sending JoinGroupRequest_v5", "error")
    ]


def test_a_command_for_people_logs_readable_lines_even_into_a_file(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A command's log lines (stderr not a terminal) are not JSON when it is for people."""
    configure_logging("auto", "INFO", for_people=True)

    structlog.get_logger("test").warning("broker slow")

    output = capsys.readouterr().err
    assert "broker slow" in output
    assert not output.lstrip().startswith("{")
