"""Every version of a contract file that was ever committed, read from git.

Comparing only with the checked-in file would let a breaking change through in two steps
(regenerate with `--allow-breaking`, commit); comparing with every committed version does not.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

JsonObject = dict[str, Any]


def in_git_work_tree(path: Path) -> bool:
    """Whether `path` (an existing directory) is inside a git checkout that git can read."""
    answer = _git(path, "rev-parse", "--is-inside-work-tree")
    return answer is not None and answer.strip() == "true"


def committed_versions(path: Path) -> list[tuple[str, JsonObject]]:
    """`(commit, parsed JSON)` for each commit that touched `path`, newest first; commits in
    which the file did not exist (it was deleted) or was not a JSON object are left out. Empty
    outside a git checkout."""
    log = _git(path.parent, "log", "--format=%H", "--", path.name)
    versions = []
    for commit in (log or "").split():
        content = _parsed(_git(path.parent, "show", f"{commit}:./{path.name}"))
        if content is not None:
            versions.append((commit, content))
    return versions


def _parsed(text: str | None) -> JsonObject | None:
    """The JSON object in `text`; None for no file, or for one no producer could have used
    (not JSON, as a committed merge conflict would be)."""
    if text is None:
        return None
    try:
        content = json.loads(text)
    except json.JSONDecodeError:
        return None
    return content if isinstance(content, dict) else None


def _git(cwd: Path, *args: str) -> str | None:
    """git's output, or None when git is missing or refuses (not a checkout, no such file)."""
    try:
        result = subprocess.run(
            ["git", *args], cwd=cwd, capture_output=True, text=True, check=False
        )
    except (FileNotFoundError, NotADirectoryError):
        return None
    return result.stdout if result.returncode == 0 else None
