"""The bus's own events (alerts, acknowledgements, statistics) share one CloudEvent form: the
same attributes, repeatable ids, and one shape on the wire."""

from __future__ import annotations

import json
from datetime import date

from mappa_bus.alerts.model import AlertAcknowledged, AlertRaised
from mappa_bus.catalogue.bus_event import BUS_EVENT_HEADERS, BusEvent
from mappa_bus.reporting.publication import StatisticsPublished, statistics_event
from mappa_bus.reporting.tables import kent_2020_21
from tests.unit.test_alert_subscription import make_ack, make_alert


def test_every_bus_event_is_a_cloudevent_of_one_form() -> None:
    """Alerts, acknowledgements and statistics carry the CloudEvents attributes, and their
    records the structured-mode content type."""
    alert = make_alert()
    events: list[BusEvent] = [alert, make_ack(alert), statistics_event("kent", kent_2020_21(), 1)]
    for event in events:
        value = json.loads(event.kafka_value())
        assert value["specversion"] == "1.0"
        assert value["datacontenttype"] == "application/json"
        assert {"id", "source", "type", "time", "subject", "data"} <= value.keys()
    assert BUS_EVENT_HEADERS == {"content-type": "application/cloudevents+json; charset=UTF-8"}


def test_each_kind_keys_its_records_as_its_readers_need() -> None:
    """Alerts and acknowledgements are keyed by area (a coordinator's in order), statistics by
    their subject."""
    alert = make_alert()
    assert alert.kafka_key == b"kent"
    assert make_ack(alert).kafka_key == b"kent"
    assert statistics_event("england-and-wales", kent_2020_21(), 2).kafka_key == (
        b"england-and-wales"
    )


def test_a_bus_event_reads_back_as_it_was_written() -> None:
    """What goes on the wire parses back to the same event."""
    alert = make_alert()
    statistics = statistics_event("kent", kent_2020_21(), 1)
    assert AlertRaised.model_validate_json(alert.kafka_value()) == alert
    ack = make_ack(alert)
    assert AlertAcknowledged.model_validate_json(ack.kafka_value()) == ack
    back = StatisticsPublished.model_validate_json(statistics.kafka_value())
    assert back.id == statistics.id
    assert back.data.year_start == date(2020, 4, 1)
