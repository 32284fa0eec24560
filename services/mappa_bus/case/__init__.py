"""The case picture as a domain value: what a case's events add up to (pure, no I/O). The
picture slice stores and serves it; the alerts slice reasons over it."""
