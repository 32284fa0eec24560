"""Fuzzing the feed readers: whatever bytes or cells an agency's export holds, `read_jsonl` and
`read_csv` give an accepted event or a rejection naming the field and why; nothing escapes.

Runs a few hundred inputs in the ordinary suite; `make fuzz` (MAPPA_FUZZ_EXAMPLES=100000, mark
`fuzz`) runs a hundred thousand per test.
"""

from __future__ import annotations

import csv
import io
import json
import os
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mappa_bus.adapters.feeds import Accepted, BadHeader, Rejected, feed_lines, read_csv, read_jsonl
from mappa_bus.agencies import Agency
from mappa_bus.catalogue import published_by
from mappa_bus.catalogue.examples import EXAMPLES
from tests.strategies import json_values

pytestmark = pytest.mark.fuzz

FUZZ_EXAMPLES = int(os.environ.get("MAPPA_FUZZ_EXAMPLES", "300"))
_FUZZ = settings(max_examples=FUZZ_EXAMPLES, deadline=None)
AGENCY = Agency.PROBATION


def _flat(model_index: int) -> dict[str, Any]:
    """A valid flat record of one of probation's types."""
    model = published_by(AGENCY)[model_index % len(published_by(AGENCY))]
    data = EXAMPLES[model].model_dump(mode="json", exclude_none=True)
    return {
        "type": model.NAME,
        "case_id": "KEN-2021-000001",
        "area": "kent",
        "time": "2021-01-13T16:05:00+00:00",
        **data,
    }


def _cell(value: Any) -> str:
    return ";".join(map(str, value)) if isinstance(value, list) else str(value)


def _clean(results: list[Accepted | Rejected]) -> None:
    for result in results:
        if isinstance(result, Rejected):
            error = result.error
            assert str(error) == f"{error.field}: {error.reason}"
            assert error.field
            assert error.reason
        else:
            assert result.event.publisher is AGENCY


@_FUZZ
@given(st.lists(st.binary(max_size=300), max_size=5))
def test_any_bytes_as_jsonl_lines_are_read_or_refused(lines: list[bytes]) -> None:
    _clean(list(read_jsonl(lines, AGENCY, system="fuzz")))


@_FUZZ
@given(st.integers(0, 50), st.data())
def test_flat_records_with_any_field_replaced_are_read_or_refused(
    which: int, data: st.DataObject
) -> None:
    record = _flat(which)
    key = data.draw(st.sampled_from([*record, "extra"]))
    record[key] = data.draw(json_values)
    _clean(list(read_jsonl([json.dumps(record).encode()], AGENCY, system="fuzz")))


@_FUZZ
@given(st.text(max_size=400))
def test_any_text_as_csv_is_read_or_refused(text: str) -> None:
    lines = feed_lines(io.BytesIO(text.encode()))
    try:
        results, refusal = list(read_csv(lines, AGENCY, system="fuzz")), "header: "
    except BadHeader as refused:
        results, refusal = [], str(refused)
    _clean(results)
    assert refusal.startswith("header: ")


@_FUZZ
@given(st.integers(0, 50), st.data())
def test_csv_rows_with_any_cell_replaced_are_read_or_refused(
    which: int, data: st.DataObject
) -> None:
    record = {
        k: ";".join(map(str, v)) if isinstance(v, list) else str(v) for k, v in _flat(which).items()
    }
    key = data.draw(st.sampled_from(list(record)))
    record[key] = data.draw(st.text(max_size=40))
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(record))
    writer.writeheader()
    writer.writerow(record)
    lines = feed_lines(io.BytesIO(out.getvalue().encode()))
    _clean(list(read_csv(lines, AGENCY, system="fuzz")))
