"""`python -m mappa_bus`: the `mappa` command, for processes started with this interpreter."""

from mappa_bus.cli import app

app(prog_name="mappa")
