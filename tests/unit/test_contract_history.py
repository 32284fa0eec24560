"""No schema may break any version of itself that was ever committed."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from mappa_bus.contract.artefacts import generated_files, history_breaks, json_text
from mappa_bus.contract.history import committed_versions, in_git_work_tree

REPO = Path(__file__).resolve().parents[2]
SCHEMAS = REPO / "schemas"


def test_no_schema_breaks_a_version_committed_before() -> None:
    """Each generated schema is compatible with every committed version of its file."""
    if not in_git_work_tree(REPO):
        pytest.skip("not a git checkout: there is no history to compare with")

    assert history_breaks(SCHEMAS, generated_files()) == {}


def git(repo: Path, *args: str) -> None:
    """Run git in `repo` as a throwaway committer."""
    subprocess.run(
        ["git", "-c", "user.name=Test", "-c", "user.email=test@example.invalid", *args],
        cwd=repo,
        check=True,
        capture_output=True,
    )


def schema(required: list[str], **properties: Any) -> dict[str, Any]:
    """A small object schema titled `t.v1`."""
    return {"title": "t.v1", "type": "object", "properties": properties, "required": required}


def commit(repo: Path, path: str, content: dict[str, Any]) -> None:
    """Write `content` to `path` in `repo` and commit it."""
    target = repo / path
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json_text(content), encoding="utf-8")
    git(repo, "add", path)
    git(repo, "commit", "--quiet", "-m", f"write {path}")


def test_a_break_against_an_older_commit_is_found_even_when_the_newest_agrees(
    tmp_path: Path,
) -> None:
    """A field dropped in one commit is still reported against the commit that had it."""
    git(tmp_path, "init", "--quiet")
    path = "schemas/events/t.v1.json"
    commit(tmp_path, path, schema(["a"], a={"type": "string"}, b={"type": "string"}))
    commit(tmp_path, path, schema(["a"], a={"type": "string"}))
    current = json_text(schema(["a"], a={"type": "string"}))

    breaks = history_breaks(tmp_path / "schemas", {"events/t.v1.json": current})

    assert list(breaks) == ["events/t.v1.json"]
    assert len(breaks["events/t.v1.json"]) == 1
    assert breaks["events/t.v1.json"][0].startswith("t.v1: $: property `b` removed (since commit")


def test_committed_versions_are_read_newest_first(tmp_path: Path) -> None:
    """Each commit that touched the file yields the file as it was then."""
    git(tmp_path, "init", "--quiet")
    first, second = schema([]), schema([], a={"type": "string"})
    commit(tmp_path, "s.json", first)
    commit(tmp_path, "s.json", second)

    versions = committed_versions(tmp_path / "s.json")

    assert [second, first] == [content for _, content in versions]


def test_a_file_git_has_never_seen_has_no_history(tmp_path: Path) -> None:
    """A new file (or one outside any checkout) has nothing to be compatible with."""
    (tmp_path / "new.json").write_text(json.dumps(schema([])), encoding="utf-8")

    assert committed_versions(tmp_path / "new.json") == []
