"""The 42 MAPPA areas of England and Wales (one per criminal justice area; London is one)."""

from __future__ import annotations

from enum import StrEnum


class Area(StrEnum):
    """A MAPPA area, by its stable slug; `AREA_NAMES` gives the name reports print."""

    AVON_AND_SOMERSET = "avon-and-somerset"
    BEDFORDSHIRE = "bedfordshire"
    CAMBRIDGESHIRE = "cambridgeshire"
    CHESHIRE = "cheshire"
    CLEVELAND = "cleveland"
    CUMBRIA = "cumbria"
    DERBYSHIRE = "derbyshire"
    DEVON_AND_CORNWALL = "devon-and-cornwall"
    DORSET = "dorset"
    DURHAM = "durham"
    DYFED_POWYS = "dyfed-powys"
    ESSEX = "essex"
    GLOUCESTERSHIRE = "gloucestershire"
    GREATER_MANCHESTER = "greater-manchester"
    GWENT = "gwent"
    HAMPSHIRE = "hampshire"
    HERTFORDSHIRE = "hertfordshire"
    HUMBERSIDE = "humberside"
    KENT = "kent"
    LANCASHIRE = "lancashire"
    LEICESTERSHIRE = "leicestershire"
    LINCOLNSHIRE = "lincolnshire"
    LONDON = "london"
    MERSEYSIDE = "merseyside"
    NORFOLK = "norfolk"
    NORTH_WALES = "north-wales"
    NORTH_YORKSHIRE = "north-yorkshire"
    NORTHAMPTONSHIRE = "northamptonshire"
    NORTHUMBRIA = "northumbria"
    NOTTINGHAMSHIRE = "nottinghamshire"
    SOUTH_WALES = "south-wales"
    SOUTH_YORKSHIRE = "south-yorkshire"
    STAFFORDSHIRE = "staffordshire"
    SUFFOLK = "suffolk"
    SURREY = "surrey"
    SUSSEX = "sussex"
    THAMES_VALLEY = "thames-valley"
    WARWICKSHIRE = "warwickshire"
    WEST_MERCIA = "west-mercia"
    WEST_MIDLANDS = "west-midlands"
    WEST_YORKSHIRE = "west-yorkshire"
    WILTSHIRE = "wiltshire"


# The names differ from a title-cased slug only where a slug cannot carry punctuation.
AREA_NAMES: dict[Area, str] = {
    area: area.value.replace("-", " ").title().replace(" And ", " and ") for area in Area
}
AREA_NAMES[Area.DYFED_POWYS] = "Dyfed-Powys"
