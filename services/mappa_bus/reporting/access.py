"""Who may open a published figure to see the cases behind it.

The figures themselves are public; the list of pseudonymous case ids behind one is not. The
Responsible Authority agencies, the MAPPA coordinator, and the board's lay advisers and
analysts (who check figures rather than trust them) may open figures; every opening, and every
refused attempt, is audited with its stated reason.
"""

from __future__ import annotations

FIGURE_READERS = frozenset(
    {"police", "probation", "prisons", "coordinator", "lay-adviser", "analyst"}
)
# A reason is a sentence, not a tick-box: too short to say why is no reason.
MIN_REASON_LENGTH = 10


class NotEntitledError(PermissionError):
    """The role may not open figures, or no real reason was given."""


def check_entitled(role: str, reason: str) -> None:
    """Refuse, naming why, a role that may not open figures or a missing reason."""
    if role not in FIGURE_READERS:
        allowed = ", ".join(sorted(FIGURE_READERS))
        raise NotEntitledError(f"role {role!r} may not open figures (allowed: {allowed})")
    if len(reason.strip()) < MIN_REASON_LENGTH:
        raise NotEntitledError(
            f"say why you open this figure (at least {MIN_REASON_LENGTH} characters)"
        )
