"""`mappa picture show`: one case from the store in the reader's view, every read audited."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mappa_bus.audit import reads
from mappa_bus.case.fold import apply
from mappa_bus.case.model import CasePicture
from mappa_bus.catalogue import CATALOGUE
from mappa_bus.catalogue.examples import example_event
from mappa_bus.cli import app
from mappa_bus.picture.schema import create_schema
from mappa_bus.picture.store import save_pictures
from mappa_bus.projection.database import open_engine
from tests.oidc import LocalIssuer

CASE = "case-0001"
FIRST_RECORDED = datetime(2021, 3, 1, 9, 0, tzinfo=UTC)
REASON = "Level 2 meeting preparation"


@pytest.fixture
def store(tmp_path: Path) -> str:
    """One case that every catalogue example happened to, each recorded a minute apart."""
    picture: CasePicture | None = None
    for minute, model in enumerate(CATALOGUE):
        event = example_event(model).model_copy(update={"subject": CASE})
        picture = apply(picture, event, FIRST_RECORDED + timedelta(minutes=minute))
    assert picture is not None
    url = f"sqlite:///{tmp_path / 'pictures.db'}"
    engine = open_engine(url)
    create_schema(engine)
    with engine.begin() as connection:
        save_pictures(connection, [picture])
    return url


def _show(url: str, *arguments: str) -> tuple[int, str]:
    result = CliRunner().invoke(
        app,
        [
            "picture",
            "show",
            CASE,
            "--database",
            url,
            "--insecure-dev-identity",
            "--user",
            "j.smith",
            *arguments,
        ],
    )
    return result.exit_code, result.output


def _trail(url: str) -> list[tuple[str, str, str, str]]:
    with open_engine(url).connect() as connection:
        return [(r.user, r.role, r.subject, r.outcome) for r in reads(connection)]


def test_housing_sees_its_view_and_the_read_is_audited(store: str) -> None:
    """Housing's view holds the housing section and withholds victims and health."""
    code, output = _show(store, "--as", "housing", "--reason", REASON)

    view = json.loads(output)
    assert code == 0
    assert view["case_id"] == CASE
    assert view["housing"] is not None
    assert {"victims", "hospital"} <= set(view["withheld"])
    assert view.get("victims") is None
    assert _trail(store) == [("j.smith", "housing", f"mappa picture show {CASE}", "read")]


def test_a_role_that_may_not_read_cases_is_refused_and_that_is_audited(store: str) -> None:
    """A lay adviser may open figures, never a case; the attempt is on the trail."""
    code, output = _show(store, "--as", "lay-adviser", "--reason", REASON)

    assert code == 3
    assert "lay-adviser" in output
    assert _trail(store) == [("j.smith", "lay-adviser", f"mappa picture show {CASE}", "refused")]


def test_a_read_without_a_real_reason_is_refused(store: str) -> None:
    """A reason too short to say why is no reason."""
    code, _ = _show(store, "--as", "police", "--reason", "x")

    assert code == 3
    assert [outcome for *_, outcome in _trail(store)] == ["refused"]


def test_as_known_at_shows_only_what_had_reached_the_bus(store: str) -> None:
    """Two minutes after the first record, the bus knew of three events (minutes 0, 1, 2)."""
    at = (FIRST_RECORDED + timedelta(minutes=2)).isoformat()
    code, output = _show(store, "--as", "police", "--reason", REASON, "--as-known-at", at)

    known = json.loads(output)
    assert code == 0, output
    assert len(known["view"]["timeline"]) == 3
    assert sum(len(entries) for entries in known["shared_by"].values()) == 3


def test_before_anything_was_recorded_there_is_no_case(store: str) -> None:
    """Before its first event reached the bus the case did not exist for the bus."""
    at = (FIRST_RECORDED - timedelta(days=1)).isoformat()
    code, _ = _show(store, "--as", "police", "--reason", REASON, "--as-known-at", at)

    assert code == 1
    assert [outcome for *_, outcome in _trail(store)] == ["not-found"]


def test_without_an_issuer_or_the_development_flag_nobody_is_believed(
    store: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No issuer configured and no --insecure-dev-identity: the command says how to set one."""
    monkeypatch.delenv("MAPPA_OIDC_ISSUER", raising=False)
    result = CliRunner().invoke(
        app, ["picture", "show", CASE, "--database", store, "--reason", REASON]
    )

    assert result.exit_code == 4
    assert "MAPPA_OIDC_ISSUER" in result.output
    assert _trail(store) == []


def test_a_token_from_the_issuer_says_who_reads(
    store: str, monkeypatch: pytest.MonkeyPatch, oidc_issuer: LocalIssuer
) -> None:
    """With an issuer, the access token names the reader; options cannot."""
    monkeypatch.setenv("MAPPA_OIDC_ISSUER", oidc_issuer.url)
    token = oidc_issuer.token("h.ousing", "housing", ["kent"])
    result = CliRunner().invoke(
        app,
        ["picture", "show", CASE, "--database", store, "--reason", REASON, "--token", token],
    )

    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["role"] == "housing"
    assert [(user, role) for user, role, *_ in _trail(store)] == [("h.ousing", "housing")]
