"""Batch feeds as agency systems export them: JSON Lines and CSV, one event per line.

A feed line is either a whole CloudEvent (JSON Lines only) or a flat record: the columns
`type`, `case_id`, `area`, `time`, optionally `id` and `reference`, and then the fields of that
event type's `data` by name (docs/feeds.md; `mappa publish --layout TYPE` prints a CSV header).
Pure: reading a feed turns lines into accepted events or rejections; sending is the caller's.
No line ends a feed: each is accepted or rejected on its own. Only a CSV header the feed cannot
be read with (`BadHeader`) refuses the feed as a whole, before any line is read.
"""

from __future__ import annotations

import csv
import functools
import json
import types
import typing
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from typing import Any, Protocol

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
    published_by,
)
from mappa_bus.catalogue.vocabulary import AgencyReference, CaseId
from mappa_bus.catalogue.wire import (
    MAX_EVENT_BYTES,
    OVERSIZED_KEPT_BYTES,
    from_validation_error,
    oversized,
    wrong_publisher,
)

HEADER_COLUMNS = ("type", "case_id", "area", "time", "id", "reference")
# The envelope columns every flat record needs (`type` too, unless the feed is given one type).
_REQUIRED_COLUMNS = ("case_id", "area", "time")
# Windows exports often start with one; it is not part of the first column's name.
_BOM = b"\xef\xbb\xbf"
# How much of an oversized line is read at a time while counting its size: it is never held
# whole, so a 50 MB line costs no more memory than a short one.
_CHUNK = 1024 * 1024
# Separates the values of a list field in a CSV cell, e.g. `police;probation`.
LIST_SEPARATOR = ";"
# Ids derived from a line's content live in their own UUID namespace, so that publishing the
# same feed twice produces the same ids (and so nothing twice downstream).
_FEED_ID_NAMESPACE = uuid.UUID("6f1d0c1e-8a54-4c55-9d0e-6d3c2b1a0f42")


@dataclass(frozen=True)
class Accepted:
    """A feed line that is a valid event of the feed's agency. `wire`, when the line was a whole
    CloudEvent, is its own bytes, exactly as `event` was parsed from them: what is sent and
    signed, rather than the event serialised again (consumers parse and verify those bytes
    alike, and an outside system's exact line is what it asked to publish)."""

    line: int
    event: Envelope[EventData]
    wire: bytes | None = None


@dataclass(frozen=True)
class Rejected:
    """A feed line that is not, with the reason. `raw` is the line as it was, or only its first
    bytes when it is oversized; `size` is then the whole line's."""

    line: int
    raw: bytes
    error: WireError
    size: int | None = None


@dataclass(frozen=True)
class Oversized:
    """A line too long to be an event: its first bytes, kept, and its size, counted."""

    head: bytes
    size: int


class BadHeader(ValueError):
    """A CSV header the feed cannot be read with: the columns it does not know, those it lacks
    and those it names twice, all in one message."""

    def __init__(
        self,
        unknown: Iterable[str] = (),
        missing: Iterable[str] = (),
        repeated: Iterable[str] = (),
        *,
        reason: str | None = None,
    ) -> None:
        self.unknown = sorted(unknown)
        self.missing = sorted(missing)
        self.repeated = sorted(repeated)
        parts = [reason] if reason else []
        for label, columns in (
            ("unknown columns", self.unknown),
            ("missing columns", self.missing),
            ("repeated columns", self.repeated),
        ):
            if columns:
                parts.append(f"{label} {', '.join(map(repr, columns))}")
        super().__init__(f"header: {'; '.join(parts)}")


class LineSource(Protocol):
    """What lines are read from: a binary file, or a part of one."""

    def readline(self, size: int = -1, /) -> bytes: ...


def feed_lines(
    stream: LineSource, limit: int = MAX_EVENT_BYTES, *, start_of_file: bool = True
) -> Iterator[bytes | Oversized]:
    """The lines of a feed file, each with its line ending, a leading byte-order mark dropped
    (when `stream` is read from the `start_of_file`, not from a line further on).

    A line longer than `limit` comes as `Oversized`: its first bytes and its size, the rest read
    and let go, so that no line, however long, is held whole.
    """
    first = start_of_file
    while line := stream.readline(limit + 2):  # room for a CRLF after `limit` bytes
        if first:
            line, first = line.removeprefix(_BOM), False
        if line.endswith(b"\n") or len(line) <= limit:
            yield line
            continue
        head, size, tail = line[:OVERSIZED_KEPT_BYTES], len(line), line[-2:]
        while not tail.endswith(b"\n") and (line := stream.readline(_CHUNK)):
            size, tail = size + len(line), (tail + line)[-2:]
        yield Oversized(head, size - (len(tail) - len(tail.rstrip(b"\r\n"))))


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
    lines: Iterable[bytes | Oversized],
    agency: Agency,
    *,
    system: str,
    default_type: str | None = None,
    first_line: int = 1,
) -> Iterator[Accepted | Rejected]:
    """Read JSON Lines: each non-blank line a whole CloudEvent or a flat record; the first of
    `lines` is the feed's line `first_line`."""
    for number, raw in enumerate(lines, start=first_line):
        if isinstance(raw, Oversized):
            yield _oversized(number, raw)
            continue
        line = raw.strip()
        if not line:
            continue
        try:
            event, wire = _jsonl_event(line, agency, system, default_type)
        except WireError as error:
            yield Rejected(number, line, error)
            continue
        yield Accepted(number, event, wire)


def read_csv(
    lines: Iterable[bytes | Oversized],
    agency: Agency,
    *,
    system: str,
    default_type: str | None = None,
) -> Iterator[Accepted | Rejected]:
    """Read CSV with a header row: flat records; list fields hold `;`-separated values.

    Lines are numbered as an editor shows them, the header being line 1. Raises `BadHeader`,
    before anything is read past it, when the header does not fit the feed.
    """
    source = _CsvSource(iter(enumerate(lines, start=1)))
    columns = source.header()
    if columns is None:
        return  # an empty file: nothing to read
    check_header(columns, agency, default_type)
    reader = csv.reader(source)
    while True:
        try:
            row = next(reader)
        except StopIteration:
            yield from source.take_refused()
            return
        except csv.Error as error:
            yield from source.take_refused()
            malformed = WireError(Rejection.MALFORMED_ENVELOPE, "(line)", str(error))
            yield Rejected(source.last, source.take_raw(), malformed)
            continue
        yield from source.take_refused()
        raw = source.take_raw()
        if not row:
            continue  # a blank line
        try:
            yield Accepted(source.last, _csv_event(columns, row, agency, system, default_type))
        except WireError as error:
            yield Rejected(source.last, raw, error)


@dataclass
class _CsvSource:
    """Feeds `csv.reader` the lines that can be read as text, keeping what a record was made
    of (for its line number and its dead letter) and the lines refused on the way (too long,
    not UTF-8), which never reach the reader."""

    lines: Iterator[tuple[int, bytes | Oversized]]
    last: int = 0
    raw: list[bytes] = field(default_factory=list)
    refused: list[Rejected] = field(default_factory=list)

    def header(self) -> list[str] | None:
        for number, line in self.lines:
            self.last = number
            if isinstance(line, Oversized):
                raise BadHeader(reason=f"{line.size} bytes, more than {MAX_EVENT_BYTES}")
            try:
                text = line.decode()
            except UnicodeDecodeError:
                raise BadHeader(reason="not valid UTF-8") from None
            if not text.strip():
                continue
            try:
                return [column.strip() for column in next(csv.reader([text]))]
            except csv.Error as error:
                raise BadHeader(reason=str(error)) from None
        return None

    def __iter__(self) -> Iterator[str]:
        for number, line in self.lines:
            self.last = number
            if isinstance(line, Oversized):
                self.refused.append(_oversized(number, line))
                continue
            try:
                text = line.decode()
            except UnicodeDecodeError:
                not_text = WireError(Rejection.MALFORMED_ENVELOPE, "(line)", "not valid UTF-8")
                self.refused.append(Rejected(number, line.rstrip(b"\r\n"), not_text))
                continue
            self.raw.append(line)
            yield text

    def take_refused(self) -> list[Rejected]:
        refused, self.refused = self.refused, []
        return refused

    def take_raw(self) -> bytes:
        raw, self.raw = b"".join(self.raw).rstrip(b"\r\n"), []
        return raw


def check_header(columns: list[str], agency: Agency, default_type: str | None) -> None:
    """Refuse, once, a CSV header the feed cannot be read with: a column that no event type
    of the feed has, a column every line needs but the header lacks, a column named twice."""
    given = set(columns)
    repeated = {column for column in given if columns.count(column) > 1}
    required = set(_REQUIRED_COLUMNS)
    if "type" in given:
        known = {name for model in published_by(agency) for name in model.model_fields}
    elif default_type is None:
        known, required = set(), required | {"type"}
    else:
        model = resolve_type(default_type, agency)
        known = set(model.model_fields)
        required |= {
            name
            for name, info in model.model_fields.items()
            if info.is_required() and name != "agency_reference"
        }
    unknown = given - known - set(HEADER_COLUMNS) if known else set()
    missing = required - given
    if unknown or missing or repeated:
        raise BadHeader(unknown, missing, repeated)


def _csv_event(
    columns: list[str], row: list[str], agency: Agency, system: str, default_type: str | None
) -> Envelope[EventData]:
    if len(row) > len(columns):
        raise WireError(Rejection.MALFORMED_ENVELOPE, "(line)", "more cells than columns")
    size = sum(len(cell) for cell in row)
    if size > MAX_EVENT_BYTES:
        # A quoted cell may run over many lines, each short: the record as a whole is too long.
        raise oversized("(line)", size)
    # An empty cell, or one a short row leaves out, means "not given".
    cells = {column: cell for column, cell in zip(columns, row, strict=False) if cell != ""}
    return _flat_event(cells, agency, system, default_type, csv_cells=True)


def _oversized(number: int, line: Oversized) -> Rejected:
    return Rejected(number, line.head, oversized("(line)", line.size), size=line.size)


def _jsonl_event(
    line: bytes, agency: Agency, system: str, default_type: str | None
) -> tuple[Envelope[EventData], bytes | None]:
    """The event of a JSON line, and the line itself when it is a whole CloudEvent."""
    if len(line) > MAX_EVENT_BYTES:
        raise oversized("(line)", len(line))
    record, by_orjson = _json(line)
    if not isinstance(record, dict):
        raise WireError(Rejection.MALFORMED_ENVELOPE, "(line)", "must be a JSON object")
    if "specversion" in record:
        # Read as every consumer reads a record (the reading above handed on only when it is
        # the one `parse_event` makes), so that the line's bytes, sent as they are, are read
        # back as this very event.
        event = parse_event(line, decoded=record if by_orjson else None)
        if event.publisher is not agency:
            raise WireError(
                Rejection.WRONG_PUBLISHER,
                "source",
                f"this is {agency.value}'s feed, but the event is from {event.publisher.value}",
            )
        return event, line
    return _flat_event(record, agency, system, default_type, csv_cells=False), None


def _json(line: bytes) -> tuple[Any, bool]:
    """The line read as JSON, and whether orjson read it. orjson is twice as fast as the
    standard library, but refuses a few documents that the library reads (NaN, integers past
    64 bits, UTF-16): those are read as they always were, so no line changes its fate."""
    try:
        return orjson.loads(line), True
    except orjson.JSONDecodeError:
        pass
    try:
        return json.loads(line), False
    except (ValueError, RecursionError):  # RecursionError: nested deeper than Python's stack
        raise WireError(Rejection.NOT_JSON, "(line)", "not valid JSON") from None


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
    for name, info in model.model_fields.items():
        if name in typed:
            typed[name] = _from_cell(info.annotation, typed[name])
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
