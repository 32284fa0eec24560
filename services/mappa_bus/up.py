"""`mappa up`: the whole bus on this machine, as a user means it, until Ctrl-C.

It starts what is not running yet (the local broker, the local Keycloak), creates the topics and
grants the ACLs, then runs the intake (sealed, the default: docs/decisions/0002), the picture,
reporting and alerts services (each as its own principal), the case API and the alerts page as
child processes logging to files, waits until each answers, and prints one table of what runs
where. Ctrl-C or SIGTERM stops, in reverse
order, exactly what it started: a broker or Keycloak that was already running is left running.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType

import httpx
import typer
from rich.console import Console
from rich.table import Table

from mappa_bus.connection import KafkaConnection
from mappa_bus.credentials import loopback_port, read_credentials
from mappa_bus.kafka_admin import AuthorizerDisabledError, ensure_acls, ensure_topics
from mappa_bus.keystore import write_key_encryption_key
from mappa_bus.logs import configure_logging
from mappa_bus.operations.ports import ALERTS_PORT, INTAKE_PORT, PICTURE_PORT, REPORTING_PORT
from mappa_bus.principals import ADMIN, acl_bindings
from mappa_bus.settings import Settings, load_settings, state_dir
from mappa_bus.topics import bus_topic_specs
from mappa_bus.up_cli import Record
from mappa_bus.up_plan import Ports, Service, services, try_next

REPO = Path(__file__).resolve().parents[2]
KAFKA_LOCAL = REPO / "deploy" / "kafka" / "kafka-local"
KEYCLOAK_LOCAL = REPO / "deploy" / "keycloak" / "keycloak-local"
# The table is the output; progress and problems go to stderr, never between its lines.
out = Console(highlight=False)
console = Console(stderr=True, highlight=False)
STOP_SECONDS = 20.0
# A child's environment names its own principal: a principal or password chosen for this
# command would make every service connect as that one.
NOT_INHERITED = (
    "MAPPA_KAFKA_PRINCIPAL",
    "MAPPA_KAFKA_USERNAME",
    "MAPPA_KAFKA_PASSWORD",
    "MAPPA_METRICS_PORT",
)


class UpFailed(Exception):
    """Something `mappa up` needs did not start; the message says what and where to look."""


@dataclass
class Child:
    service: Service
    process: subprocess.Popen[bytes]
    log: Path


@dataclass
class Started:
    """What this command started, to be stopped in reverse order."""

    children: list[Child] = field(default_factory=list)
    scripts: list[tuple[Path, dict[str, str]]] = field(default_factory=list)


@dataclass(frozen=True)
class Broker:
    bootstrap: str
    credentials: Path | None
    note: str
    log: str


@dataclass(frozen=True)
class Issuer:
    url: str
    credentials: Path | None
    note: str
    log: str


def _port(wanted: int, taken: list[str], name: str) -> int:
    """`wanted` if nothing listens there now, else a free port the OS picks (noted in `taken`)."""
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", wanted))
            return wanted
        except OSError:
            pass
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        chosen: int = probe.getsockname()[1]
    taken.append(f"{name}: port {wanted} is taken, using {chosen}")
    return chosen


def _script(path: Path, command: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    if not path.is_file():
        raise UpFailed(f"{path} is missing: run `mappa up` from a checkout of the repository")
    return subprocess.run(
        [str(path), command], env=env, capture_output=True, text=True, check=False
    )


def _started_by_script(path: Path, env: dict[str, str], started: Started, what: str) -> str:
    """Start the daemon `path` runs unless it is running; 'started' or 'already running'."""
    if _script(path, "status", env).returncode == 0:
        return "already running (left running)"
    console.print(f"starting {what} ({path.name} start)...")
    result = _script(path, "start", env)
    if result.returncode != 0:
        raise UpFailed(f"{what} did not start:\n{result.stdout}{result.stderr}")
    started.scripts.append((path, env))
    return "started (stopped on Ctrl-C)"


def _printed_path(path: Path, command: str, env: dict[str, str]) -> Path | None:
    result = _script(path, command, env)
    text = result.stdout.strip()
    return Path(text) if result.returncode == 0 and text else None


def _broker(settings: Settings, started: Started) -> Broker:
    bootstrap = settings.kafka_bootstrap_servers
    port = loopback_port(bootstrap)
    if port is None:
        given = settings.kafka_credentials
        return Broker(bootstrap, Path(given) if given else None, "given (not started here)", "")
    env = {
        **os.environ,
        "KAFKA_PORT": str(port),
        "KAFKA_CONTROLLER_PORT": os.environ.get("KAFKA_CONTROLLER_PORT", str(port + 1)),
    }
    note = _started_by_script(KAFKA_LOCAL, env, started, f"the Kafka broker on port {port}")
    log = _printed_path(KAFKA_LOCAL, "path", env)
    credentials = _printed_path(KAFKA_LOCAL, "credentials", env)
    return Broker(f"127.0.0.1:{port}", credentials, note, str(log or ""))


def _issuer(keycloak_port: int, started: Started) -> Issuer:
    given = os.environ.get("MAPPA_OIDC_ISSUER")
    if given:
        return Issuer(given, None, "MAPPA_OIDC_ISSUER (not started here)", "")
    env = {**os.environ, "KEYCLOAK_PORT": str(keycloak_port)}
    note = _started_by_script(
        KEYCLOAK_LOCAL,
        env,
        started,
        f"Keycloak on port {keycloak_port} (the first start fetches it)",
    )
    log = _printed_path(KEYCLOAK_LOCAL, "path", env)
    credentials = _printed_path(KEYCLOAK_LOCAL, "credentials", env)
    return Issuer(
        f"http://127.0.0.1:{keycloak_port}/realms/mappa", credentials, note, str(log or "")
    )


def _admin(broker: Broker) -> KafkaConnection:
    if broker.credentials is None:
        return KafkaConnection(broker.bootstrap)
    credentials = read_credentials(broker.credentials)
    return KafkaConnection(
        broker.bootstrap,
        username=ADMIN,
        password=credentials.password(ADMIN),
        mechanism=credentials.mechanism,
    )


def _topics(broker: Broker, namespace: str, *, sealed: bool) -> str:
    admin = _admin(broker)
    # Topics made earlier keep the configuration they were made with (an agency topic made
    # for ingress mode keeps its records for ever): `mappa topics` says how to change them.
    specs = bus_topic_specs(namespace, sealed=sealed)
    created = asyncio.run(ensure_topics(admin, specs))
    done = f"{len(specs)} topics in namespace {namespace} ({len(created)} created now)"
    try:
        granted = asyncio.run(ensure_acls(admin, acl_bindings(namespace)))
    except AuthorizerDisabledError:
        return f"{done}; the broker enforces no ACLs"
    return f"{done}; {granted} ACLs in force"


def _child_env(broker: Broker, issuer: Issuer, settings: Settings, record: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key not in NOT_INHERITED}
    env.update(
        KAFKA_BOOTSTRAP_SERVERS=broker.bootstrap,
        MAPPA_OIDC_ISSUER=issuer.url,
        MAPPA_DATABASE_URL=settings.database_url,
        MAPPA_LOG_FORMAT="json",
        MAPPA_RECORD=record,
        MAPPA_KEY_STORE_URL=settings.key_store_url,
        MAPPA_KEY_ENCRYPTION_KEY=str(settings.key_encryption_key_path()),
    )
    if broker.credentials is not None:
        env["MAPPA_KAFKA_CREDENTIALS"] = str(broker.credentials)
    return env


def _spawn(service: Service, env: dict[str, str], logs: Path) -> Child:
    log = logs / f"{service.name.replace(' ', '-')}.log"
    with log.open("ab") as handle:
        process = subprocess.Popen(
            [sys.executable, "-m", "mappa_bus", *service.args],
            stdin=subprocess.DEVNULL,
            stdout=handle,
            stderr=subprocess.STDOUT,
            env=env,
            # A session of its own: the terminal's Ctrl-C reaches `mappa up` alone, which then
            # stops the children in order.
            start_new_session=True,
        )
    return Child(service, process, log)


def _tail(log: Path, lines: int = 15) -> str:
    try:
        return "\n".join(log.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def _check_alive(child: Child) -> None:
    code = child.process.poll()
    if code is not None:
        raise UpFailed(
            f"the {child.service.name} stopped (exit {code}); the end of {child.log}:\n"
            f"{_tail(child.log)}"
        )


def _ready(child: Child) -> bool:
    service = child.service
    try:
        answer = httpx.get(service.url(service.ready_path), timeout=3)
    except httpx.HTTPError:
        return False
    return answer.status_code < 500 if service.any_answer else answer.status_code == 200


def _wait_ready(children: list[Child], deadline: float) -> None:
    waiting = list(children)
    while waiting:
        for child in list(waiting):
            _check_alive(child)
            if _ready(child):
                console.print(f"{child.service.name} ready")
                waiting.remove(child)
        if waiting and time.monotonic() > deadline:
            names = ", ".join(child.service.name for child in waiting)
            raise UpFailed(
                f"not ready in time: {names} (see the logs under {children[0].log.parent})"
            )
        time.sleep(0.5)


def _key_encryption_key(settings: Settings) -> str:
    """Where the case keys' wrapping key is, written there (0600) on the first sealed run."""
    path = settings.key_encryption_key_path()
    if path.exists():
        return f"case keys wrapped by {path}"
    write_key_encryption_key(path)
    return f"case keys wrapped by {path} (written now)"


def _table(
    broker: Broker,
    issuer: Issuer,
    topics: str,
    children: list[Child],
    settings: Settings,
    record: tuple[str, str],
) -> Table:
    table = Table(title="MAPPA Bus, running on this machine")
    for column in ("what", "where", "as / state", "log"):
        table.add_column(column, overflow="fold")
    table.add_row("Kafka broker", broker.bootstrap, broker.note, broker.log)
    table.add_row("OpenID Connect issuer", issuer.url, issuer.note, issuer.log)
    table.add_row("topics and ACLs", topics, "admin", "")
    for child in children:
        service = child.service
        table.add_row(service.name, service.url(), service.principal, str(child.log))
    table.add_row("store", settings.database_url, "picture, reporting, alerts", "")
    table.add_row("record", *record, "")
    if issuer.credentials is not None:
        table.add_row("users' passwords", str(issuer.credentials), "coordinator-kent, ...", "")
    return table


def _stop(started: Started) -> None:
    for child in reversed(started.children):
        if child.process.poll() is None:
            child.process.terminate()
    for child in reversed(started.children):
        try:
            child.process.wait(timeout=STOP_SECONDS)
        except subprocess.TimeoutExpired:
            child.process.kill()
            child.process.wait()
        console.print(f"stopped the {child.service.name}")
    for path, env in reversed(started.scripts):
        result = _script(path, "stop", env)
        console.print(result.stdout.strip() or f"{path.name} stop: exit {result.returncode}")


def _raise_interrupt(_signal: int, _frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def _quiet_signals() -> None:
    # Stopping must not itself be interrupted: every wait in it has a timeout.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)


def up(
    namespace: str, api_port: int, web_port: int, keycloak_port: int, timeout: float, record: Record
) -> None:
    """`mappa up`, given its options (`mappa_bus.up_cli`)."""
    settings = load_settings()
    configure_logging(settings.log_format, settings.log_level, for_people=True)
    signal.signal(signal.SIGTERM, _raise_interrupt)
    started = Started()
    code = 0
    try:
        _run(settings, namespace, (api_port, web_port, keycloak_port), timeout, started, record)
    except KeyboardInterrupt:
        console.print("stopping...")
    except UpFailed as failed:
        console.print(f"[red]{failed}[/]", soft_wrap=True)
        code = 1
    finally:
        _quiet_signals()
        _stop(started)
    raise typer.Exit(code)


def _run(
    settings: Settings,
    namespace: str,
    wanted: tuple[int, int, int],
    timeout: float,
    started: Started,
    record: Record,
) -> None:
    deadline = time.monotonic() + timeout
    api_port, web_port, keycloak_port = wanted
    sealed = record is Record.SEALED
    broker = _broker(settings, started)
    issuer = _issuer(keycloak_port, started)
    topics = _topics(broker, namespace, sealed=sealed)
    taken: list[str] = []
    ports = Ports(
        picture=_port(PICTURE_PORT, taken, "picture service"),
        reporting=_port(REPORTING_PORT, taken, "reporting service"),
        alerts=_port(ALERTS_PORT, taken, "alerts service"),
        api=_port(api_port, taken, "case API"),
        web=_port(web_port, taken, "alerts page"),
        intake=_port(INTAKE_PORT, taken, "intake") if sealed else None,
    )
    keys = _key_encryption_key(settings) if sealed else "agency topics kept in clear"
    logs = state_dir() / "up"
    logs.mkdir(parents=True, exist_ok=True)
    env = _child_env(broker, issuer, settings, record.value)
    for service in services(ports, namespace):
        started.children.append(_spawn(service, env, logs))
    _wait_ready(started.children, deadline)
    # Into a file or a pipe the table keeps its paths and URLs whole rather than 80 columns.
    width = None if out.is_terminal else 200
    table = _table(broker, issuer, topics, started.children, settings, (record.value, keys))
    out.print(table, width=width)
    for line in taken:
        out.print(line, soft_wrap=True)
    by_name = {child.service.name: child.service for child in started.children}
    out.print("\nTry this next:", style="bold")
    for line in try_next(by_name["case API"].url(""), by_name["alerts page"].url(), issuer.url):
        out.print(line, soft_wrap=True, markup=False)
    sys.stdout.flush()
    _supervise(started.children)


def _supervise(children: list[Child], pause: Callable[[float], None] = time.sleep) -> None:
    """Watch the children until interrupted; one stopping of itself ends the command."""
    while True:
        for child in children:
            _check_alive(child)
        pause(0.5)
