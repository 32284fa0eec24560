"""The topic catalogue: what the bus creates, and why."""

from mappa_bus.agencies import Agency
from mappa_bus.topics import (
    AGENCY_PARTITIONS,
    ALL_TOPICS,
    DEAD_LETTER,
    acknowledgements_spec,
    agency_topic,
    agency_topic_specs,
    alerts_spec,
    bus_topic_specs,
    record_spec,
)


def test_every_agency_publishes_on_a_topic_of_its_own() -> None:
    """Each agency has exactly one topic, and no two agencies share one."""
    names = {agency_topic(agency) for agency in Agency}

    assert len(names) == len(Agency)
    assert names <= {spec.name for spec in ALL_TOPICS}


def test_agency_topics_are_the_record_and_keep_everything() -> None:
    """Agency topics never expire data and stamp arrival with the broker's clock."""
    by_name = {spec.name: spec for spec in ALL_TOPICS}

    for agency in Agency:
        config = by_name[agency_topic(agency)].config
        assert (config["retention.ms"], config["retention.bytes"]) == ("-1", "-1")
        assert config["message.timestamp.type"] == "LogAppendTime"


def test_alerts_and_acknowledgements_are_stamped_with_the_broker_clock() -> None:
    """The board keeps the first acknowledgement by record time: the broker's, never claimed."""
    for spec in (alerts_spec(), acknowledgements_spec()):
        assert spec.config["message.timestamp.type"] == "LogAppendTime"


def test_dead_letters_are_kept_so_nothing_is_dropped_silently() -> None:
    """Rejected input is kept indefinitely, like the record it was refused from."""
    assert DEAD_LETTER.config["retention.ms"] == "-1"


def test_topic_names_are_unique() -> None:
    """One place for each topic: no name is listed twice."""
    names = [spec.name for spec in ALL_TOPICS]

    assert len(names) == len(set(names))


def test_the_sealed_record_is_kept_for_ever_on_the_agency_topics_partitions() -> None:
    """`mappa.record` keeps everything, has as many partitions as an agency topic (a case on
    the same partition number), and keeps the time the intake gives each record."""
    spec = record_spec()
    assert (spec.name, spec.partitions) == ("mappa.record", AGENCY_PARTITIONS)
    assert (spec.config["retention.ms"], spec.config["message.timestamp.type"]) == (
        "-1",
        "CreateTime",
    )
    assert spec in ALL_TOPICS


def test_in_sealed_mode_the_agency_topics_are_a_seven_day_ingress() -> None:
    """Sealed, every agency topic keeps at most seven days; otherwise, for ever."""
    week = str(7 * 24 * 60 * 60 * 1000)
    sealed = {spec.config["retention.ms"] for spec in agency_topic_specs(sealed=True)}
    kept = {spec.config["retention.ms"] for spec in agency_topic_specs()}
    assert (sealed, kept) == ({week}, {"-1"})


def test_in_sealed_mode_the_dead_letters_are_kept_a_month() -> None:
    """Sealed, the dead-letter topic (refused agency records, in the clear) keeps thirty days,
    and only it and the agency topics change; otherwise, for ever."""
    month = str(30 * 24 * 60 * 60 * 1000)
    sealed = {spec.name: spec for spec in bus_topic_specs(sealed=True)}
    ingress = {spec.name: spec for spec in bus_topic_specs()}
    changed = sorted(name for name, spec in sealed.items() if spec != ingress[name])
    assert sealed["mappa.dead-letter"].config["retention.ms"] == month
    assert ingress["mappa.dead-letter"].config["retention.ms"] == "-1"
    assert changed == sorted(["mappa.dead-letter", *(s.name for s in agency_topic_specs())])
