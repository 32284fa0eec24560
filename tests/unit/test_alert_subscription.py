"""The coordinators' SDK without a broker: which alerts a filter lets through, how a repeat and
a bad record are recognised, and the command line's reading of areas and filters."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
import typer
from structlog.testing import capture_logs

from mappa_bus.access.policy import ViewerRole
from mappa_bus.alerts.cli import alert_filter, alert_line, parse_area
from mappa_bus.alerts.model import (
    AlertAcknowledged,
    AlertData,
    AlertRaised,
    Severity,
    acknowledgement,
    raised,
)
from mappa_bus.alerts.subscription import ANY, AlertFilter, Seen, Start, check_group, decode
from mappa_bus.catalogue import Area
from mappa_bus.catalogue.vocabulary import Category, Level

RAISED_AT = datetime(2024, 5, 1, 9, 30, tzinfo=UTC)
SECRET_SUMMARY = "Released from HMP Elmley today; lives near the school"


def make_alert(
    trigger: str = "event-1",
    *,
    rule: str = "released-from-custody",
    area: Area = Area.KENT,
    level: Level | None = Level.THREE,
    category: Category | None = Category.VIOLENT_OFFENDER,
    severity: Severity = Severity.URGENT,
    case_id: str = "case-1",
    at: datetime = RAISED_AT,
    audience: tuple[ViewerRole, ...] = (ViewerRole.COORDINATOR,),
) -> AlertRaised:
    """An alert as the alerts service raises it (its id derived from rule and trigger)."""
    data = AlertData(
        rule=rule,
        severity=severity,
        audience=audience,
        case_id=case_id,
        area=area,
        level=level,
        category=category,
        summary=SECRET_SUMMARY,
        trigger_event_id=trigger,
    )
    return raised(data, trigger, at)


def make_ack(alert: AlertRaised, by: str = "c.kent", minutes: int = 5) -> AlertAcknowledged:
    """`by` acknowledging `alert` some minutes after it was raised."""
    return acknowledgement(alert, by=by, at=alert.time + timedelta(minutes=minutes))


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        (ANY, True),
        (AlertFilter(areas=frozenset({Area.KENT})), True),
        (AlertFilter(areas=frozenset({Area.LANCASHIRE, Area.ESSEX})), False),
        (AlertFilter(min_level=Level.TWO), True),
        (AlertFilter(min_level=Level.THREE), True),
        (AlertFilter(categories=frozenset({Category.VIOLENT_OFFENDER})), True),
        (AlertFilter(categories=frozenset({Category.REGISTERED_SEX_OFFENDER})), False),
        (AlertFilter(rules=frozenset({"released-from-custody", "breach"})), True),
        (AlertFilter(rules=frozenset({"breach"})), False),
        (
            AlertFilter(
                areas=frozenset({Area.KENT}),
                min_level=Level.THREE,
                categories=frozenset({Category.VIOLENT_OFFENDER}),
                rules=frozenset({"released-from-custody"}),
            ),
            True,
        ),
    ],
)
def test_a_filter_lets_through_what_every_given_field_allows(
    where: AlertFilter, expected: bool
) -> None:
    """Kent, level 3, category 2, released from custody: each field narrows, none widens."""
    assert where.matches(make_alert()) is expected


def test_a_level_below_the_minimum_is_filtered_out() -> None:
    """min_level is inclusive: a level 1 case is not wanted from level 2 up."""
    where = AlertFilter(min_level=Level.TWO)
    assert where.matches(make_alert(level=Level.TWO))
    assert not where.matches(make_alert(level=Level.ONE))


def test_an_alert_of_unknown_level_or_category_passes_those_filters() -> None:
    """A case not yet screened is shown rather than hidden: missing an alert costs more."""
    where = AlertFilter(min_level=Level.THREE, categories=frozenset({Category.VIOLENT_OFFENDER}))
    assert where.matches(make_alert(level=None, category=None))


def test_acknowledgements_are_wanted_by_their_alerts_area() -> None:
    """An acknowledgement carries only its alert's area; the rest of a filter cannot apply."""
    kent_ack = make_ack(make_alert(area=Area.KENT))
    where = AlertFilter(areas=frozenset({Area.KENT}), rules=frozenset({"other-rule"}))
    assert where.wants(kent_ack)
    assert not AlertFilter(areas=frozenset({Area.ESSEX})).wants(kent_ack)
    assert not where.wants(make_alert())


def test_seen_recognises_a_repeat_and_forgets_the_oldest_past_its_capacity() -> None:
    """A repeat is False; memory stays bounded, so only the most recent ids are remembered."""
    seen = Seen(capacity=2)
    assert [seen.first(i) for i in ("a", "b", "a", "c")] == [True, True, False, True]
    # "b" was the least recently met when "c" came, so it is forgotten; "a" is not.
    assert (seen.first("a"), seen.first("b")) == (False, True)


def test_the_same_alert_raised_twice_has_one_id() -> None:
    """The alerts service raising it again makes the same event, which readers keep once."""
    assert make_alert().id == make_alert(at=RAISED_AT + timedelta(hours=1)).id
    assert make_alert().id != make_alert("event-2").id


@dataclass(frozen=True)
class FakeRecord:
    """As much of an aiokafka record as decoding reads."""

    value: bytes | None
    topic: str = "test.alerts"
    partition: int = 1
    offset: int = 42


def test_a_good_record_decodes_to_its_event() -> None:
    alert = make_alert()
    assert decode(FakeRecord(alert.model_dump_json().encode()), AlertRaised) == alert


@pytest.mark.parametrize(
    "value",
    [
        None,
        b"\x00not json",
        b"{}",
        # A real alert, but on the wrong topic for what is read there.
        make_alert().model_dump_json().encode(),
    ],
    ids=["tombstone", "not-json", "empty-object", "alert-on-acknowledgements"],
)
def test_a_bad_record_is_skipped_with_where_and_why_but_not_what(value: bytes | None) -> None:
    """Skipped with a warning naming topic, partition, offset and reason; never its content."""
    with capture_logs() as logs:
        assert decode(FakeRecord(value), AlertAcknowledged) is None
    [entry] = logs
    assert entry["log_level"] == "warning"
    assert (entry["topic"], entry["partition"], entry["offset"]) == ("test.alerts", 1, 42)
    assert entry["reason"]
    assert "Elmley" not in repr(entry)


@pytest.mark.parametrize("group", ["test-ns-coordinator", "test-ns-coordinator-kent-desk"])
def test_a_coordinator_group_is_accepted(group: str) -> None:
    check_group(group, "test-ns", Start())
    check_group(None, "test-ns", Start(since=RAISED_AT))


@pytest.mark.parametrize(
    ("group", "start"),
    [
        ("test-ns-picture", Start()),
        ("mappa-coordinator", Start()),  # another namespace's
        ("test-ns-coordinator", Start(since=RAISED_AT)),  # the group's offsets would win
    ],
)
def test_a_group_the_principal_may_not_use_is_refused_before_connecting(
    group: str, start: Start
) -> None:
    with pytest.raises(ValueError, match="group"):
        check_group(group, "test-ns", start)


@pytest.mark.parametrize(
    ("text", "area"),
    [
        ("Kent", Area.KENT),
        ("kent", Area.KENT),
        ("Avon and Somerset", Area.AVON_AND_SOMERSET),
        ("avon-and-somerset", Area.AVON_AND_SOMERSET),
        ("Dyfed-Powys", Area.DYFED_POWYS),
    ],
)
def test_an_area_is_named_by_name_or_slug(text: str, area: Area) -> None:
    assert parse_area(text) == area


def test_an_unknown_area_is_a_bad_parameter() -> None:
    with pytest.raises(typer.BadParameter, match="Narnia"):
        parse_area("Narnia")


def test_the_options_make_the_filter() -> None:
    """`--area Kent --min-level 2 --category 1 --rule released-from-custody`."""
    assert alert_filter(["Kent"], 2, [1], ["released-from-custody"]) == AlertFilter(
        areas=frozenset({Area.KENT}),
        min_level=Level.TWO,
        categories=frozenset({Category.REGISTERED_SEX_OFFENDER}),
        rules=frozenset({"released-from-custody"}),
    )
    assert alert_filter(None, None, None, None) == ANY


def test_an_agency_follows_its_own_alerts_by_role() -> None:
    """`--role housing`: the alerts whose audience includes housing, not the coordinator's
    alone."""
    where = alert_filter(None, None, None, None, [ViewerRole.HOUSING])
    owned = make_alert(audience=(ViewerRole.COORDINATOR, ViewerRole.HOUSING))
    assert where == AlertFilter(roles=frozenset({ViewerRole.HOUSING}))
    assert (where.matches(owned), where.matches(make_alert())) == (True, False)
    either = AlertFilter(roles=frozenset({ViewerRole.POLICE, ViewerRole.HOUSING}))
    assert either.matches(owned)


def test_overdue_actions_is_the_action_overdue_rule_besides_any_other_asked_for() -> None:
    """`--overdue-actions` wants the action-overdue rule; with `--rule`, both rules."""
    assert alert_filter(None, None, None, None, overdue_actions=True) == AlertFilter(
        rules=frozenset({"action-overdue"})
    )
    both = alert_filter(None, None, None, ["recalled"], overdue_actions=True)
    assert both.rules == frozenset({"action-overdue", "recalled"})
    overdue = make_alert(rule="action-overdue", severity=Severity.ROUTINE)
    assert (both.matches(overdue), both.matches(make_alert())) == (True, False)


def test_an_alert_line_says_when_how_urgent_where_what_and_which_case() -> None:
    line = alert_line(make_alert())
    for part in ("URGENT", "Kent", "released-from-custody", "case-1", SECRET_SUMMARY):
        assert part in line.plain
    assert "red" in str(line.spans[1].style)
