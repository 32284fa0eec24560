"""Batch feeds as agency systems export them: JSON Lines and CSV, one event per line.

A feed line is either a whole CloudEvent (JSON Lines only) or a flat record: the columns
`type`, `case_id`, `area`, `time`, optionally `id` and `reference`, and then the fields of that
event type's `data` by name (docs/feeds.md; `mappa publish --layout TYPE` prints a CSV header).
Pure: reading a feed turns lines into accepted events or rejections; sending is the caller's.
"""

from __future__ import annotations

import csv
import functools
import io
import json
import types
import typing
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any

import orjson
from pydantic import AwareDatetime, BaseModel, ConfigDict, ValidationError

from mappa_bus.agencies import Agency
from mappa_bus.catalogue import (
    BY_TYPE,
    CATALOGUE,
    Area,
    Envelope,
    EventData,
    Rejection,
    WireError,
    make_event,
    parse_event,
)
from mappa_bus.catalogue.vocabulary import AgencyReference, CaseId
from mappa_bus.catalogue.wire import MAX_EVENT_BYTES, from_validation_error, wrong_publisher

HEADER_COLUMNS = ("type", "case_id", "area", "time", "id", "reference")
# Separates the values of a list field in a CSV cell, e.g. `police;probation`.
LIST_SEPARATOR = ";"
# Ids derived from a line's content live in their own UUID namespace, so that publishing the
# same feed twice produces the same ids (and so nothing twice downstream).
_FEED_ID_NAMESPACE = uuid.UUID("6f1d0c1e-8a54-4c55-9d0e-6d3c2b1a0f42")


@dataclass(frozen=True)
class Accepted:
    """A feed line that is a valid event of the feed's agency."""

    line: int
    event: Envelope[EventData]


@dataclass(frozen=True)
class Rejected:
    """A feed line that is not, with the reason."""

    line: int
    raw: bytes
    error: WireError


class _FlatHeader(BaseModel):
    """The envelope columns of a flat feed record (named as the feed names them)."""

    model_config = ConfigDict(extra="forbid")

    case_id: CaseId
    area: Area
    time: AwareDatetime | date
    id: str | None = None
    reference: AgencyReference | None = None


def layout(model: type[EventData]) -> list[str]:
    """The CSV columns of a single-type feed of `model`, in order."""
    return [*HEADER_COLUMNS, *(name for name in model.model_fields if name != "agency_reference")]


@functools.cache
def resolve_type(name: str, agency: Agency) -> type[EventData]:
    """The event class a feed's `type` names: a full CloudEvents type or an event name such as
    `licence-breached` (the latest version the agency publishes)."""
    if name in BY_TYPE:
        model = BY_TYPE[name]
    else:
        matches = [model for model in CATALOGUE if name == model.NAME]
        own = [model for model in matches if model.PUBLISHER is agency]
        if not matches:
            raise WireError(Rejection.UNKNOWN_TYPE, "type", f"unknown event type {name!r}")
        model = max(own or matches, key=lambda candidate: candidate.VERSION)
    if model.PUBLISHER is not agency:
        raise wrong_publisher("type", agency, model)
    return model


def read_jsonl(
    lines: Iterable[bytes], agency: Agency, *, system: str, default_type: str | None = None
) -> Iterator[Accepted | Rejected]:
    """Read JSON Lines: each non-blank line a whole CloudEvent or a flat record."""
    for number, raw in enumerate(lines, start=1):
        line = raw.strip()
        if not line:
            continue
        try:
            yield Accepted(number, _jsonl_event(line, agency, system, default_type))
        except WireError as error:
            yield Rejected(number, line, error)


def read_csv(
    lines: Iterable[str], agency: Agency, *, system: str, default_type: str | None = None
) -> Iterator[Accepted | Rejected]:
    """Read CSV with a header row: flat records; list fields hold `;`-separated values."""
    reader = csv.DictReader(lines)
    for record in reader:
        # Line numbers as an editor shows them, counting the header as line 1.
        number = reader.line_num
        raw = _csv_line(list(reader.fieldnames or []), record)
        cells = {key: value for key, value in record.items() if key is not None and value != ""}
        try:
            if None in record:
                raise WireError(Rejection.MALFORMED_ENVELOPE, "(line)", "more cells than columns")
            yield Accepted(number, _flat_event(cells, agency, system, default_type, csv_cells=True))
        except WireError as error:
            yield Rejected(number, raw, error)


def _jsonl_event(
    line: bytes, agency: Agency, system: str, default_type: str | None
) -> Envelope[EventData]:
    if len(line) > MAX_EVENT_BYTES:
        raise WireError(
            Rejection.OVERSIZED, "(line)", f"{len(line)} bytes, more than {MAX_EVENT_BYTES}"
        )
    try:
        record = json.loads(line)
    except ValueError:
        raise WireError(Rejection.NOT_JSON, "(line)", "not valid JSON") from None
    if not isinstance(record, dict):
        raise WireError(Rejection.MALFORMED_ENVELOPE, "(line)", "must be a JSON object")
    if "specversion" in record:
        event = parse_event(line)
        if event.publisher is not agency:
            raise WireError(
                Rejection.WRONG_PUBLISHER,
                "source",
                f"this is {agency.value}'s feed, but the event is from {event.publisher.value}",
            )
        return event
    return _flat_event(record, agency, system, default_type, csv_cells=False)


def _flat_event(
    record: dict[str, Any],
    agency: Agency,
    system: str,
    default_type: str | None,
    *,
    csv_cells: bool,
) -> Envelope[EventData]:
    fields = dict(record)
    type_name = fields.pop("type", None) or default_type
    if not isinstance(type_name, str):
        raise WireError(Rejection.MALFORMED_ENVELOPE, "type", "Field required")
    model = resolve_type(type_name, agency)
    header_fields = {key: fields.pop(key) for key in HEADER_COLUMNS[1:] if key in fields}
    try:
        header = _FlatHeader.model_validate(header_fields)
    except ValidationError as error:
        raise from_validation_error(error, Rejection.MALFORMED_ENVELOPE) from None
    if header.reference is not None:
        fields["agency_reference"] = header.reference
    unknown = sorted(set(fields) - set(model.model_fields))
    if unknown:
        # Lenient on the wire (newer revisions add fields), strict at the source: a column the
        # type does not have is a mistake in the export, not data to drop on the floor.
        raise WireError(Rejection.INVALID_DATA, unknown[0], f"not a field of {model.NAME}")
    if csv_cells:
        fields = _split_lists(model, fields)
    try:
        data = model.model_validate(fields)
    except ValidationError as error:
        raise from_validation_error(error, Rejection.INVALID_DATA) from None
    return make_event(
        data,
        case_id=header.case_id,
        area=header.area,
        time=_as_datetime(header.time),
        system=system,
        event_id=header.id or _content_id(agency, model, record),
    )


def _split_lists(model: type[EventData], fields: dict[str, Any]) -> dict[str, Any]:
    """CSV cells are all text: split list cells, and read numbers and booleans where the field
    wants one (pydantic will not turn "2" into the literal 2, rightly, for JSON input)."""
    typed = dict(fields)
    for name, field in model.model_fields.items():
        if name in typed:
            typed[name] = _from_cell(field.annotation, typed[name])
    return typed


def _from_cell(annotation: Any, cell: str) -> Any:
    if typing.get_origin(annotation) is list:
        item = typing.get_args(annotation)[0]
        return [_from_cell(item, part.strip()) for part in cell.split(LIST_SEPARATOR)]
    if not _wants_number_or_bool(annotation):
        return cell
    try:
        return json.loads(cell)
    except ValueError:
        return cell


def _wants_number_or_bool(annotation: Any) -> bool:
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _wants_number_or_bool(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        return any(_wants_number_or_bool(arg) for arg in typing.get_args(annotation))
    if origin is typing.Literal:
        return all(isinstance(arg, int) for arg in typing.get_args(annotation))
    return isinstance(annotation, type) and issubclass(annotation, int | float)


def _as_datetime(moment: datetime | date) -> datetime:
    """A date alone means the start of that day, UTC (docs/feeds.md)."""
    if isinstance(moment, datetime):
        return moment
    return datetime.combine(moment, time(0, 0), tzinfo=UTC)


def _content_id(agency: Agency, model: type[EventData], record: dict[str, Any]) -> str:
    # Canonical JSON (sorted keys), so that an export that reorders columns or keys still
    # gives each record the id it had before.
    canonical = orjson.dumps(record, option=orjson.OPT_SORT_KEYS, default=str).decode()
    return str(uuid.uuid5(_FEED_ID_NAMESPACE, f"{agency.value}|{model.event_type()}|{canonical}"))


def _csv_line(columns: list[str], record: dict[str | Any, Any]) -> bytes:
    out = io.StringIO()
    csv.writer(out, lineterminator="").writerow(
        [record.get(column, "") for column in columns] + list(record.get(None) or [])
    )
    return out.getvalue().encode()
