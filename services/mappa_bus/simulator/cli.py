"""`mappa simulate`: a seeded area-year of agency events, to files or onto the bus, with the
statistics and plan figures it intended.

Here its options, and the `SimulationOptions` they make: every `mappa` process makes the
options, and the simulator and Kafka (`shell`) are imported only when the command runs."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from mappa_bus.catalogue.areas import Area
from mappa_bus.reporting.population import SHIPPED_POPULATIONS, read_population_csv
from mappa_bus.simulator.options import ALL_AREAS, Scenario, SimulationOptions


def simulate_command(
    area: Annotated[Area, typer.Option(help="The MAPPA area to simulate.")] = Area.KENT,
    year: Annotated[int, typer.Option(help="The reporting year, by its 1 April.")] = 2020,
    years: Annotated[
        int,
        typer.Option(
            help="Consecutive reporting years from --year, people carried over as in life (the "
            "first year is the same whatever this is).",
        ),
    ] = 1,
    all_areas: Annotated[
        bool, typer.Option("--all-areas", help="Simulate all 42 areas of England and Wales.")
    ] = False,
    scenario: Annotated[
        Scenario | None,
        typer.Option(help="Reproduce published statistics exactly (kent-2020-21: Kent's)."),
    ] = None,
    seed: Annotated[int, typer.Option(help="The same seed gives the same bytes.")] = 1,
    scale: Annotated[
        float, typer.Option(help="Size of each area not fixed by the scenario (0.1: quick).")
    ] = 1.0,
    out: Annotated[
        Path | None,
        typer.Option(file_okay=False, help="Write <agency>.jsonl files and truth.json here."),
    ] = None,
    publish: Annotated[bool, typer.Option("--publish", help="Publish onto the bus.")] = False,
    namespace: Annotated[
        str,
        typer.Option(
            help="Topic namespace to publish into. Simulated people stay out of the real "
            "agency topics (`mappa`) unless you name them on purpose.",
        ),
    ] = "demo",
    population: Annotated[
        Path | None,
        typer.Option(
            exists=True,
            dir_okay=False,
            help="CSV `area,population_aged_10_plus` for table 8 (Kent's is built in).",
        ),
    ] = None,
) -> None:
    """Generate a realistic, seeded area-year of agency events and the statistics it intends."""
    from mappa_bus.simulator.shell import simulate_and_report

    if (out is None) == (not publish):
        raise typer.BadParameter("give exactly one of --out DIR and --publish")
    options = _options(area, year, years, all_areas, scenario, seed, scale, population)
    simulate_and_report(options, None if all_areas else area, out, namespace)


def _options(
    area: Area,
    year: int,
    years: int,
    all_areas: bool,
    scenario: Scenario | None,
    seed: int,
    scale: float,
    population: Path | None,
) -> SimulationOptions:
    populations: dict[Area, int] = dict(SHIPPED_POPULATIONS)
    try:
        if population is not None:
            populations.update(read_population_csv(population))
        return SimulationOptions(
            areas=ALL_AREAS if all_areas else (area,),
            year=year,
            years=years,
            seed=seed,
            scenario=scenario,
            scale=scale,
            populations=populations,
        )
    except ValueError as error:
        raise typer.BadParameter(str(error)) from error
