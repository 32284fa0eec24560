"""The published contract in `schemas/`: JSON Schemas, the AsyncAPI document, the catalogue page.

Everything here is generated from the event catalogue (`mappa_bus.catalogue`), which stays the
single source; `mappa schemas generate` writes the files and `mappa schemas check` (and the
tests) fail when they are stale or when a published event version would break.
"""
