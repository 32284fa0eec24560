"""The case-picture service on the projection shell: its projection opened, its rebuild, and the
erasure of cases past retention."""

from __future__ import annotations

from datetime import date

from mappa_bus.case.erasure import erased_picture
from mappa_bus.picture.consumer import PictureProjection
from mappa_bus.picture.retention import due, erase, erased_cases
from mappa_bus.picture.store import PROJECTION, clear, each_picture, save_pictures
from mappa_bus.projection import shell
from mappa_bus.projection.database import let_go_of_deleted
from mappa_bus.projection.erasures import load_erasures
from mappa_bus.projection.merges import clear_links
from mappa_bus.projection.sealed import RecordKeys
from mappa_bus.projection.subscriber import consume_until_caught_up
from mappa_bus.topics import NAMESPACE


def open_projection(
    database_url: str, namespace: str = NAMESPACE, *, keyring: RecordKeys | None = None
) -> PictureProjection:
    """The picture projection on its store, loaded."""
    return shell.open_projection(PictureProjection, database_url, namespace, keyring=keyring)


def rebuild(projection: PictureProjection) -> None:
    """Empty the store, so that the next catch-up replays every topic from its start; erased
    cases stay erased (their stubs are written back, and their events are not folded)."""
    with projection.engine.begin() as connection:
        clear(connection)
        clear_links(connection, PROJECTION)
        stubs = erased_cases(connection)
        for case_id, erasure in load_erasures(connection, PROJECTION).items():
            stubs.setdefault(case_id, erased_picture(None, erasure))
        save_pictures(connection, stubs.values())
    projection.load()


def erase_expired(projection: PictureProjection, today: date, years: int) -> list[str]:
    """Erase every case whose retention has passed by `today`; the case ids erased (the store
    is read a page at a time: only the pictures due are held)."""
    with projection.engine.begin() as connection:
        erased = erase(connection, due(each_picture(connection), today, years), today)
    let_go_of_deleted(projection.engine)
    projection.load()
    return erased


# Nothing to do after catching up, or after a commit: the shell's catch-up as it is.
catch_up = consume_until_caught_up
