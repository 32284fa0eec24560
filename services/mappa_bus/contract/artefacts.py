"""Every generated file in `schemas/`, and how the files there compare with them.

`schemas/examples/` and `schemas/README.md` are written by people and never touched here.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mappa_bus.contract.asyncapi import bus_specification
from mappa_bus.contract.catalogue_page import catalogue_page
from mappa_bus.contract.compat import breaking_changes
from mappa_bus.contract.history import committed_versions
from mappa_bus.contract.json_schemas import all_event_schemas, envelope_schema, schema_file
from mappa_bus.picture.openapi import case_api_document

EVENTS_DIR = "events"
ENVELOPE_FILE = "envelope.json"


def generated_files() -> dict[str, str]:
    """The exact text of every generated file, by its path relative to `schemas/`."""
    files = {
        schema_file(event_type): json_text(schema)
        for event_type, schema in all_event_schemas().items()
    }
    files[ENVELOPE_FILE] = json_text(envelope_schema())
    files["asyncapi.json"] = json_text(bus_specification())
    files["openapi.json"] = json_text(case_api_document())
    files["CATALOGUE.md"] = catalogue_page()
    return files


def json_text(value: Any) -> str:
    """Stable JSON: sorted keys, two-space indent, a final newline (small, readable diffs)."""
    return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def is_schema(path: str) -> bool:
    """Whether the compatibility rule applies to the file at `path` (relative to `schemas/`)."""
    return path == ENVELOPE_FILE or path.startswith(f"{EVENTS_DIR}/")


@dataclass(frozen=True)
class Comparison:
    """The files in a `schemas/` folder against freshly generated ones."""

    created: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    # Event schemas in the folder for types the catalogue no longer has.
    removed: list[str] = field(default_factory=list)
    # Per file, the changes the compatibility rule forbids.
    breaking: dict[str, list[str]] = field(default_factory=dict)

    @property
    def stale(self) -> list[str]:
        """Every file that generating would create, rewrite or delete."""
        return sorted(self.created + self.changed + self.removed)


def compare(schemas_dir: Path, files: dict[str, str]) -> Comparison:
    """How the files in `schemas_dir` differ from `files`, and which differences break."""
    comparison = Comparison()
    for path, text in sorted(files.items()):
        target = schemas_dir / path
        if not target.exists():
            comparison.created.append(path)
            continue
        old_text = target.read_text(encoding="utf-8")
        (comparison.unchanged if old_text == text else comparison.changed).append(path)
        if old_text != text and is_schema(path):
            _record(comparison.breaking, path, _breaking(old_text, text))
    for path in _orphans(schemas_dir, files):
        comparison.removed.append(path)
        comparison.breaking[path] = [
            f"{path}: its event type is no longer in the catalogue; a published version stays"
        ]
    return comparison


def write(schemas_dir: Path, files: dict[str, str], comparison: Comparison) -> None:
    """Bring `schemas_dir` in line with `files`, as `comparison` found it."""
    for path in comparison.created + comparison.changed:
        target = schemas_dir / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(files[path], encoding="utf-8")
    for path in comparison.removed:
        (schemas_dir / path).unlink()


def history_breaks(schemas_dir: Path, files: dict[str, str]) -> dict[str, list[str]]:
    """Per schema file, what the generated version breaks against any version of it ever
    committed to git (nothing for a file git has never seen)."""
    found: dict[str, list[str]] = {}
    for path, text in sorted(files.items()):
        if not is_schema(path):
            continue
        current = json.loads(text)
        for commit, old in committed_versions(schemas_dir / path):
            messages = breaking_changes(old, current)
            _record(
                found, path, [f"{message} (since commit {commit[:12]})" for message in messages]
            )
    return found


def _breaking(old_text: str, new_text: str) -> list[str]:
    try:
        old = json.loads(old_text)
    except json.JSONDecodeError:
        # Not a schema any producer could have used (a bad merge, say): just regenerate it.
        return []
    return breaking_changes(old, json.loads(new_text))


def _record(found: dict[str, list[str]], path: str, messages: list[str]) -> None:
    if messages:
        found.setdefault(path, []).extend(messages)


def _orphans(schemas_dir: Path, files: dict[str, str]) -> list[str]:
    events = schemas_dir / EVENTS_DIR
    checked_in = (f"{EVENTS_DIR}/{path.name}" for path in events.glob("*.json"))
    return sorted(path for path in checked_in if path not in files)
