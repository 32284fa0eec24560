"""structlog, set up once: JSON lines in services, readable lines for people.

A line about a record names it by topic, partition and offset (and an event by its id), never
by personal details: `redact_sensitive` blanks any field whose name says it may hold them,
whatever a caller passes, and context bound with `structlog.contextvars` is rendered too. No
line runs to kilobytes: `summarise_long` turns a set of partitions into "60 partitions of 10
topics" (a consumer of every agency topic is assigned that many), and cuts any other long text.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Iterable, MutableMapping
from typing import Any, Literal

import structlog

REDACTED = "[redacted]"

# Field names that may carry personal data or payload content. Log lines name events by id and
# case id only; anything under these keys is replaced before rendering.
SENSITIVE_KEYS = frozenset(
    {
        "address",
        "body",
        "data",
        "date_of_birth",
        "dob",
        "first_name",
        "last_name",
        "name",
        "payload",
        "pnc",
        "postcode",
        "value",
    }
)


def redact_sensitive(
    _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """Blank the value of every field named in SENSITIVE_KEYS."""
    for key in SENSITIVE_KEYS.intersection(event_dict):
        event_dict[key] = REDACTED
    return event_dict


# More items than this in a list, or topic partitions in a text, are summarised.
LONG_LIST = 8
# Longer text is cut (after any partitions in it are summarised).
LONGEST_TEXT = 1000
_TOPIC_PARTITION = re.compile(r"TopicPartition\(topic='([^']+)', partition=(\d+)\)")
_TOPIC_PARTITIONS = re.compile(
    r"[({\[]?(?:TopicPartition\(topic='[^']+', partition=\d+\)(?:, ?)?)+,?[)}\]]?"
)
_PARTITION_NAME = re.compile(r"^(\S+)/(\d+)$")
_NAME_LIST = re.compile(r"^[\w.-]+(?:,[\w.-]+)+$")


def partition_summary(partitions: Iterable[tuple[str, int | str]]) -> str:
    """`60 partitions of 10 topics` for a set of (topic, partition) pairs."""
    pairs = {(topic, int(partition)) for topic, partition in partitions}
    topics = {topic for topic, _ in pairs}
    return f"{len(pairs)} partitions of {len(topics)} topics"


def _summarised(value: Any) -> Any:
    if isinstance(value, str):
        return _summarised_text(value)
    if isinstance(value, dict):
        return {key: _summarised(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset) and len(value) > LONG_LIST:
        names = [_PARTITION_NAME.match(str(item)) for item in value]
        if all(names):
            return partition_summary((name[1], name[2]) for name in names if name)
        return f"{len(value)} items"
    return value


def _summarised_text(text: str) -> str:
    if len(_TOPIC_PARTITION.findall(text)) > LONG_LIST:
        text = _TOPIC_PARTITIONS.sub(
            lambda found: partition_summary(_TOPIC_PARTITION.findall(found.group())), text
        )
    if len(text) > 200 and _NAME_LIST.match(text):
        return f"{text.count(',') + 1} topics"
    if len(text) > LONGEST_TEXT:
        return f"{text[:LONGEST_TEXT]}... ({len(text) - LONGEST_TEXT} more characters)"
    return text


def summarise_long(
    _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """Summarise partition sets and long lists, and cut long text, in every field."""
    for key, value in event_dict.items():
        event_dict[key] = _summarised(value)
    return event_dict


class _BenignAtStart(logging.Filter):
    """aiokafka logs ERROR when it asks for the group coordinator before the broker has
    elected one (every first start of a group on a new broker) and then simply asks again:
    not an error anyone must act on. Lowered to INFO; a coordinator that never comes shows
    as the consumer never becoming ready (/readyz) and as later errors."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name.startswith("aiokafka") and "GroupCoordinatorNotAvailable" in (
            record.getMessage()
        ):
            record.levelno, record.levelname = logging.INFO, "INFO"
            return logging.getLogger().isEnabledFor(logging.INFO)
        return True


def _renderer(
    log_format: Literal["auto", "json", "console"], *, for_people: bool
) -> structlog.types.Processor:
    use_console = log_format == "console" or (
        log_format == "auto" and (for_people or sys.stderr.isatty())
    )
    if use_console:
        return structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())
    return structlog.processors.JSONRenderer()


def configure_logging(
    log_format: Literal["auto", "json", "console"] = "auto",
    level: str = "INFO",
    *,
    for_people: bool = False,
) -> None:
    """Configure structlog, and route the standard library's loggers (aiokafka's) through it.

    `auto` picks JSON lines for a service whose stderr is not a terminal, else readable
    lines; a command for people (`for_people`) always gets readable lines, so that what it
    logs reads like the rest of its output wherever that goes."""
    shared: list[structlog.types.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        redact_sensitive,
        summarise_long,
    ]
    renderer = _renderer(log_format, for_people=for_people)
    structlog.configure(
        processors=[*shared, structlog.processors.format_exc_info, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelNamesMapping()[level]),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=False,
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(_BenignAtStart())
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=[structlog.stdlib.add_logger_name, *shared],
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                structlog.processors.format_exc_info,
                renderer,
            ],
        )
    )
    root = logging.getLogger()
    root.handlers = [handler]
    # aiokafka is chatty at INFO (every rebalance, every retry); its warnings are what matter.
    root.setLevel(logging.WARNING)
