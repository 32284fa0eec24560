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
