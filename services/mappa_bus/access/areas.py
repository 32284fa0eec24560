"""Which areas' readers may read a case: the area managing it, and both ends of a transfer
while the transfer is under way.

The rule (docs/picture.md, "Areas"): a case belongs to the area managing it now (the area of
its latest event). From the day a transfer is requested until the receiving area accepts it,
both the sending and the receiving area may read it: the sender still manages the person, the
receiver prepares to. Once accepted, the case is the receiver's alone; the sender no longer
reads it (its own records stay in its own systems).
"""

from __future__ import annotations

from collections.abc import Iterable

from mappa_bus.catalogue import Area


def areas_reading(
    managing: Area | None, transfers: Iterable[tuple[Area | None, Area, bool]]
) -> frozenset[Area]:
    """The areas whose readers may read a case managed by `managing`, given its transfers as
    (from area, to area, accepted)."""
    areas = set() if managing is None else {managing}
    for from_area, to_area, accepted in transfers:
        if accepted:
            continue
        areas.add(to_area)
        if from_area is not None:
            areas.add(from_area)
    return frozenset(areas)
