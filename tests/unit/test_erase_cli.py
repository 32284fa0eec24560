"""`mappa erase`: a case's erasure published as its own event on a recorded decision, the
decision audited; an unknown or already erased case, or a decision that is no reference,
refused with nothing published."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mappa_bus import erase
from mappa_bus.audit import reads
from mappa_bus.case.fold import apply
from mappa_bus.case.merges import Link
from mappa_bus.case.model import CasePicture, ManagementEnded
from mappa_bus.catalogue import Area
from mappa_bus.catalogue.erasure import CaseErased, ErasureData, ErasureGround
from mappa_bus.catalogue.probation import (
    LeadAgency,
    ManagementEndReason,
    MappaEligibilityIdentified,
    MappaManagementEnded,
)
from mappa_bus.catalogue.vocabulary import Category
from mappa_bus.cli import app
from mappa_bus.connection import KafkaConnection
from mappa_bus.keystore import open_key_store, write_key_encryption_key
from mappa_bus.picture.schema import create_schema
from mappa_bus.picture.store import PROJECTION, save_pictures
from mappa_bus.projection.database import open_engine
from mappa_bus.projection.merges import save_links
from tests.case_events import kent_case

CASE = "KEN-2020-000123"


@pytest.fixture
def store(tmp_path: Path) -> str:
    """A picture store holding one Kent case, and one erased already."""
    url = f"sqlite:///{tmp_path / 'pictures.db'}"
    engine = open_engine(url)
    create_schema(engine)
    with engine.begin() as connection:
        save_pictures(
            connection,
            [
                CasePicture(case_id=CASE, area=Area.KENT),
                CasePicture(case_id="KEN-2020-000999", area=Area.KENT, erased_on=date(2026, 1, 5)),
            ],
        )
    return url


@pytest.fixture
def published(monkeypatch: pytest.MonkeyPatch) -> list[tuple[CaseErased, str]]:
    """What the command publishes, instead of a broker."""
    sent: list[tuple[CaseErased, str]] = []

    async def publish(
        connection: KafkaConnection, events: Sequence[CaseErased], namespace: str
    ) -> None:
        sent.extend((event, namespace) for event in events)

    monkeypatch.setattr(erase, "publish_erasures", publish)
    return sent


def _erase(url: str, case_id: str, decision: str = "DPO/2026/0042") -> tuple[int, str]:
    result = CliRunner().invoke(
        app,
        [
            "erase",
            case_id,
            "--decision",
            decision,
            "--reason",
            "entered for the wrong person",
            "--by",
            "a.dpo",
            "--namespace",
            "unit",
            "--database",
            url,
        ],
    )
    return result.exit_code, result.output


def _trail(url: str) -> list[tuple[str, str, str, str, tuple[str, ...], str]]:
    with open_engine(url).connect() as connection:
        return [
            (r.user, r.role, r.subject, r.reason, r.cases, r.outcome) for r in reads(connection)
        ]


def test_a_case_is_erased_by_one_event_and_the_decision_is_audited(
    store: str, published: list[tuple[CaseErased, str]]
) -> None:
    """The event names the case, its area, the ground and the decision, and the trail says who
    decided and why."""
    code, _ = _erase(store, CASE)

    today = datetime.now(UTC).date()
    expected = ErasureData(
        case_id=CASE,
        area=Area.KENT,
        ground=ErasureGround.DECISION,
        decision="DPO/2026/0042",
        erased_on=today,
    )
    assert code == 0
    assert [(event.data, event.subject, namespace) for event, namespace in published] == [
        (expected, CASE, "unit")
    ]
    assert _trail(store) == [
        (
            "a.dpo",
            "erasure",
            f"case:{CASE}",
            "decision DPO/2026/0042: entered for the wrong person",
            (CASE,),
            "erased",
        )
    ]


def test_an_unknown_case_is_refused_and_nothing_is_published(
    store: str, published: list[tuple[CaseErased, str]]
) -> None:
    """A case id the picture store never saw is most likely a typing error: nothing happens."""
    code, output = _erase(store, "KEN-2020-000124")

    assert (code, published, _trail(store)) == (1, [], [])
    assert "no case KEN-2020-000124" in output


def test_an_erased_case_is_not_erased_again(
    store: str, published: list[tuple[CaseErased, str]]
) -> None:
    """Erasing twice says when the case was erased, and publishes and audits nothing."""
    code, output = _erase(store, "KEN-2020-000999")

    assert (code, published, _trail(store)) == (3, [], [])
    assert "erased on 2026-01-05" in output


def test_a_decision_that_is_no_reference_is_refused(
    store: str, published: list[tuple[CaseErased, str]]
) -> None:
    """A decision is kept on the log for ever: prose (which may name the person) is refused."""
    code, _ = _erase(store, CASE, decision="Mr Smith asked on 3 May")

    assert (code, published, _trail(store)) == (2, [], [])


def test_the_erasure_of_a_case_has_one_id() -> None:
    """Erasing a case twice makes the same event id: readers take the second as the first."""
    first = erase.erasure(CASE, "kent", ErasureGround.DECISION, "D-1", date(2026, 1, 1))
    second = erase.erasure(CASE, "kent", ErasureGround.DECISION, "D-2", date(2026, 2, 1))

    assert first.id == second.id


def test_erase_expired_erases_through_the_log_every_case_past_retention(
    store: str, published: list[tuple[CaseErased, str]]
) -> None:
    """A case whose management ended more than the retention period ago gets one erasure on
    the log, on the ground of retention, audited as the schedule's; a case still managed, or
    ended too recently, none."""
    engine = open_engine(store)
    ended = ManagementEnded(on=date(2012, 3, 1), reason=ManagementEndReason.LICENCE_ENDED)
    recent = ManagementEnded(on=date(2019, 3, 1), reason=ManagementEndReason.LICENCE_ENDED)
    with engine.begin() as connection:
        save_pictures(
            connection,
            [
                CasePicture(case_id="KEN-2010-000001", area=Area.KENT, management_ended=ended),
                CasePicture(case_id="KEN-2018-000002", area=Area.KENT, management_ended=recent),
            ],
        )

    result = CliRunner().invoke(
        app,
        [
            *("erase-expired", "--retention-years", "6", "--today", "2021-01-01"),
            *("--namespace", "unit", "--database", store),
        ],
    )

    assert result.exit_code == 0
    assert [(e.subject, e.data.ground, e.data.decision) for e, _ in published] == [
        ("KEN-2010-000001", ErasureGround.RETENTION, "retention:6y")
    ]
    assert [(user, subject, outcome) for user, _, subject, _, _, outcome in _trail(store)] == [
        ("retention", "case:KEN-2010-000001", "erased")
    ]


def test_in_sealed_mode_the_case_key_is_destroyed_on_the_decision(
    store: str,
    published: list[tuple[CaseErased, str]],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """With the record sealed, erasing a case also destroys its key in the key store (so no
    copy of its records on the log opens again), recording the decision and who decided."""
    kek = tmp_path / "kek"
    write_key_encryption_key(kek)
    keys_url = f"sqlite:///{tmp_path / 'keys.db'}"
    keys = open_key_store(keys_url, kek)
    keys.key_for(CASE)
    monkeypatch.setenv("MAPPA_RECORD", "sealed")
    monkeypatch.setenv("MAPPA_KEY_STORE_URL", keys_url)
    monkeypatch.setenv("MAPPA_KEY_ENCRYPTION_KEY", str(kek))

    code, _ = _erase(store, CASE)

    assert (code, len(published)) == (0, 1)
    assert open_key_store(keys_url, kek).opener_for(CASE) is None


KEPT, MERGED = "KEN-2010-000301", "KEN-2010-000302"


def _case(case_id: str, *, ended: date | None) -> CasePicture:
    """A Kent case folded from its events: made eligible in 2010, ended on `ended` if given."""
    event = kent_case(case_id, datetime(2010, 1, 4, 9, tzinfo=UTC))
    eligible = MappaEligibilityIdentified(
        identified_on=date(2010, 1, 4),
        category=Category.VIOLENT_OFFENDER,
        lead_agency=LeadAgency.PROBATION,
    )
    events = [event(eligible, 0, f"{case_id}-e")]
    if ended is not None:
        end = MappaManagementEnded(ended_on=ended, reason=ManagementEndReason.LICENCE_ENDED)
        events.append(event(end, (ended - date(2010, 1, 4)).days, f"{case_id}-x"))
    picture = None
    for each in events:
        picture = apply(picture, each, each.time)
    assert picture is not None
    return picture


def _merged_store(url: str, kept: CasePicture, merged: CasePicture) -> None:
    """`kept` and `merged` stored, and the MAPPA unit's merge of them recorded in 2020."""
    at = datetime(2020, 6, 1, tzinfo=UTC)
    link = Link(at, "merge-1", kept.case_id, merged.case_id, True, at.date(), "MCU/1")
    with open_engine(url).begin() as connection:
        save_pictures(connection, [kept, merged])
        save_links(connection, PROJECTION, [link.as_row()])


def _erase_with(url: str, case_id: str, *flags: str) -> tuple[int, str]:
    result = CliRunner().invoke(
        app,
        [
            *("erase", case_id, "--decision", "DPO/2026/0042", *flags),
            *("--reason", "entered for the wrong person", "--by", "a.dpo"),
            *("--namespace", "unit", "--database", url),
        ],
    )
    return result.exit_code, result.output


def test_a_merged_case_is_erased_only_when_told_which_ids(
    store: str, published: list[tuple[CaseErased, str]]
) -> None:
    """One person under two ids: erasing either id without saying whether the other goes too
    is refused, naming it; `--whole-group` erases both (each audited), `--this-id-only` one."""
    _merged_store(store, _case(KEPT, ended=None), _case(MERGED, ended=None))

    refused = _erase_with(store, MERGED)
    assert refused[0] == 2
    assert KEPT in refused[1]
    assert (published, _trail(store)) == ([], [])

    assert _erase_with(store, MERGED, "--whole-group")[0] == 0
    assert sorted(event.subject for event, _ in published) == [KEPT, MERGED]
    assert sorted(subject for _, _, subject, _, _, _ in _trail(store)) == [
        f"case:{KEPT}",
        f"case:{MERGED}",
    ]


def test_one_id_of_a_merged_case_can_be_erased_alone(
    store: str, published: list[tuple[CaseErased, str]]
) -> None:
    _merged_store(store, _case(KEPT, ended=None), _case(MERGED, ended=None))

    code, _ = _erase_with(store, KEPT, "--this-id-only")

    assert code == 0
    assert [event.subject for event, _ in published] == [KEPT]


@pytest.mark.parametrize(
    ("kept_ended", "merged_ended", "erased"),
    [
        # The person's management ended in 2012 under the merged id, never under the kept one:
        # the joined picture says ended, so both ids go.
        (None, date(2012, 3, 1), [KEPT, MERGED]),
        # The merged id ended long ago, but the person came back under the kept id (ended in
        # 2019): the person's retention has not passed, so neither id goes.
        (date(2019, 3, 1), date(2012, 3, 1), []),
    ],
)
def test_erase_expired_judges_a_merged_person_by_the_joined_picture(
    store: str,
    published: list[tuple[CaseErased, str]],
    kept_ended: date | None,
    merged_ended: date | None,
    erased: list[str],
) -> None:
    _merged_store(store, _case(KEPT, ended=kept_ended), _case(MERGED, ended=merged_ended))

    result = CliRunner().invoke(
        app,
        [
            *("erase-expired", "--retention-years", "6", "--today", "2021-01-01"),
            *("--namespace", "unit", "--database", store),
        ],
    )

    assert result.exit_code == 0, result.output
    assert sorted(event.subject for event, _ in published) == erased


def test_an_erasure_not_yet_folded_is_not_published_again(
    store: str, published: list[tuple[CaseErased, str]]
) -> None:
    """Run again before the picture service has folded the first erasure (the store still
    holds the case's details), `mappa erase` and `erase-expired` find the first in the audit
    trail: nothing is published or audited twice."""
    ended = ManagementEnded(on=date(2012, 3, 1), reason=ManagementEndReason.LICENCE_ENDED)
    with open_engine(store).begin() as connection:
        save_pictures(
            connection,
            [CasePicture(case_id="KEN-2010-000001", area=Area.KENT, management_ended=ended)],
        )
    expire = [
        *("erase-expired", "--retention-years", "6", "--today", "2021-01-01"),
        *("--namespace", "unit", "--database", store),
    ]

    first = _erase(store, CASE)[0]
    again, said = _erase(store, CASE)
    expired = [CliRunner().invoke(app, expire).exit_code for _ in range(2)]

    assert (first, again, expired) == (0, 3, [0, 0])
    assert "has not folded it yet" in " ".join(said.split())
    assert sorted(event.subject for event, _ in published) == ["KEN-2010-000001", CASE]
    assert len(_trail(store)) == 2
