"""What every `mappa` command does first: read the settings and set up logging."""

from __future__ import annotations

from mappa_bus.logs import configure_logging
from mappa_bus.settings import Settings, load_settings


def command_settings() -> Settings:
    """The settings from the environment, with logging configured from them."""
    settings = load_settings()
    configure_logging(settings.log_format, settings.log_level)
    return settings
