"""Coordinator alerts: rules over the case picture, the service that raises them, and the ways
coordinators receive them (SDK, `mappa alerts tail`, the live web view)."""
