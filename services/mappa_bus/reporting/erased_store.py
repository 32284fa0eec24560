"""What the reporting store does when a case is erased (docs/decisions/0002): the case's
facts, withdrawals, plan steps and partnership contributions are deleted, and what it
contributed to each closed year's figures is kept as counts per cell, without its id
(`reporting_erased_counts`), to be added back whenever that year is counted again."""

from __future__ import annotations

from collections.abc import Collection, Mapping

from sqlalchemy import delete, select
from sqlalchemy.engine import Connection

from mappa_bus.catalogue import Area
from mappa_bus.projection.database import upsert
from mappa_bus.reporting.count import Cell
from mappa_bus.reporting.partnership_store import delete_case_contributions
from mappa_bus.reporting.plan_store import delete_case_steps
from mappa_bus.reporting.schema import erased_counts_table, withdrawn_table
from mappa_bus.reporting.store import delete_case_facts

# Per reporting year (its 1 April's calendar year), area and cell: how many.
Kept = dict[int, dict[Area, dict[Cell, int]]]


def load_kept(connection: Connection) -> Kept:
    """What erased cases contributed to closed years' figures."""
    kept: Kept = {}
    for row in connection.execute(select(erased_counts_table)):
        cell = (row.table_name, row.row_name, row.column_name)
        kept.setdefault(row.year, {}).setdefault(Area(row.area), {})[cell] = row.figure
    return kept


def add_kept(connection: Connection, added: Kept) -> None:
    """Add `added` to what is kept (inside the caller's transaction)."""
    if not added:
        return
    known = load_kept(connection)
    rows = [
        {
            "year": year,
            "area": area.value,
            "table_name": cell[0],
            "row_name": cell[1],
            "column_name": cell[2],
            "figure": known.get(year, {}).get(area, {}).get(cell, 0) + figure,
        }
        for year, areas in added.items()
        for area, cells in areas.items()
        for cell, figure in cells.items()
    ]
    keys = ("year", "area", "table_name", "row_name", "column_name")
    upsert(connection, erased_counts_table, rows, keys=keys)


def merge_kept(into: Kept, added: Mapping[int, Mapping[Area, Mapping[Cell, int]]]) -> None:
    """Add `added` to `into`, in memory."""
    for year, areas in added.items():
        for area, cells in areas.items():
            mine = into.setdefault(year, {}).setdefault(area, {})
            for cell, figure in cells.items():
                mine[cell] = mine.get(cell, 0) + figure


def delete_cases(connection: Connection, case_ids: Collection[str]) -> None:
    """Delete every fact, withdrawal, plan step and partnership contribution of these cases
    (inside the caller's transaction): a row each. The partnership counts keep what the cases
    added: aggregates, as docs/retention.md says."""
    if not case_ids:
        return
    wanted = sorted(case_ids)
    connection.execute(delete(withdrawn_table).where(withdrawn_table.c.case_id.in_(wanted)))
    delete_case_contributions(connection, wanted)
    delete_case_facts(connection, wanted)
    delete_case_steps(connection, wanted)
