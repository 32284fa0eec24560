"""Reasons for reading, as the audit trail keeps them: real words, bounded, printable.

A reason must hold at least `MIN_REASON_LENGTH` characters that a person can read (not spaces,
control or format characters such as soft hyphens: ten of those pass a length check and say
nothing), and at most `MAX_REASON_LENGTH` in all (the trail is append-only; an unbounded reason
is a way to grow it). What is kept has control and format characters escaped, so a terminal or
page showing the trail shows them as text rather than obeying them.
"""

from __future__ import annotations

import unicodedata

from mappa_bus.access.policy import MAX_REASON_LENGTH, MIN_REASON_LENGTH

# Control, format, surrogate, private-use and unassigned code points, and line and paragraph
# separators: none of them is something a reader wrote to say why.
_UNREADABLE = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})


class ReasonError(ValueError):
    """No reason worth the name, or one too long."""


def readable(text: str) -> int:
    """How many characters of `text` a person can read (not spaces, not control or format)."""
    return sum(
        1 for char in text if not char.isspace() and unicodedata.category(char) not in _UNREADABLE
    )


def escaped(text: str) -> str:
    """`text` with every control or format character written as `\\uXXXX`."""
    return "".join(
        f"\\u{ord(char):04x}" if unicodedata.category(char) in _UNREADABLE and char != " " else char
        for char in text
    )


def checked_reason(reason: str | None) -> str:
    """The reason as the trail keeps it; `ReasonError` saying what is wrong with it."""
    text = (reason or "").strip()
    if len(text) > MAX_REASON_LENGTH:
        raise ReasonError(f"a reason is at most {MAX_REASON_LENGTH} characters, not {len(text)}")
    if readable(text) < MIN_REASON_LENGTH:
        raise ReasonError(
            f"say why you read this (at least {MIN_REASON_LENGTH} readable characters)"
        )
    return escaped(text)


def for_trail(text: str | None, limit: int = MAX_REASON_LENGTH) -> str:
    """Any caller-supplied text as a refusal's record keeps it: escaped and cut to `limit`."""
    return escaped((text or "")[:limit])
