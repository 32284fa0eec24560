"""`mappa up`'s plan: each service as its own principal on ports of its own, and a port
already taken replaced by a free one that the table names."""

import socket

from mappa_bus.up import _port
from mappa_bus.up_plan import Ports, services


def test_each_service_runs_as_its_own_principal_on_its_own_port() -> None:
    """Picture, reporting and alerts connect as themselves; the page as the coordinator; no
    two processes share a port, and each says where it answers."""
    plan = services(Ports(9464, 9465, 9466, 8000, 8001), "mappa")

    assert [(s.name, s.principal) for s in plan][:3] == [
        ("picture service", "picture"),
        ("reporting service", "reporting"),
        ("alerts service", "alerts"),
    ]
    assert plan[4].principal == "coordinator"
    assert len({s.port for s in plan}) == len(plan)
    readers = [s for s in plan if s.name != "case API"]  # the API reads the store only
    assert all(s.args[s.args.index("--namespace") + 1] == "mappa" for s in readers)
    assert plan[3].url() == "http://127.0.0.1:8000/docs"


def test_a_port_taken_is_replaced_by_a_free_one_and_said() -> None:
    """When the default port is taken, another is chosen and the reason noted for the table."""
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        taken_port = holder.getsockname()[1]
        notes: list[str] = []

        chosen = _port(taken_port, notes, "case API")

    assert chosen != taken_port
    assert notes == [f"case API: port {taken_port} is taken, using {chosen}"]


def test_a_sealed_bus_starts_the_intake_first_as_its_own_principal() -> None:
    """Sealed (the default of `mappa up`), the intake runs before the consumers of what it
    seals, as the `intake` principal on a port of its own; without its port, no intake."""
    sealed = services(Ports(9464, 9465, 9466, 8000, 8001, intake=9467), "mappa")
    ingress = services(Ports(9464, 9465, 9466, 8000, 8001), "mappa")

    assert (sealed[0].name, sealed[0].principal, sealed[0].args[:2]) == (
        "intake",
        "intake",
        ("intake", "run"),
    )
    assert sealed[1:] == ingress
    assert len({s.port for s in sealed}) == len(sealed)
    assert "intake" not in [s.principal for s in ingress]
