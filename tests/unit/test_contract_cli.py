"""`mappa schemas generate` and `mappa schemas check` on a scratch copy of schemas/."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from mappa_bus.cli import app
from mappa_bus.contract.artefacts import generated_files

runner = CliRunner()
LICENCE_BREACHED = "events/uk.gov.mappa.probation.licence-breached.v1.json"


def mappa(*args: str) -> tuple[int, str]:
    """Run the `mappa` command; its exit code and output."""
    result = runner.invoke(app, list(args))
    return result.exit_code, result.output


def with_an_extra_required_field(path: Path) -> None:
    """Make the checked-in schema at `path` look as if a field had since been removed."""
    schema = json.loads(path.read_text(encoding="utf-8"))
    data = schema["$defs"]["LicenceBreached"]
    data["properties"]["witnessed_by"] = {"type": "string"}
    data["required"].append("witnessed_by")
    path.write_text(json.dumps(schema), encoding="utf-8")


def test_generate_writes_every_file_and_check_then_passes(tmp_path: Path) -> None:
    """Into an empty folder, generate writes every file; check then finds nothing to do."""
    code, _ = mappa("schemas", "generate", "--dir", str(tmp_path))

    assert code == 0
    assert sorted(generated_files()) == sorted(
        str(path.relative_to(tmp_path)) for path in tmp_path.rglob("*") if path.is_file()
    )
    assert (0, f"{len(generated_files())} files up to date, no breaking change\n") == mappa(
        "schemas", "check", "--dir", str(tmp_path)
    )


def test_check_lists_a_stale_file_and_fails(tmp_path: Path) -> None:
    """A hand-edited generated file makes check exit 1, naming it and the fix."""
    mappa("schemas", "generate", "--dir", str(tmp_path))
    (tmp_path / "CATALOGUE.md").write_text("edited by hand\n", encoding="utf-8")

    code, output = mappa("schemas", "check", "--dir", str(tmp_path))

    assert code == 1
    assert f"stale: {tmp_path / 'CATALOGUE.md'}" in output
    assert "run `mappa schemas generate`" in output


def test_generate_refuses_to_write_over_a_breaking_change(tmp_path: Path) -> None:
    """A schema that would lose a field is left as it was, and the user is told why."""
    mappa("schemas", "generate", "--dir", str(tmp_path))
    with_an_extra_required_field(tmp_path / LICENCE_BREACHED)
    before = (tmp_path / LICENCE_BREACHED).read_text(encoding="utf-8")

    code, output = mappa("schemas", "generate", "--dir", str(tmp_path))

    assert code == 1
    assert before == (tmp_path / LICENCE_BREACHED).read_text(encoding="utf-8")
    assert "$.data: property `witnessed_by` removed" in output
    assert "Add a new class for the next version" in output


def test_allow_breaking_writes_over_it(tmp_path: Path) -> None:
    """With --allow-breaking the generated schema replaces the checked-in one."""
    mappa("schemas", "generate", "--dir", str(tmp_path))
    with_an_extra_required_field(tmp_path / LICENCE_BREACHED)

    code, _ = mappa("schemas", "generate", "--dir", str(tmp_path), "--allow-breaking")

    assert code == 0
    assert generated_files()[LICENCE_BREACHED] == (tmp_path / LICENCE_BREACHED).read_text(
        encoding="utf-8"
    )


def test_an_event_schema_without_its_type_is_breaking(tmp_path: Path) -> None:
    """A checked-in schema whose type left the catalogue is stale and breaking, not deleted."""
    mappa("schemas", "generate", "--dir", str(tmp_path))
    gone = tmp_path / "events" / "uk.gov.mappa.police.gone.v1.json"
    gone.write_text("{}\n", encoding="utf-8")

    code, output = mappa("schemas", "generate", "--dir", str(tmp_path))

    assert (code, gone.exists()) == (1, True)
    assert "no longer in the catalogue" in output
