"""MAPPA Bus: the event backbone for multi-agency public protection information sharing."""

__version__ = "0.1.0"
