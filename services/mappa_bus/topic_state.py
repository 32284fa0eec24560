"""What the broker holds of the bus's topics, and why a client was refused one.

Kafka answers a client that may not describe a topic with "not authorized" whether or not the
topic exists: a first `mappa publish` before `mappa topics create` would blame the ACLs for a
topic that was never made. Asking again as the administrator tells the two apart.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError, TopicAuthorizationFailedError

from mappa_bus.connection import KafkaConnection

CREATE = "run `mappa topics create` (as admin) to create the bus's topics and grant the ACLs"


async def topic_partitions(admin: KafkaConnection, names: Iterable[str]) -> dict[str, int]:
    """How many partitions each of `names` has on the broker; a topic it lacks is left out."""
    wanted = list(names)
    client = AIOKafkaAdminClient(**admin.aiokafka_options())
    await client.start()
    try:
        existing = set(await client.list_topics())
        present = [name for name in wanted if name in existing]
        if not present:
            return {}
        described = await client.describe_topics(present)
    finally:
        await client.close()
    return {
        str(topic["topic"]): len(topic["partitions"])
        for topic in described
        if not topic.get("error_code")
    }


def refusal(
    error: KafkaError, principal: str | None, topics: Iterable[str], existing: Mapping[str, int]
) -> str:
    """Why the broker refused `principal` the `topics`, knowing which of them `existing`."""
    missing = [name for name in topics if name not in existing]
    if missing:
        return f"the broker has no topic {', '.join(missing)}: {CREATE}"
    if isinstance(error, TopicAuthorizationFailedError):
        who = principal or "this client"
        return f"{who} is not allowed to use {', '.join(topics)}: {CREATE}"
    return f"the topics exist; the broker refused or failed for another reason: {error!r}"


async def explain_refusal(
    error: KafkaError,
    principal: str | None,
    topics: Iterable[str],
    admin: KafkaConnection | None,
) -> str:
    """`refusal`, after asking the broker as `admin` which topics exist; without an admin
    connection, or when that question is refused too, says so rather than guess."""
    wanted = list(topics)
    try:
        if admin is None:
            raise KafkaError("no admin credentials here")
        existing = await topic_partitions(admin, wanted)
    except KafkaError as check:
        return (
            f"{error!r}: either a topic is missing or the ACLs do not allow it (could not "
            f"check as admin: {check}); {CREATE}"
        )
    return refusal(error, principal, wanted, existing)
