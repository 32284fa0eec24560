"""The yearly MAPPA statistics, table for table as an area's annual report publishes them.

Pure data: the simulator writes what it intended in this shape, the reporting consumer counts
into it, and the report renders from it, so any two can be compared with `==`. The counting
rules are in docs/statistics.md.
"""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from mappa_bus.catalogue.areas import Area

# Level -> category -> people. Levels and categories are the plain numbers the tables print.
LevelByCategory = dict[int, dict[int, int]]


def empty_grid(levels: tuple[int, ...], categories: tuple[int, ...]) -> LevelByCategory:
    """A table of zeros with every row and column present."""
    return {level: dict.fromkeys(categories, 0) for level in levels}


class MappaStatistics(BaseModel):
    """The statistics of one MAPPA area (or of England and Wales) for one reporting year."""

    model_config = ConfigDict(frozen=True)

    area: Area | None = Field(description="The MAPPA area; null for England and Wales.")
    year_start: date = Field(description="1 April that opens the reporting year.")
    categories: tuple[int, ...] = Field(
        default=(1, 2, 3), description="Category columns: 1-3, and 4 from the years it exists."
    )
    eligible_on_31_march: LevelByCategory = Field(
        description="Table 1, a snapshot: people under MAPPA living in the community on 31 March, "
        "by level (1-3) and category."
    )
    levels_2_and_3_in_year: LevelByCategory = Field(
        description="Table 2, yearly total: people managed at level 2 or 3 during the year, by "
        "level and category."
    )
    notification_breaches: int = Field(
        description="Table 3: RSOs cautioned or convicted for breach of notification "
        "requirements in the year."
    )
    lifetime_notification_revoked: int = Field(
        description="Table 4: RSOs whose indefinite notification was revoked on application."
    )
    shpos: int = Field(description="Table 5: SHPOs imposed, without foreign travel restriction.")
    shpos_with_foreign_travel_restriction: int = Field(
        description="Table 5: SHPOs imposed with a foreign travel restriction."
    )
    notification_orders: int = Field(description="Table 5: notification orders imposed.")
    sro_breach_notifications: int = Field(
        description="Table 6: people who became subject to notification requirements following "
        "a breach of a Sexual Risk Order."
    )
    returned_for_breach_of_licence: LevelByCategory = Field(
        description="Table 7: level 2 and 3 people returned to custody for breach of licence, "
        "by level and category."
    )
    returned_for_breach_of_sopo: dict[int, int] = Field(
        description="Table 7: level 2 and 3 people (category 1 only) returned to custody for "
        "breach of a SOPO or SHPO, by level."
    )
    table_2_reading: Literal["highest-level", "each-level"] = Field(
        default="highest-level",
        description="How table 2 was counted: each person once at the highest level held "
        "(the default, docs/statistics.md), or once at each level held.",
    )
    excluded_category_3_at_level_1: int = Field(
        default=0,
        description="Data-quality note: category 3 cases found at level 1 on 31 March, which "
        "the guidance does not allow; left out of table 1.",
    )
    rsos_per_100k: int | None = Field(
        default=None,
        description="Table 8: registered sexual offenders per 100,000 population aged 10 and "
        "over; null when no population figure is known.",
    )


def kent_2020_21() -> MappaStatistics:
    """The statistics Kent MAPPA published for 2020-21 (the seed report), as facts."""
    return MappaStatistics(
        area=Area.KENT,
        year_start=date(2020, 4, 1),
        eligible_on_31_march={
            1: {1: 1882, 2: 632, 3: 0},
            2: {1: 6, 2: 10, 3: 11},
            3: {1: 0, 2: 0, 3: 1},
        },
        levels_2_and_3_in_year={2: {1: 37, 2: 21, 3: 15}, 3: {1: 2, 2: 3, 3: 1}},
        notification_breaches=30,
        lifetime_notification_revoked=7,
        shpos=139,
        shpos_with_foreign_travel_restriction=0,
        notification_orders=5,
        sro_breach_notifications=3,
        returned_for_breach_of_licence={2: {1: 4, 2: 1, 3: 2}, 3: {1: 0, 2: 1, 3: 0}},
        returned_for_breach_of_sopo={2: 0, 3: 0},
        rsos_per_100k=115,
    )
