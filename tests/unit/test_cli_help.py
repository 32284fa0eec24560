"""The commands' help reads as written: a docstring's line breaks are not kept as breaks in
mid-sentence."""

import re

import pytest
from typer.testing import CliRunner

from mappa_bus.cli import app


@pytest.mark.parametrize(
    ("args", "sentence"),
    [
        ([], "Run the whole bus on this machine until Ctrl-C: broker, Keycloak, topics and ACLs"),
        (["picture"], "until stopped (Ctrl-C, SIGTERM: the batch in hand is committed first)."),
        (["alerts"], "as one member of its consumer group until stopped (Ctrl-C, SIGTERM: the"),
    ],
)
def test_help_flows_each_sentence_on_across_docstring_line_breaks(
    args: list[str], sentence: str
) -> None:
    """A sentence that spans two docstring lines is printed as one run of text."""
    result = CliRunner().invoke(app, [*args, "--help"], env={"COLUMNS": "240"})

    assert result.exit_code == 0, result.output
    flowing = re.sub(r"\s+", " ", result.output.replace("│", " "))
    assert sentence in flowing
    lines = [line.strip("│ ") for line in result.output.splitlines()]
    assert not any(
        line.endswith(("the", "SIGTERM:", "Keycloak, topics and ACLs, the")) for line in lines
    )
