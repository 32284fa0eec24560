"""Setting the broker up explicitly: topics as `topics.py` specifies them, ACLs as `principals.py`
grants them. Both are run by the super user, never by a service.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.protocol.admin import (
    CreateAclsRequest_v1,
    CreateAclsRequestStruct,
    DescribeAclsRequest,
)
from aiokafka.protocol.api import Request

from mappa_bus.connection import KafkaConnection
from mappa_bus.principals import AclBinding, Operation, PatternType, ResourceType
from mappa_bus.topics import TopicSpec

# Kafka's error code for "that topic already exists": another process won the race to create
# it, which is as good as having created it ourselves.
_TOPIC_ALREADY_EXISTS = 36


class TopicCreationError(RuntimeError):
    """The broker refused to create a topic; the message names the topic and the reason."""


class AclCreationError(RuntimeError):
    """The broker refused to create an ACL; the message names the ACL and the reason."""


class AuthorizerDisabledError(AclCreationError):
    """The broker runs without an authorizer (a plaintext development broker): no ACLs to set."""


# Kafka's wire codes (org.apache.kafka.common.acl and .resource) for what principals.py names.
_RESOURCE_CODES = {ResourceType.TOPIC: 2, ResourceType.GROUP: 3}
_PATTERN_CODES = {PatternType.LITERAL: 3, PatternType.PREFIXED: 4}
_OPERATION_CODES = {
    Operation.READ: 3,
    Operation.WRITE: 4,
    Operation.DELETE: 6,
    Operation.DESCRIBE: 8,
}
_ANY = 1
_ALLOW = 3
_ALL_HOSTS = "*"
_SECURITY_DISABLED = 54


async def ensure_topics(
    connection: KafkaConnection, specs: Iterable[TopicSpec], *, replication_factor: int = 1
) -> list[str]:
    """Create every topic in `specs` that does not exist yet; return the names created.

    Existing topics are left as they are: changing the retention of a topic that is the record
    is a deliberate operation, not something a start-up does in passing.
    """
    admin = AIOKafkaAdminClient(client_id="mappa-admin", **connection.aiokafka_options())
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [spec for spec in specs if spec.name not in existing]
        if not missing:
            return []
        response = await admin.create_topics(
            [
                NewTopic(
                    name=spec.name,
                    num_partitions=spec.partitions,
                    replication_factor=replication_factor,
                    topic_configs=dict(spec.config),
                )
                for spec in missing
            ]
        )
        _raise_on_errors(response.topic_errors)
        names = [spec.name for spec in missing]
        await _wait_for_leaders(admin, names)
    finally:
        await admin.close()
    return names


async def _wait_for_leaders(
    admin: AIOKafkaAdminClient, names: list[str], wait_seconds: float = 30
) -> None:
    """Return once every partition of `names` has a leader.

    A broker answers CreateTopics before it has elected the new partitions' leaders; a producer
    that writes in that gap gets NotLeaderForPartition and has to retry.
    """
    async with asyncio.timeout(wait_seconds):
        # Polling is the only way: the broker offers no notification of leader election.
        while not _all_led(await admin.describe_topics(names)):  # noqa: ASYNC110
            await asyncio.sleep(0.05)


def _all_led(descriptions: list[dict[str, Any]]) -> bool:
    return all(
        topic["error_code"] == 0
        and topic["partitions"]
        and all(partition["leader"] >= 0 for partition in topic["partitions"])
        for topic in descriptions
    )


def _raise_on_errors(topic_errors: Iterable[tuple[object, ...]]) -> None:
    failures = [
        f"{error[0]}: {error[2] if len(error) > 2 else ''} (Kafka error {error[1]})"
        for error in topic_errors
        if error[1] not in (0, _TOPIC_ALREADY_EXISTS)
    ]
    if failures:
        raise TopicCreationError("could not create topics: " + "; ".join(failures))


class _CreateAcls(Request[CreateAclsRequest_v1]):  # type: ignore[misc]  # aiokafka is untyped here
    """CreateAcls with every binding in one request.

    aiokafka's own `CreateAclsRequest` carries a single ACL and its admin client has no
    `create_acls`; this builder reuses aiokafka's wire schema (v1, the oldest version Kafka 4
    still serves) and sends them all at once.
    """

    API_KEY = 30

    def __init__(self, bindings: list[AclBinding]) -> None:
        self._creations = [
            (
                _RESOURCE_CODES[binding.resource_type],
                binding.resource_name,
                _PATTERN_CODES[binding.pattern_type],
                binding.kafka_principal,
                _ALL_HOSTS,
                _OPERATION_CODES[binding.operation],
                _ALLOW,
            )
            for binding in bindings
        ]

    def build(self, request_struct_class: type[CreateAclsRequestStruct]) -> CreateAclsRequestStruct:
        return request_struct_class(self._creations)


async def ensure_acls(
    connection: KafkaConnection, bindings: Iterable[AclBinding], *, wait_seconds: float = 30
) -> int:
    """Grant every binding (an ALLOW from any host); return once the broker enforces them all.

    Granting an ACL the broker already has changes nothing, so this is safe to repeat. ACLs the
    broker has beyond `bindings` are left alone: revoking is a deliberate operation.
    `connection` must be the super user. Raises `AuthorizerDisabledError` on a broker without
    an authorizer, `AclCreationError` for any other refusal. Returns how many were granted.
    """
    wanted = sorted(set(bindings))
    if not wanted:
        return 0
    admin = AIOKafkaAdminClient(client_id="mappa-admin", **connection.aiokafka_options())
    await admin.start()
    try:
        # aiokafka's admin client has no public way to send a request of our own; its
        # `_send_request` is the one its public methods use (aiokafka is pinned below 0.15).
        response = await admin._send_request(_CreateAcls(wanted))
        _raise_on_acl_errors(wanted, response.creation_responses)
        await _wait_for_acls(admin, set(wanted), wait_seconds)
    finally:
        await admin.close()
    return len(wanted)


def _raise_on_acl_errors(
    wanted: list[AclBinding], responses: Iterable[tuple[int, str | None]]
) -> None:
    results = list(zip(wanted, responses, strict=True))
    if any(code == _SECURITY_DISABLED for _, (code, _message) in results):
        raise AuthorizerDisabledError(
            "the broker has no authorizer (security disabled): ACLs cannot be set"
        )
    failures = [
        f"{binding.kafka_principal} {binding.operation} {binding.resource_type} "
        f"{binding.resource_name}: {message} (Kafka error {code})"
        for binding, (code, message) in results
        if code != 0
    ]
    if failures:
        raise AclCreationError("could not create ACLs: " + "; ".join(failures))


async def _wait_for_acls(
    admin: AIOKafkaAdminClient, wanted: set[AclBinding], wait_seconds: float
) -> None:
    """Return once the broker's authorizer holds every wanted ACL.

    The controller commits new ACLs before the broker has applied them: for a moment after
    CreateAcls succeeds, a client can still be refused. DescribeAcls is answered from the
    broker's own authorizer, so once it lists them all they are in force.
    """
    async with asyncio.timeout(wait_seconds):
        # Polling is the only way: the broker offers no notification of ACL changes.
        while not wanted <= await _describe(admin, None):  # noqa: ASYNC110
            await asyncio.sleep(0.05)


async def describe_acls(connection: KafkaConnection, principal: str) -> set[AclBinding]:
    """The ALLOW ACLs the broker enforces for `principal` (in the terms principals.py uses)."""
    admin = AIOKafkaAdminClient(client_id="mappa-admin", **connection.aiokafka_options())
    await admin.start()
    try:
        return await _describe(admin, principal)
    finally:
        await admin.close()


async def _describe(admin: AIOKafkaAdminClient, principal: str | None) -> set[AclBinding]:
    request = DescribeAclsRequest(
        resource_type=_ANY,
        resource_name=None,
        resource_pattern_type_filter=_ANY,
        principal=None if principal is None else f"User:{principal}",
        host=None,
        operation=_ANY,
        permission_type=_ALLOW,
    )
    response = await admin._send_request(request)
    if response.error_code != 0:
        raise AclCreationError(
            f"could not describe ACLs: {response.error_message} (Kafka error {response.error_code})"
        )
    operations = {code: operation for operation, code in _OPERATION_CODES.items()}
    resources = {code: kind for kind, code in _RESOURCE_CODES.items()}
    patterns = {code: pattern for pattern, code in _PATTERN_CODES.items()}
    return {
        AclBinding(
            kafka_principal.removeprefix("User:"),
            resources[resource_type],
            name,
            patterns[pattern_type],
            operations[operation],
        )
        for resource_type, name, pattern_type, acls in response.resources
        for kafka_principal, _host, operation, _permission in acls
        # Leave out what principals.py has no words for (an ACL someone set by hand).
        if resource_type in resources and pattern_type in patterns and operation in operations
    }
