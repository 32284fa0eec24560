"""Agency adapters: how agency systems put events on the bus (SDK, batch feeds)."""
