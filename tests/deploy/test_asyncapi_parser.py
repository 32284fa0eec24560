"""schemas/asyncapi.json as the official AsyncAPI parser (`@asyncapi/parser`, through node)
reads it: valid, without a single error or warning."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPO, unavailable

ENSURE_PARSER = REPO / "deploy" / "asyncapi" / "ensure-parser"
DOCUMENT = REPO / "schemas" / "asyncapi.json"
# The parser's severities: 0 error, 1 warning, 2 information, 3 hint.
WARNING = 1


@pytest.fixture(scope="session")
def asyncapi_parser() -> Path:
    """The directory the official parser is installed in (by ensure-parser, first time only)."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        unavailable("node and npm are needed to run the official AsyncAPI parser")
    installed = subprocess.run(
        [str(ENSURE_PARSER)], capture_output=True, text=True, check=False, timeout=600
    )
    if installed.returncode != 0:
        unavailable(f"the AsyncAPI parser could not be installed:\n{installed.stderr}")
    return Path(installed.stdout.strip().splitlines()[-1])


def diagnostics(parser: Path, document: Path) -> list[dict[str, Any]]:
    """What the parser says of `document`."""
    checked = subprocess.run(
        ["node", str(parser / "check.mjs"), str(document)],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    said: list[dict[str, Any]] = json.loads(checked.stdout)
    return said


def test_the_bus_document_has_no_error_or_warning(asyncapi_parser: Path) -> None:
    """The official parser finds nothing wrong with the generated AsyncAPI document."""
    said = diagnostics(asyncapi_parser, DOCUMENT)

    assert [d for d in said if d["severity"] <= WARNING] == []


def test_the_parser_does_report_a_broken_document(asyncapi_parser: Path, tmp_path: Path) -> None:
    """A reference to a channel that does not exist is an error: the check can fail."""
    document = json.loads(DOCUMENT.read_text())
    next(iter(document["operations"].values()))["channel"] = {"$ref": "#/channels/nowhere"}
    broken = tmp_path / "asyncapi.json"
    broken.write_text(json.dumps(document))

    assert any(d["severity"] == 0 for d in diagnostics(asyncapi_parser, broken))
