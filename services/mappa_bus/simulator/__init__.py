"""`mappa simulate`: a realistic, seeded area-year of agency events, and the statistics it intends.

The pure core plans each area's people from the counts its year must show (`plan`, `rates`),
draws their lives (`lives`, `story`, `levels`) with the actions agreed at their meetings
(`actions`) and their risk assessments (`assessments`), writes their events (`render`) and
computes the truth from the people themselves (`truth`), never from the events. `files`,
`shell` and `cli` (the command's options) are the thin shell; only `shell` (through the
adapters' publisher) touches Kafka, and nothing here logs. This package imports none of its
modules: `mappa` makes `cli`'s options in every process, and needs nothing else from here.
"""
