"""Who may connect to the bus, and what each may do there: the trust boundary, as data.

Every client authenticates as one principal. An agency's principal may write only its own
topic (the publishing agency *is* the topic, so no agency can publish as another); subscriber
services read what their role needs; the coordinators read alerts; nobody else writes anywhere.
The broker enforces this through the ACLs `acl_bindings` lists (applied by `mappa topics create`,
see `kafka_admin.ensure_acls`), with `allow.everyone.if.no.acl.found=false` so that anything not
granted here is refused.

Pure data and functions: no Kafka client, no I/O. The wire codes of the enums below live in
`kafka_admin.py`.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from mappa_bus.agencies import Agency
from mappa_bus.topics import (
    NAMESPACE,
    acknowledgements_topic,
    agency_topic,
    alerts_topic,
    dead_letter_topic,
    erasures_topic,
    record_topic,
    statistics_topic,
)

# The broker's super user (`super.users=User:admin`): creates topics and ACLs, and is what the
# demo and the tests' set-up connect as. It needs no ACL, and must never be given to a service.
ADMIN = "admin"


class Role(StrEnum):
    """A service's principal, named for the job it does rather than for an agency."""

    PICTURE = "picture"  # folds every agency's events into the shared case picture
    REPORTING = "reporting"  # tallies every agency's events into the yearly statistics
    ALERTS = "alerts"  # watches every agency's events and raises alerts
    COORDINATOR = "coordinator"  # MAPPA coordinators: receive the alerts, nothing else
    # Copies every checked agency record, sealed, to the record (decision 0002), and deletes
    # what it copied from the agency topics.
    INTAKE = "intake"
    ERASURE = "erasure"  # `mappa erase`: publishes a case's erasure on a recorded decision


# Roles that read every agency topic.
SUBSCRIBERS: tuple[Role, ...] = (Role.PICTURE, Role.REPORTING, Role.ALERTS)


class Operation(StrEnum):
    """What a principal may do to a resource (Kafka's names for the operations used here)."""

    READ = "READ"
    WRITE = "WRITE"
    DESCRIBE = "DESCRIBE"
    # On a topic: delete records below an offset (the intake, behind what it has sealed).
    DELETE = "DELETE"


class ResourceType(StrEnum):
    """The kinds of Kafka resource that an ACL here names."""

    TOPIC = "TOPIC"
    GROUP = "GROUP"


class PatternType(StrEnum):
    """How an ACL's resource name matches: exactly, or as a prefix."""

    LITERAL = "LITERAL"
    PREFIXED = "PREFIXED"


@dataclass(frozen=True, order=True)
class AclBinding:
    """One permission: `principal` may do `operation` to the matching resource, from any host."""

    principal: str
    resource_type: ResourceType
    resource_name: str
    pattern_type: PatternType
    operation: Operation

    @property
    def kafka_principal(self) -> str:
        """The principal as Kafka names a SASL user."""
        return f"User:{self.principal}"


# Every principal the broker knows, super user first. The local broker script keeps a copy of
# this list (it has to seed SCRAM users before any Python runs); a unit test holds the two equal.
PRINCIPALS: tuple[str, ...] = (
    ADMIN,
    *(agency.value for agency in Agency),
    *(role.value for role in Role),
)


def group_prefix(role: Role, namespace: str = NAMESPACE) -> str:
    """The consumer-group prefix a role owns, e.g. `mappa-picture` (so `mappa-picture-1` too)."""
    return f"{namespace}-{role.value}"


def acl_bindings(namespace: str = NAMESPACE) -> tuple[AclBinding, ...]:
    """Every ACL of `namespace`'s topics and groups, sorted; the super user needs none."""
    bindings: set[AclBinding] = set()
    dead_letter = dead_letter_topic(namespace)
    for agency in Agency:
        own = agency_topic(agency, namespace)
        bindings |= {
            _topic(agency.value, own, Operation.WRITE),
            _topic(agency.value, own, Operation.DESCRIBE),
            # An agency's publishing tool dead-letters the lines it could not publish.
            _topic(agency.value, dead_letter, Operation.WRITE),
        }
    for role in SUBSCRIBERS:
        for agency in Agency:
            topic = agency_topic(agency, namespace)
            bindings |= {
                _topic(role, topic, Operation.READ),
                _topic(role, topic, Operation.DESCRIBE),
            }
        bindings |= {
            _group(role, namespace),
            _topic(role, dead_letter, Operation.WRITE),
            # Every projection folds the erasures (docs/decisions/0002).
            _topic(role, erasures_topic(namespace), Operation.READ),
            _topic(role, erasures_topic(namespace), Operation.DESCRIBE),
        }
    record = record_topic(namespace)
    for agency in Agency:
        topic = agency_topic(agency, namespace)
        bindings |= {
            _topic(Role.INTAKE, topic, operation)
            for operation in (Operation.READ, Operation.DESCRIBE, Operation.DELETE)
        }
    bindings |= {
        _group(Role.INTAKE, namespace),
        _topic(Role.INTAKE, dead_letter, Operation.WRITE),
        _topic(Role.INTAKE, record, Operation.WRITE),
        _topic(Role.INTAKE, record, Operation.DESCRIBE),
    }
    for role in SUBSCRIBERS:
        bindings |= {
            _topic(role, record, Operation.READ),
            _topic(role, record, Operation.DESCRIBE),
        }
    # The alerts service reads its own topic back after a crash, to publish nothing twice.
    bindings |= {
        _topic(Role.ALERTS, alerts_topic(namespace), operation)
        for operation in (Operation.WRITE, Operation.READ, Operation.DESCRIBE)
    }
    bindings.add(_topic(Role.REPORTING, statistics_topic(namespace), Operation.WRITE))
    bindings |= {
        _topic(Role.COORDINATOR, alerts_topic(namespace), Operation.READ),
        _topic(Role.COORDINATOR, alerts_topic(namespace), Operation.DESCRIBE),
        _topic(Role.COORDINATOR, acknowledgements_topic(namespace), Operation.READ),
        _topic(Role.COORDINATOR, acknowledgements_topic(namespace), Operation.WRITE),
        _topic(Role.COORDINATOR, acknowledgements_topic(namespace), Operation.DESCRIBE),
        # The alerts page stops showing an erased case's alerts (docs/decisions/0002).
        _topic(Role.COORDINATOR, erasures_topic(namespace), Operation.READ),
        _topic(Role.COORDINATOR, erasures_topic(namespace), Operation.DESCRIBE),
        _group(Role.COORDINATOR, namespace),
    }
    # Only `mappa erase` (and `mappa erase-expired`) write erasures; nobody else may.
    bindings |= {
        _topic(Role.ERASURE, erasures_topic(namespace), Operation.WRITE),
        _topic(Role.ERASURE, erasures_topic(namespace), Operation.DESCRIBE),
    }
    return tuple(sorted(bindings))


def _topic(principal: str, topic: str, operation: Operation) -> AclBinding:
    # str() turns an Agency or Role member into its plain value.
    return AclBinding(str(principal), ResourceType.TOPIC, topic, PatternType.LITERAL, operation)


def _group(role: Role, namespace: str) -> AclBinding:
    return AclBinding(
        role.value,
        ResourceType.GROUP,
        group_prefix(role, namespace),
        PatternType.PREFIXED,
        Operation.READ,
    )
