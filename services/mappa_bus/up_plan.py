"""What `mappa up` runs: the bus's services, each as its own principal on ports of its own, and
what a newcomer tries next. Pure: the shell that starts and stops them is `mappa_bus.up`."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Ports:
    """The HTTP ports of the services: the consumers' operations ports and the two servers;
    the intake's when the bus runs sealed (docs/decisions/0002), None when it reads the agency
    topics themselves."""

    picture: int
    reporting: int
    alerts: int
    api: int
    web: int
    intake: int | None = None


@dataclass(frozen=True)
class Service:
    """One `mappa` process: its arguments, the principal it connects as, and where it answers.

    `ready_path` answers 200 once the service is ready; a server with `any_answer` is ready
    as soon as it answers at all (the alerts page's `/session` says 401 to nobody signed in).
    """

    name: str
    args: tuple[str, ...]
    principal: str
    port: int
    ready_path: str
    shown_path: str
    any_answer: bool = False

    def url(self, path: str | None = None) -> str:
        return f"http://127.0.0.1:{self.port}{self.shown_path if path is None else path}"


def _consumer(name: str, role: str, port: int, ns: tuple[str, str]) -> Service:
    """A consumer service, run as its own principal, ready when its operations port says so."""
    return Service(
        name, (role, "run", *ns, "--metrics-port", str(port)), role, port, "/readyz", "/readyz"
    )


def services(ports: Ports, namespace: str) -> tuple[Service, ...]:
    """The processes, in the order they start (the intake, when sealed, before the consumers
    of what it seals; the consumers before the servers over them)."""
    ns = ("--namespace", namespace)
    intake = () if ports.intake is None else (_consumer("intake", "intake", ports.intake, ns),)
    return (
        *intake,
        _consumer("picture service", "picture", ports.picture, ns),
        _consumer("reporting service", "reporting", ports.reporting, ns),
        _consumer("alerts service", "alerts", ports.alerts, ns),
        Service(
            "case API",
            ("picture", "serve", "--port", str(ports.api)),
            "(none: reads the store)",
            ports.api,
            "/healthz",
            "/docs",
        ),
        Service(
            "alerts page",
            ("alerts", "web", *ns, "--port", str(ports.web)),
            "coordinator",
            ports.web,
            "/session",
            "/",
            any_answer=True,
        ),
    )


def try_next(api: str, web: str, issuer: str) -> list[str]:
    """A few commands to try on the running bus, one user journey each (README.md has them
    in full, copy-pasteable)."""
    return [
        "An agency publishes a feed (README.md has a sample one):",
        "  .venv/bin/mappa publish --agency probation feed.jsonl",
        "A reader opens a case with an access token from the issuer:",
        f"  curl -H \"Authorization: Bearer $TOKEN\" -H 'X-Mappa-Reason: reviewing the case' "
        f"{api}/cases/CASE-ID",
        f"  (a token: the password grant of client mappa-web at {issuer}/protocol/openid-"
        "connect/token)",
        f"A coordinator watches alerts: open {web} and sign in as coordinator-kent,",
        "  or follow them here: .venv/bin/mappa alerts tail --area kent",
        "An analyst prints the year's statistics:",
        "  .venv/bin/mappa report --area kent --year 2025-26",
        "Ctrl-C stops everything this command started.",
    ]
