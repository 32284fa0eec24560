"""The trust boundary as data: who may write, read and join what."""

import re
from pathlib import Path

from mappa_bus.agencies import Agency
from mappa_bus.catalogue import Area
from mappa_bus.principals import (
    ADMIN,
    PRINCIPALS,
    SUBSCRIBERS,
    Operation,
    PatternType,
    ResourceType,
    Role,
    acl_bindings,
    group_prefix,
)
from mappa_bus.topics import (
    ALL_TOPICS,
    NAMESPACE,
    acknowledgements_topic,
    agency_topic,
    alerts_topic,
    bus_topic_specs,
    dead_letter_topic,
    erasures_topic,
    record_topic,
)

KAFKA_LOCAL = Path(__file__).resolve().parents[2] / "deploy" / "kafka" / "kafka-local"
BINDINGS = acl_bindings()
AGENCY_TOPICS = {agency_topic(agency) for agency in Agency}


def _topics(principal: str, operation: Operation) -> set[str]:
    return {
        b.resource_name
        for b in BINDINGS
        if b.principal == principal
        and b.resource_type is ResourceType.TOPIC
        and b.operation is operation
    }


def _groups(principal: str) -> set[tuple[str, PatternType, Operation]]:
    return {
        (b.resource_name, b.pattern_type, b.operation)
        for b in BINDINGS
        if b.principal == principal and b.resource_type is ResourceType.GROUP
    }


def test_each_agency_writes_only_its_own_topic_and_the_dead_letters() -> None:
    """The publishing agency is the topic: police writes police's topic, no other agency's."""
    for agency in Agency:
        assert _topics(agency, Operation.WRITE) == {agency_topic(agency), dead_letter_topic()}
        assert _topics(agency, Operation.DESCRIBE) == {agency_topic(agency)}
        assert _topics(agency, Operation.READ) == set()
        assert _groups(agency) == set()


def test_only_its_own_agency_writes_an_agency_topic() -> None:
    """No role, and no other agency, may write an agency topic."""
    for agency in Agency:
        writers = {
            b.principal
            for b in BINDINGS
            if b.resource_name == agency_topic(agency) and b.operation is Operation.WRITE
        }
        assert writers == {agency.value}


def test_subscribers_read_every_agency_topic_in_their_own_groups_and_write_none() -> None:
    """Case picture, reporting and alerts read all agency topics, the sealed record and the
    erasures, each in its own groups (and the alerts service its own topic back, nothing else)."""
    for role in SUBSCRIBERS:
        own = {alerts_topic()} if role is Role.ALERTS else set()
        expected = AGENCY_TOPICS | {record_topic(), erasures_topic()} | own
        assert _topics(role, Operation.READ) == expected
        assert _topics(role, Operation.WRITE) & AGENCY_TOPICS == set()
        assert _groups(role) == {(group_prefix(role), PatternType.PREFIXED, Operation.READ)}


def test_only_the_alerts_service_raises_alerts_and_only_coordinators_read_them() -> None:
    """The alerts topic has one writer, which reads back only what it wrote, and one reader
    role; no one else is named on it."""
    named = {b.principal for b in BINDINGS if b.resource_name == alerts_topic()}
    readers = {
        b.principal
        for b in BINDINGS
        if b.resource_name == alerts_topic() and b.operation is Operation.READ
    }
    assert _topics(Role.ALERTS, Operation.WRITE) == {alerts_topic(), dead_letter_topic()}
    assert (named, readers) == ({Role.ALERTS, Role.COORDINATOR}, {Role.ALERTS, Role.COORDINATOR})


def test_the_coordinator_reads_alerts_and_nothing_of_the_record() -> None:
    """Coordinators see alerts, acknowledgements and erasures (to stop showing an erased case's
    alerts), never an agency topic, and write only their acknowledgements."""
    acknowledgements = acknowledgements_topic()
    assert _topics(Role.COORDINATOR, Operation.READ) == {
        alerts_topic(),
        acknowledgements,
        erasures_topic(),
    }
    assert _topics(Role.COORDINATOR, Operation.WRITE) == {acknowledgements}
    assert _groups(Role.COORDINATOR) == {
        (group_prefix(Role.COORDINATOR), PatternType.PREFIXED, Operation.READ)
    }


def test_only_the_erasure_principal_writes_erasures_and_reads_nothing() -> None:
    """A case's erasure comes only from `mappa erase` (its own principal), which reads no
    topic and joins no group; no agency or service may forge one."""
    writers = {
        b.principal
        for b in BINDINGS
        if b.resource_name == erasures_topic() and b.operation is Operation.WRITE
    }
    assert (writers, _topics(Role.ERASURE, Operation.READ), _groups(Role.ERASURE)) == (
        {Role.ERASURE.value},
        set(),
        set(),
    )


def test_nobody_reads_the_dead_letters_but_the_super_user() -> None:
    """Rejected input may hold anything: only the administrator reads it back."""
    assert {b for b in BINDINGS if b.resource_name == dead_letter_topic()} == {
        b
        for b in BINDINGS
        if b.resource_name == dead_letter_topic() and b.operation is Operation.WRITE
    }


def test_the_super_user_needs_no_acl_and_every_acl_names_a_known_principal() -> None:
    """`admin` is a super user on the broker; every ACL is for a principal that exists."""
    assert ADMIN not in {b.principal for b in BINDINGS}
    assert {b.principal for b in BINDINGS} == set(PRINCIPALS) - {ADMIN}


def test_acls_name_only_their_own_namespace() -> None:
    """A test namespace's ACLs touch only its own topics and groups, never `mappa`'s."""
    namespace = "test-abc"
    topics = {spec.name for spec in bus_topic_specs(namespace)}

    for binding in acl_bindings(namespace):
        if binding.resource_type is ResourceType.TOPIC:
            assert binding.resource_name in topics
        else:
            assert binding.resource_name.startswith(f"{namespace}-")


def test_every_topic_an_acl_names_is_created_by_mappa_topics_create() -> None:
    """No ACL points at a topic the bus never creates."""
    names = {spec.name for spec in ALL_TOPICS}

    assert {b.resource_name for b in BINDINGS if b.resource_type is ResourceType.TOPIC} <= names


def test_bindings_are_literal_topics_and_prefixed_groups() -> None:
    """A topic ACL names one topic exactly; a group ACL a role's prefix."""
    assert {(b.resource_type, b.pattern_type) for b in BINDINGS} == {
        (ResourceType.TOPIC, PatternType.LITERAL),
        (ResourceType.GROUP, PatternType.PREFIXED),
    }
    assert tuple(sorted(set(BINDINGS))) == BINDINGS


def test_principal_names_are_safe_everywhere_they_go() -> None:
    """Names become SCRAM user names, JAAS entries and env-var suffixes: lowercase and '-'."""
    assert len(set(PRINCIPALS)) == len(PRINCIPALS)
    assert all(re.fullmatch(r"[a-z][a-z-]*[a-z]", name) for name in PRINCIPALS)
    assert group_prefix(Role.PICTURE) == f"{NAMESPACE}-picture"


def test_the_local_broker_script_seeds_exactly_these_principals() -> None:
    """kafka-local keeps its own copy of the list (it runs before the project is installed)."""
    script = KAFKA_LOCAL.read_text()
    match = re.search(r"readonly -a PRINCIPALS=\((.*?)\)", script, re.DOTALL)

    assert match
    assert tuple(match.group(1).split()) == PRINCIPALS


def test_the_local_broker_script_keys_every_agency_in_every_area() -> None:
    """kafka-local's own lists of agencies and areas, for its signing keyring, are the
    project's."""
    script = KAFKA_LOCAL.read_text()
    agencies = re.search(r"readonly -a AGENCIES=\((.*?)\)", script, re.DOTALL)
    areas = re.search(r"readonly -a AREAS=\((.*?)\)", script, re.DOTALL)

    assert agencies
    assert areas
    assert agencies.group(1).split() == [agency.value for agency in Agency]
    assert areas.group(1).split() == [area.value for area in Area]


def test_only_the_intake_writes_the_sealed_record_and_deletes_from_agency_topics() -> None:
    """The intake reads every agency topic, deletes what it copied, writes the sealed record
    (and dead letters), and nobody else writes the record or deletes anything."""
    record_writers = {
        b.principal
        for b in BINDINGS
        if b.resource_name == record_topic() and b.operation is Operation.WRITE
    }
    deleters = {b.principal for b in BINDINGS if b.operation is Operation.DELETE}
    assert (record_writers, deleters) == ({Role.INTAKE.value}, {Role.INTAKE.value})
    assert _topics(Role.INTAKE, Operation.READ) == AGENCY_TOPICS
    assert _topics(Role.INTAKE, Operation.DELETE) == AGENCY_TOPICS
    assert _topics(Role.INTAKE, Operation.WRITE) == {record_topic(), dead_letter_topic()}
    assert _groups(Role.INTAKE) == {
        (group_prefix(Role.INTAKE), PatternType.PREFIXED, Operation.READ)
    }
