"""`case.copies.replaced`: the fold's copy, held to what pydantic's `model_copy` makes."""

from __future__ import annotations

from datetime import date

import pytest
from pydantic import ValidationError

from mappa_bus.agencies import Agency
from mappa_bus.case.copies import replaced
from mappa_bus.case.model import CasePicture, Risk, RiskAssessmentRecord
from mappa_bus.catalogue import Area
from mappa_bus.catalogue.plans import RiskLevel, RiskTool
from mappa_bus.catalogue.vocabulary import Level


def _picture() -> CasePicture:
    record = RiskAssessmentRecord(
        agency=Agency.PROBATION,
        tool=RiskTool.OASYS_ROSH,
        overall=RiskLevel.HIGH,
        assessed_on=date(2024, 5, 1),
        next_review_due=date(2024, 11, 1),
    )
    return CasePicture(case_id="KEN-2024-000001", area=Area.KENT, risk=Risk(assessments=(record,)))


def test_a_copy_with_changes_is_what_model_copy_makes() -> None:
    picture = _picture()
    changes = {"level": Level.TWO, "risk": None}

    copied = replaced(picture, changes)

    expected = picture.model_copy(update=changes)
    assert copied == expected
    assert copied.model_fields_set == expected.model_fields_set
    assert copied.model_dump_json() == expected.model_dump_json()
    # The original is left as it was, and the copy is as frozen as it is.
    assert picture.level is None
    assert picture.risk is not None
    with pytest.raises(ValidationError):
        copied.level = Level.ONE  # type: ignore[misc]


def test_a_copy_that_sets_only_fields_already_set_shares_their_set() -> None:
    picture = _picture()

    copied = replaced(picture, {"area": Area.KENT})

    assert copied == picture
    assert copied.model_fields_set == picture.model_fields_set
