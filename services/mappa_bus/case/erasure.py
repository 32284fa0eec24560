"""What is left of a case's picture once it is erased (on a decision or after retention): its
id, its area and the end of its management where known, and the day it was erased. Pure."""

from __future__ import annotations

from mappa_bus.case.model import CasePicture
from mappa_bus.catalogue.erasure import ErasureData


def erased_picture(known: CasePicture | None, erasure: ErasureData) -> CasePicture:
    """The stub of `known` (None: a case whose events were never folded here) after
    `erasure`; a case erased before keeps its first erasure's day."""
    if known is not None and known.erased_on is not None:
        return known
    return CasePicture(
        case_id=erasure.case_id,
        area=known.area if known is not None and known.area is not None else erasure.area,
        management_ended=known.management_ended if known is not None else None,
        erased_on=erasure.erased_on,
    )
