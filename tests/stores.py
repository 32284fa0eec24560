"""What the tests read of a store: while a service runs in another process, or a projection's
picture of one case (through its public read)."""

from __future__ import annotations

from typing import Any

from mappa_bus.case.model import CasePicture
from mappa_bus.picture.consumer import PictureProjection
from mappa_bus.picture.store import PROJECTION
from mappa_bus.projection.database import open_engine
from mappa_bus.projection.offsets import load_offsets


def applied(url: str, projection: str = PROJECTION) -> int:
    """Records `projection` has applied, by its stored offsets; 0 before its tables exist or
    while the database is down."""
    engine = open_engine(url)
    try:
        with engine.connect() as connection:
            return sum(load_offsets(connection, projection).values())
    except Exception:
        return 0
    finally:
        engine.dispose()


def unrecorded(picture: CasePicture) -> dict[str, Any]:
    """A picture without the times its events reached the bus, which only the log knows."""
    return picture.model_dump(
        mode="json", exclude={"last_recorded_at": True, "timeline": {"__all__": {"recorded_at"}}}
    )


def stored_picture(projection: PictureProjection, case_id: str) -> CasePicture:
    """`case_id`'s picture as `projection` reads it from its store; the test fails when the
    store has none."""
    picture = projection.picture(case_id)
    assert picture is not None, f"no picture of {case_id} in the store"
    return picture
