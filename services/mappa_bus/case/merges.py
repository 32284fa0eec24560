"""Merge links: which case ids the MAPPA unit has found to be one person, at a point in the log.
Pure: no I/O.

A merge (`catalogue.merges.CasesMerged`) links the merged id to the kept one (its subject); an
unmerge names the same pair and splits it. Stored pictures and facts stay per id; a reader of
either id gets the union of the group's events (docs/picture.md, "Merged cases").

The links are folded in the order the bus recorded them (log-append time, then event id), so
every consumer, and every rebuild, ends with the same groups whatever order it read the unit's
partitions in: a merge's subject and its merged id hash to different partitions, so no shell can
assume one batch holds both, or that it read the unit's partitions in log-time order. A link
the rules below refuse in that order takes no effect, whether a shell dead-lettered it at the
door (`refusal`, with the links it held then) or kept it and the fold left it out.

Groups are stars, never chains: one kept id and the ids merged into it. A merge is refused
(`already-merged`) when the merged id is merged already, has ids merged into it, or when the
kept id is itself merged into another: the unit merges into the group's kept id instead (or
unmerges first), so an unmerge always restores exactly the two cases it names.
"""

from __future__ import annotations

from collections.abc import Container, Iterable, Mapping
from dataclasses import dataclass, field, fields
from datetime import date, datetime
from operator import attrgetter

from mappa_bus.catalogue import Envelope, EventData, Rejection, WireError
from mappa_bus.catalogue.merges import CasesMerged, CasesUnmerged


@dataclass(frozen=True, order=True)
class Link:
    """One merge or unmerge, as every slice keeps it: ordered by when the bus recorded it."""

    recorded_at: datetime
    event_id: str
    kept: str
    merged: str
    joined: bool
    """True for a merge, False for its undoing."""
    on: date
    because: str
    """The decision's reference (a merge) or the reason (an unmerge)."""

    def as_row(self) -> dict[str, object]:
        """The link as plain JSON values (a store keeps it so)."""
        return {
            "recorded_at": self.recorded_at.isoformat(),
            "event_id": self.event_id,
            "kept": self.kept,
            "merged": self.merged,
            "joined": self.joined,
            "on": self.on.isoformat(),
            "because": self.because,
        }

    @classmethod
    def from_row(cls, row: Mapping[str, object]) -> Link:
        """The link `as_row` wrote."""
        return cls(
            recorded_at=datetime.fromisoformat(str(row["recorded_at"])),
            event_id=str(row["event_id"]),
            kept=str(row["kept"]),
            merged=str(row["merged"]),
            joined=bool(row["joined"]),
            on=date.fromisoformat(str(row["on"])),
            because=str(row["because"]),
        )


def link_of(event: Envelope[EventData], recorded_at: datetime) -> Link | None:
    """The link `event` (recorded at `recorded_at`) makes, or None when it is no merge or
    unmerge."""
    data = event.data
    if isinstance(data, CasesMerged):
        return Link(
            recorded_at, event.id, event.case_id, data.merged_case_id, True, data.merged_on,
            data.decision,
        )  # fmt: skip
    if isinstance(data, CasesUnmerged):
        return Link(
            recorded_at, event.id, event.case_id, data.merged_case_id, False, data.unmerged_on,
            data.reason.value,
        )  # fmt: skip
    return None


@dataclass(frozen=True)
class Merges:
    """The merges in force: each merged id with the id it was merged into."""

    into: Mapping[str, str]
    # Each kept id's merged ids, in id order: a group is found without reading every merge
    # (a fold asks for an event's group, and the merges grow with the years).
    members: Mapping[str, tuple[str, ...]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        members: dict[str, list[str]] = {}
        for merged, kept in self.into.items():
            members.setdefault(kept, []).append(merged)
        grouped = {kept: tuple(sorted(ids)) for kept, ids in members.items()}
        object.__setattr__(self, "members", grouped)

    def kept(self, case_id: str) -> str:
        """The id `case_id` resolves to: the kept id of its group, or itself."""
        return self.into.get(case_id, case_id)

    def group(self, case_id: str) -> tuple[str, ...]:
        """Every id of `case_id`'s group, the kept one first, the merged ones in id order."""
        kept = self.kept(case_id)
        return (kept, *self.members.get(kept, ()))

    def groups(self) -> dict[str, tuple[str, ...]]:
        """Every group of more than one id, by its kept id."""
        return {kept: self.group(kept) for kept in sorted(self.members)}


NO_MERGES = Merges({})


# `Link`'s own order (its fields in turn) as a key: tuples compare without a call a comparison.
_RECORDED = attrgetter(*(one.name for one in fields(Link)))


def merges_of(links: Iterable[Link], at: datetime | None = None) -> Merges:
    """The merges in force after `links` (those recorded by `at`, when given), folded in the
    order the bus recorded them; a link refused in that order changes nothing."""
    into: dict[str, str] = {}
    # How many ids each kept id holds: a merge is refused for one that holds any, and asking
    # `into`'s values instead made the fold quadratic in the links.
    holding: dict[str, int] = {}
    for link in sorted(set(links), key=_RECORDED):
        if at is not None and link.recorded_at > at:
            break
        if _refused(into, holding, link) is not None:
            continue
        if link.joined:
            into[link.merged] = link.kept
            holding[link.kept] = holding.get(link.kept, 0) + 1
            continue
        del into[link.merged]
        holding[link.kept] -= 1
        if not holding[link.kept]:
            del holding[link.kept]
    return Merges(into)


def refusal(links: Iterable[Link], link: Link) -> WireError | None:
    """Why a consumer holding `links` must refuse `link`, judged against the links recorded
    before it (so the answer is the fold's, whichever partition was read first), or None."""
    before = merges_of(known for known in links if known < link)
    return _refused(before.into, before.members, link)


def _refused(into: Mapping[str, str], holding: Container[str], link: Link) -> WireError | None:
    """Why `link` takes no effect on the merges `into`, whose kept ids are those `holding`
    holds, or None."""
    if link.kept == link.merged:
        return WireError(
            Rejection.SELF_MERGE, "data.merged_case_id", "names the subject: a case is one case"
        )
    if not link.joined:
        if into.get(link.merged) != link.kept:
            return WireError(
                Rejection.NOT_MERGED,
                "data.merged_case_id",
                f"is not merged into {link.kept}: there is no merge to undo",
            )
        return None
    if link.merged in into:
        return WireError(
            Rejection.ALREADY_MERGED,
            "data.merged_case_id",
            f"is merged into {into[link.merged]} already: unmerge it first",
        )
    if link.merged in holding:
        return WireError(
            Rejection.ALREADY_MERGED,
            "data.merged_case_id",
            "keeps other ids merged into it: merge the subject into it instead (no chains)",
        )
    if link.kept in into:
        return WireError(
            Rejection.ALREADY_MERGED,
            "subject",
            f"is merged into {into[link.kept]}: merge into that id instead (no chains)",
        )
    return None
