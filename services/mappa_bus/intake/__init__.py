"""The intake (decision 0002, `MAPPA_RECORD=sealed`): reads the agency topics, checks each
record as every consumer does, seals its event under its case's key onto the sealed record, and
deletes what it copied from the agency topics."""
