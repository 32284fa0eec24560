"""structlog, set up once: JSON lines in services, readable lines in a terminal.

A line about a record names it by topic, partition and offset (and an event by its id), never
by personal details: `redact_sensitive` blanks any field whose name says it may hold them,
whatever a caller passes, and context bound with `structlog.contextvars` is rendered too.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import MutableMapping
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


def _renderer(log_format: Literal["auto", "json", "console"]) -> structlog.types.Processor:
    use_console = log_format == "console" or (log_format == "auto" and sys.stderr.isatty())
    if use_console:
        return structlog.dev.ConsoleRenderer()
    return structlog.processors.JSONRenderer()


def configure_logging(
    log_format: Literal["auto", "json", "console"] = "auto", level: str = "INFO"
) -> None:
    """Configure structlog, and route the standard library's loggers (aiokafka's) through it."""
    shared: list[structlog.types.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        redact_sensitive,
    ]
    renderer = _renderer(log_format)
    structlog.configure(
        processors=[*shared, structlog.processors.format_exc_info, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelNamesMapping()[level]),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=False,
    )
    handler = logging.StreamHandler(sys.stderr)
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
