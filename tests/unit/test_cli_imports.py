"""Every `mappa` process (each service, each command, each one a test spawns) imports the
command line, and typer makes every command's options whatever the command: what only running
a command needs (Kafka, the web framework, the database, the simulator) is imported inside it,
so `mappa --help` and the help of any command import none of it."""

from __future__ import annotations

import subprocess
import sys

import pytest
from typer.testing import CliRunner

from mappa_bus.alerts.rules import ACTION_OVERDUE
from mappa_bus.cli import app

# Each of these takes from tens to hundreds of milliseconds to import.
HEAVY_PACKAGES = {
    "aiokafka",
    "asyncio",
    "fastapi",
    "faststream",
    "httpx",
    "pydantic_settings",
    "sqlalchemy",
    "starlette",
    "structlog",
    "uvicorn",
}
HEAVY_MODULES = {
    "mappa_bus.alerts.rules",
    "mappa_bus.operations.http",
    "mappa_bus.projection.shell",
    "mappa_bus.settings",
    "mappa_bus.simulator.run",
}

SHOW_HELP_AND_MODULES = """
import sys
from mappa_bus.cli import app
try:
    app(sys.argv[1:] + ["--help"])
except SystemExit:
    pass
print("\\n".join(sorted(sys.modules)), file=sys.stderr)
"""


@pytest.mark.parametrize("command", [[], ["simulate"], ["picture", "rebuild"], ["alerts", "web"]])
def test_help_imports_nothing_a_command_needs_only_to_run(command: list[str]) -> None:
    """`mappa [command] --help` in a fresh process leaves the heavy packages unimported."""
    shown = subprocess.run(
        [sys.executable, "-c", SHOW_HELP_AND_MODULES, *command],
        capture_output=True,
        text=True,
        check=True,
    )

    assert "Usage:" in shown.stdout
    imported = set(shown.stderr.split())
    assert {name.split(".")[0] for name in imported} & HEAVY_PACKAGES == set()
    assert imported & HEAVY_MODULES == set()


def test_the_overdue_actions_option_names_the_rule_as_the_rule_table_does() -> None:
    """The help of `--overdue-actions` spells the rule's name out rather than importing the
    rule table: it is the name the table gives the rule."""
    result = CliRunner().invoke(app, ["alerts", "tail", "--help"], env={"COLUMNS": "240"})

    assert result.exit_code == 0, result.output
    assert f"(the {ACTION_OVERDUE.name} rule)" in result.output
