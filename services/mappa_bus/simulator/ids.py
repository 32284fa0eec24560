"""Seeded randomness and the identifiers it makes: the same seed gives the same bytes."""

from __future__ import annotations

import random
import uuid

from mappa_bus.catalogue.areas import Area
from mappa_bus.simulator.weights import AREA_CODES


def seeded(*parts: object) -> random.Random:
    """A generator seeded from `parts` joined by `/` (string seeds are hashed with SHA-512,
    so the stream does not depend on PYTHONHASHSEED or the platform)."""
    # Simulation, not security: reproducible pseudo-random data is the point.
    return random.Random("/".join(str(part) for part in parts))  # noqa: S311


def case_id(area: Area, year: int, number: int) -> str:
    """A pseudonymous case id, unique within a run: `KEN-2020-000123`."""
    return f"{AREA_CODES[area]}-{year}-{number:06d}"


def event_id(rng: random.Random) -> str:
    """A version 4 UUID drawn from `rng` rather than from the operating system."""
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))
