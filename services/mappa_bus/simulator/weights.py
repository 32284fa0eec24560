"""How big each simulated area is, and the short code its case ids carry.

SIMULATION WEIGHTS, NOT STATISTICS. The weights are rough relative sizes of the 42 MAPPA areas
(roughly their resident populations in millions, rounded by hand) so that a national run spreads
about 90,000 eligible people over the areas in a plausible way. They are not published MAPPA or
ONS figures and nothing should be read from them.
"""

from __future__ import annotations

from collections.abc import Mapping

from mappa_bus.catalogue.areas import Area

# About 90,000 MAPPA-eligible people lived in the community in England and Wales on 31 March
# in the early 2020s; the national run aims at that total.
NATIONAL_ELIGIBLE_ON_31_MARCH = 90_000

# The size of Kent's published table 1 (2,542): the scale the Kent-shaped rates are written at.
KENT_ELIGIBLE_ON_31_MARCH = 2_542

AREA_WEIGHTS: Mapping[Area, float] = {
    Area.AVON_AND_SOMERSET: 1.7,
    Area.BEDFORDSHIRE: 0.7,
    Area.CAMBRIDGESHIRE: 0.9,
    Area.CHESHIRE: 1.1,
    Area.CLEVELAND: 0.6,
    Area.CUMBRIA: 0.5,
    Area.DERBYSHIRE: 1.1,
    Area.DEVON_AND_CORNWALL: 1.8,
    Area.DORSET: 0.8,
    Area.DURHAM: 0.6,
    Area.DYFED_POWYS: 0.5,
    Area.ESSEX: 1.8,
    Area.GLOUCESTERSHIRE: 0.6,
    Area.GREATER_MANCHESTER: 2.8,
    Area.GWENT: 0.6,
    Area.HAMPSHIRE: 2.0,
    Area.HERTFORDSHIRE: 1.2,
    Area.HUMBERSIDE: 0.9,
    Area.KENT: 1.8,
    Area.LANCASHIRE: 1.5,
    Area.LEICESTERSHIRE: 1.1,
    Area.LINCOLNSHIRE: 0.8,
    Area.LONDON: 8.9,
    Area.MERSEYSIDE: 1.4,
    Area.NORFOLK: 0.9,
    Area.NORTH_WALES: 0.7,
    Area.NORTH_YORKSHIRE: 0.8,
    Area.NORTHAMPTONSHIRE: 0.8,
    Area.NORTHUMBRIA: 1.5,
    Area.NOTTINGHAMSHIRE: 1.2,
    Area.SOUTH_WALES: 1.3,
    Area.SOUTH_YORKSHIRE: 1.4,
    Area.STAFFORDSHIRE: 1.1,
    Area.SUFFOLK: 0.8,
    Area.SURREY: 1.2,
    Area.SUSSEX: 1.7,
    Area.THAMES_VALLEY: 2.4,
    Area.WARWICKSHIRE: 0.6,
    Area.WEST_MERCIA: 1.3,
    Area.WEST_MIDLANDS: 2.9,
    Area.WEST_YORKSHIRE: 2.3,
    Area.WILTSHIRE: 0.7,
}

# Three letters per area for pseudonymous case ids such as KEN-2020-000123.
AREA_CODES: Mapping[Area, str] = {
    Area.AVON_AND_SOMERSET: "AVS",
    Area.BEDFORDSHIRE: "BED",
    Area.CAMBRIDGESHIRE: "CAM",
    Area.CHESHIRE: "CHE",
    Area.CLEVELAND: "CLE",
    Area.CUMBRIA: "CUM",
    Area.DERBYSHIRE: "DER",
    Area.DEVON_AND_CORNWALL: "DEV",
    Area.DORSET: "DOR",
    Area.DURHAM: "DUR",
    Area.DYFED_POWYS: "DYP",
    Area.ESSEX: "ESS",
    Area.GLOUCESTERSHIRE: "GLO",
    Area.GREATER_MANCHESTER: "GMA",
    Area.GWENT: "GWE",
    Area.HAMPSHIRE: "HAM",
    Area.HERTFORDSHIRE: "HER",
    Area.HUMBERSIDE: "HUM",
    Area.KENT: "KEN",
    Area.LANCASHIRE: "LAN",
    Area.LEICESTERSHIRE: "LEI",
    Area.LINCOLNSHIRE: "LIN",
    Area.LONDON: "LON",
    Area.MERSEYSIDE: "MER",
    Area.NORFOLK: "NFK",
    Area.NORTH_WALES: "NWA",
    Area.NORTH_YORKSHIRE: "NYO",
    Area.NORTHAMPTONSHIRE: "NTH",
    Area.NORTHUMBRIA: "NUM",
    Area.NOTTINGHAMSHIRE: "NOT",
    Area.SOUTH_WALES: "SWA",
    Area.SOUTH_YORKSHIRE: "SYO",
    Area.STAFFORDSHIRE: "STA",
    Area.SUFFOLK: "SUF",
    Area.SURREY: "SUR",
    Area.SUSSEX: "SUS",
    Area.THAMES_VALLEY: "TVA",
    Area.WARWICKSHIRE: "WAR",
    Area.WEST_MERCIA: "WME",
    Area.WEST_MIDLANDS: "WMI",
    Area.WEST_YORKSHIRE: "WYO",
    Area.WILTSHIRE: "WIL",
}


def size_factor(area: Area) -> float:
    """How many Kent-2020-21-sized area-years `area` is, so that the 42 areas together hold
    about `NATIONAL_ELIGIBLE_ON_31_MARCH` eligible people on 31 March."""
    share = AREA_WEIGHTS[area] / sum(AREA_WEIGHTS.values())
    return NATIONAL_ELIGIBLE_ON_31_MARCH * share / KENT_ELIGIBLE_ON_31_MARCH
