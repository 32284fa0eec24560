"""The service commands every projection gets from the one factory: the same options for
each, `--today` only for a slice with a review clock, `rebuild` only for a slice that can
empty its store."""

from __future__ import annotations

import re

import pytest
from typer.testing import CliRunner

from mappa_bus.cli import app


def _help(*args: str) -> str:
    result = CliRunner().invoke(app, [*args, "--help"], env={"COLUMNS": "240"})
    assert result.exit_code == 0, result.output
    return re.sub(r"\s+", " ", result.output.replace("│", " "))


@pytest.mark.parametrize(
    ("group", "port"), [("picture", "9464"), ("reporting", "9465"), ("alerts", "9466")]
)
def test_every_slice_runs_with_the_same_options(group: str, port: str) -> None:
    """`run` takes the namespace, the store and the endpoints' port (its own default) in
    every slice; `catch-up` the namespace and the store."""
    run = _help(group, "run")
    assert all(option in run for option in ("--namespace", "--database", "--metrics-port"))
    assert f"default: {port}" in run
    catch_up = _help(group, "catch-up")
    assert "--namespace" in catch_up
    assert "--database" in catch_up
    assert "--metrics-port" not in catch_up


def test_only_the_alerts_service_takes_a_review_clock() -> None:
    """`--today` is an option of the alerts commands, of no other."""
    assert "--today" in _help("alerts", "run")
    assert "--today" in _help("alerts", "catch-up")
    assert "--today" not in _help("picture", "run")
    assert "--today" not in _help("reporting", "catch-up")


def test_rebuild_is_there_where_a_store_can_be_emptied() -> None:
    """Picture and reporting rebuild their stores; alerts, whose pictures live in memory,
    has no rebuild."""
    assert "Empty the store and replay everything" in _help("picture", "rebuild")
    assert "Empty the store and replay everything" in _help("reporting", "rebuild")
    result = CliRunner().invoke(app, ["alerts", "rebuild", "--help"])
    assert result.exit_code != 0
