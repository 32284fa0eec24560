"""What docker compose and deploy/k8s/ both run as members of a consumer group: the consumers
of the sealed record and the intake, each with its principal and its operations port (the
CLI's defaults)."""

from __future__ import annotations

from mappa_bus.operations.ports import ALERTS_PORT, INTAKE_PORT, PICTURE_PORT, REPORTING_PORT
from mappa_bus.principals import Role

# The consumers of the sealed record.
CONSUMERS = {"picture": Role.PICTURE, "reporting": Role.REPORTING, "alerts": Role.ALERTS}
# They and the intake: each a member of its role's group, with an operations port, the case keys.
MEMBERS = {**CONSUMERS, "intake": Role.INTAKE}
# Each one's operations port (/healthz, /readyz, /metrics).
METRICS_PORTS = {
    "picture": PICTURE_PORT,
    "reporting": REPORTING_PORT,
    "alerts": ALERTS_PORT,
    "intake": INTAKE_PORT,
}
