"""The per-case picture: a ViSOR-style shared record folded from every agency's events."""
