"""docker-compose.yml, checked structurally (no Docker engine needed): every service is there
with a health check or is a job, starts in order, connects as its own principal with its own
password from .env, runs a command the `mappa` CLI has, and is healthy when its own readiness
endpoint says so; it runs sealed as `mappa up` does (the intake, every reader of the record
with the key store and the key-encryption key's file, never the key itself); and the
containers' health check script (deploy/docker/healthcheck.py) tells a live or ready service
from a dead or unready one."""

from __future__ import annotations

import http.server
import importlib.util
import re
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import typer
import yaml
from typer.testing import CliRunner

from mappa_bus.cli import app
from mappa_bus.operations.ports import PORT_ENV
from mappa_bus.principals import PRINCIPALS, Role
from mappa_bus.settings import Settings
from mappa_bus.topics import bus_topic_specs
from mappa_bus.up_plan import Ports
from mappa_bus.up_plan import services as up_services
from tests.deploy.members import CONSUMERS, MEMBERS, METRICS_PORTS

REPO = Path(__file__).resolve().parents[2]
DOCKER = REPO / "deploy" / "docker"

# The long-running services and the command each runs; the jobs run once and exit.
SERVICES = {
    "picture": ["picture", "run"],
    # In its container, the API listens on every interface of that container.
    "picture-api": ["picture", "serve", "--host", "0.0.0.0", "--port", "8000"],  # noqa: S104
    "reporting": ["reporting", "run"],
    "alerts": ["alerts", "run"],
    "alerts-web": ["alerts", "web", "--host", "0.0.0.0", "--port", "8001"],  # noqa: S104
    "intake": ["intake", "run"],
}
KEK = "/kek/key-encryption-key"
JOBS = {
    "topics": ["topics", "create"],
    "demo": ["demo"],
    "keys": ["keys", "generate", "--output", "/keys/keyring.json"],
    "key-encryption-key": ["keys", "encryption-key", "--output", KEK, "--existing", "keep"],
}
# A job on the postgres image, not the project's: the key store's database.
DATABASE_JOBS = {"key-store"}
# Run by hand (`docker compose run --rm erasure erase ...`), never by `docker compose up`.
TOOLS = {"erasure": ["erase", "--help"]}
KEYRING = "/keys/keyring.json"
KEY_STORE_URL = "postgresql+psycopg://mappa@postgres:5432/mappa_keys"
KEK_VOLUME = "mappa-kek:/kek:ro"
# Everything that opens or makes case keys: sealed, with the key store and the key's file.
SEALED = {*MEMBERS, "alerts-web", "erasure"}
PASSWORD_VARIABLE = re.compile(r"\$\{(MAPPA_PASSWORD_[A-Z_]+):\?[^}]+\}")


def _load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, DOCKER / f"{name}.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


compose_env = _load("compose_env")
healthcheck = _load("healthcheck")


@pytest.fixture(scope="module")
def services() -> dict[str, dict[str, Any]]:
    compose = yaml.safe_load((REPO / "docker-compose.yml").read_text(encoding="utf-8"))
    result: dict[str, dict[str, Any]] = compose["services"]
    return result


def _environment(service: dict[str, Any]) -> dict[str, str]:
    environment = service.get("environment", {})
    assert isinstance(environment, dict), "environment as a mapping, so it can be checked"
    return {str(name): str(value) for name, value in environment.items()}


def test_every_service_is_there(services: dict[str, dict[str, Any]]) -> None:
    assert set(services) == {
        "kafka",
        "postgres",
        "keycloak",
        *SERVICES,
        *JOBS,
        *DATABASE_JOBS,
        *TOOLS,
    }
    for name, command in {**SERVICES, **JOBS, **TOOLS}.items():
        assert services[name]["command"] == command, name
        assert services[name]["build"]["dockerfile"] == "deploy/docker/Dockerfile", name
    # Only the tools wait to be asked for.
    assert {name for name, service in services.items() if "profiles" in service} == set(TOOLS)
    assert services["erasure"]["profiles"] == ["tools"]


def test_it_runs_what_mappa_up_runs(services: dict[str, dict[str, Any]]) -> None:
    """Every process `mappa up` starts when sealed (up_plan) is a compose service running the
    same command."""
    commands = [service.get("command", []) for service in services.values()]
    ports = Ports(picture=1, reporting=2, alerts=3, api=4, web=5, intake=6)
    for process in up_services(ports, "mappa"):
        first_option = next(
            (i for i, w in enumerate(process.args) if w.startswith("-")), len(process.args)
        )
        path = list(process.args[:first_option])
        assert any(command[: len(path)] == path for command in commands), process.name


def test_every_long_running_service_has_a_health_check_and_restarts(
    services: dict[str, dict[str, Any]],
) -> None:
    for name, service in services.items():
        if name in {*JOBS, *DATABASE_JOBS, *TOOLS}:
            # A job that restarted would never complete, and nothing could wait for it.
            assert service["restart"] == "no", name
            assert "healthcheck" not in service, name
            continue
        check = service.get("healthcheck")
        assert check is not None, f"{name} has no healthcheck"
        assert check["test"][0] == "CMD", f"{name}: exec form, no shell"
        assert service["restart"] == "unless-stopped", name
    assert services["postgres"]["healthcheck"]["test"][1] == "pg_isready"
    assert "kafka-broker-api-versions.sh" in services["kafka"]["healthcheck"]["test"][1]


def test_the_health_checks_ask_the_right_thing(services: dict[str, dict[str, Any]]) -> None:
    api = services["picture-api"]["healthcheck"]["test"]
    assert api[1:3] == ["python", "-c"]
    assert "urllib.request.urlopen('http://127.0.0.1:8000/healthz'" in api[3]
    assert services["picture-api"]["ports"] == ["127.0.0.1:8000:8000"]
    page = services["alerts-web"]
    # Any answer of the app itself: the page and its session need a signed-in person.
    assert page["healthcheck"]["test"][1:] == [
        "mappa-healthcheck",
        "http",
        "http://127.0.0.1:8001/static/alerts.css",
    ]
    assert page["ports"] == ["127.0.0.1:8001:8001"]
    for name in MEMBERS:
        test = services[name]["healthcheck"]["test"]
        # The consumer's own readiness endpoint, on the port its environment gives it.
        port = METRICS_PORTS[name]
        assert test[1:] == ["mappa-healthcheck", "http", f"http://127.0.0.1:{port}/readyz"], name
        assert _environment(services[name])[PORT_ENV] == str(port), name
        # Inside the container only: nothing publishes it, so scaled members do not collide.
        assert "ports" not in services[name], name
    # The script the checks call is in the image, where the checks look for it.
    dockerfile = (DOCKER / "Dockerfile").read_text(encoding="utf-8")
    assert "deploy/docker/healthcheck.py /usr/local/bin/mappa-healthcheck" in dockerfile


def test_services_start_in_order(services: dict[str, dict[str, Any]]) -> None:
    jobs = {*JOBS, *DATABASE_JOBS}
    for name, service in services.items():
        for dependency, how in service.get("depends_on", {}).items():
            expected = "service_completed_successfully" if dependency in jobs else "service_healthy"
            assert how == {"condition": expected}, f"{name} -> {dependency}"
    assert set(services["topics"]["depends_on"]) == {"kafka"}
    assert set(services["key-store"]["depends_on"]) == {"postgres"}
    keys = {"key-encryption-key", "key-store"}
    for name in CONSUMERS:
        assert set(services[name]["depends_on"]) == {"topics", "postgres", *keys}, name
    # The intake checks signatures: the keyring too.
    assert set(services["intake"]["depends_on"]) == {"topics", "keys", "postgres", *keys}
    assert set(services["picture-api"]["depends_on"]) == {"postgres", "keycloak"}
    assert set(services["alerts-web"]["depends_on"]) == {"topics", "postgres", "keycloak", *keys}
    assert set(services["erasure"]["depends_on"]) == {"postgres", *keys}


def test_every_consumer_connects_as_its_own_principal(
    services: dict[str, dict[str, Any]],
) -> None:
    seen: set[str] = set()
    for name, role in {**MEMBERS, "erasure": Role.ERASURE}.items():
        environment = _environment(services[name])
        assert environment["MAPPA_KAFKA_USERNAME"] == role.value, name
        password = PASSWORD_VARIABLE.fullmatch(environment["MAPPA_KAFKA_PASSWORD"])
        assert password is not None, f"{name}: its password must come from .env"
        assert password.group(1) == compose_env.variable(role.value), name
        assert environment["KAFKA_BOOTSTRAP_SERVERS"] == "kafka:29092"
        assert environment["MAPPA_DATABASE_URL"].startswith("postgresql+psycopg://")
        seen.add(role.value)
    assert len(seen) == len(MEMBERS) + 1
    # The API reads the store only: no Kafka principal at all.
    assert not any("KAFKA" in key for key in _environment(services["picture-api"]))
    # The alerts page reads alerts and writes acknowledgements as a coordinator would.
    page = _environment(services["alerts-web"])
    assert page["MAPPA_KAFKA_USERNAME"] == Role.COORDINATOR.value
    password = PASSWORD_VARIABLE.fullmatch(page["MAPPA_KAFKA_PASSWORD"])
    assert password is not None
    assert password.group(1) == compose_env.variable(Role.COORDINATOR.value)
    # Only the set-up and the demo are the super user, and never a service.
    admins = {
        name
        for name, service in services.items()
        if _environment(service).get("MAPPA_KAFKA_USERNAME") == "admin"
    }
    assert admins == {"topics", "demo"}


def _holders(services: dict[str, dict[str, Any]], volume: str) -> set[str]:
    return {
        name
        for name, service in services.items()
        if any(str(mount).startswith(f"{volume}:") for mount in service.get("volumes", []))
    }


def test_the_keyring_reaches_the_intake_and_the_demo_alone(
    services: dict[str, dict[str, Any]],
) -> None:
    """The `keys` job writes the keyring into its volume; the intake verifies with it and the
    demo signs with it, read-only; the consumers of the sealed record (which need no agency
    key: the intake checked every record), the broker, the API and the set-up never see it."""
    assert _holders(services, "mappa-keys") == {"keys", "demo", "intake"}
    assert services["keys"]["volumes"] == ["mappa-keys:/keys"]
    assert "mappa-keys:/keys:ro" in services["intake"]["volumes"]
    assert _environment(services["intake"])["MAPPA_VERIFY_KEYS"] == KEYRING
    for name in SERVICES:
        assert "MAPPA_SIGNING_KEYS" not in _environment(services[name]), name
        if name != "intake":
            assert "MAPPA_VERIFY_KEYS" not in _environment(services[name]), name
    demo = _environment(services["demo"])
    assert (demo["MAPPA_SIGNING_KEYS"], demo["MAPPA_VERIFY_KEYS"]) == (KEYRING, KEYRING)
    assert services["demo"]["depends_on"]["keys"] == {"condition": "service_completed_successfully"}


def test_every_reader_of_the_record_runs_sealed_with_the_case_keys(
    services: dict[str, dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The intake, the consumers, the alerts page and the erasure tool: MAPPA_RECORD=sealed,
    the key store in its own database on the compose PostgreSQL, and the key-encryption key as
    a file in the mappa-kek volume, mounted read-only, as the settings read them."""
    for name in SEALED:
        environment = _environment(services[name])
        with monkeypatch.context() as patch:
            for key, value in environment.items():
                patch.setenv(key, value)
            settings = Settings()
        assert settings.sealed(), name
        assert settings.key_store_url == KEY_STORE_URL, name
        assert str(settings.key_encryption_key_path()) == KEK, name
        assert KEK_VOLUME in services[name]["volumes"], name
    # Its own database, apart from the services' store.
    assert _environment(services["picture"])["MAPPA_DATABASE_URL"] != KEY_STORE_URL
    # Nothing else opens case keys: the API reads the store, the set-up makes topics.
    for name in set(services) - SEALED:
        assert "MAPPA_KEY_ENCRYPTION_KEY" not in _environment(services[name]), name
        assert "MAPPA_KEY_STORE_URL" not in _environment(services[name]), name


def test_the_key_encryption_key_is_made_once_into_its_volume(
    services: dict[str, dict[str, Any]],
) -> None:
    """The `key-encryption-key` job writes it where the services read it, keeping one already
    there (a new one would orphan every case key), and alone mounts the volume writable."""
    job = services["key-encryption-key"]
    command = job["command"]
    assert command[command.index("--output") + 1] == KEK
    assert command[command.index("--existing") + 1] == "keep"
    assert job["volumes"] == ["mappa-kek:/kek"]
    assert _holders(services, "mappa-kek") == SEALED | {"key-encryption-key"}
    for name in SEALED:
        assert services[name]["volumes"].count(KEK_VOLUME) == 1, name
    # A fresh named volume takes the image's directory: the image's user's, closed to others.
    dockerfile = (DOCKER / "Dockerfile").read_text(encoding="utf-8")
    assert re.search(r"install -d -o 10001 -g 10001 -m 0700 [^\n]*/kek\b", dockerfile)


def test_the_key_encryption_key_is_never_in_an_image_or_a_setting(
    services: dict[str, dict[str, Any]], tmp_path: Path
) -> None:
    """No environment value anywhere is a key (64 hex digits), the setting is a path, .env
    holds no such key, and the image copies in nothing but the code and its health check."""
    key = re.compile(r"[0-9a-fA-F]{64}")
    for name, service in services.items():
        for variable, value in _environment(service).items():
            assert not key.search(value), f"{name}: {variable}"
        if name in SEALED:
            assert _environment(service)["MAPPA_KEY_ENCRYPTION_KEY"].startswith("/kek/"), name
            assert "env_file" not in service, name
    env_file = tmp_path / "compose.env"
    assert compose_env.main(["--output", str(env_file)]) == 0
    assert "ENCRYPTION" not in env_file.read_text(encoding="utf-8")
    dockerfile = (DOCKER / "Dockerfile").read_text(encoding="utf-8")
    copied = re.findall(r"^(?:COPY|ADD)\s+(?:--\S+\s+)*(.+?)\s+\S+$", dockerfile, re.MULTILINE)
    sources = {source for line in copied for source in line.split()}
    assert sources == {"pyproject.toml", "README.md", "services", "deploy/docker/healthcheck.py"}


def test_topics_are_made_sealed_and_the_key_store_its_database(
    services: dict[str, dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`mappa topics create` reads MAPPA_RECORD=sealed (the agency topics a 7-day ingress, the
    dead letters a month); the key-store job makes the database the key store URL names."""
    with monkeypatch.context() as patch:
        for key, value in _environment(services["topics"]).items():
            patch.setenv(key, value)
        assert Settings().sealed()
    sealed = {spec.name: spec.config for spec in bus_topic_specs(sealed=True)}
    assert sealed["mappa.police.events"]["retention.ms"] == str(7 * 24 * 3600 * 1000)
    job = services["key-store"]
    assert job["image"] == services["postgres"]["image"]
    (mount,) = job["volumes"]
    source, target, mode = mount.split(":")
    assert mode == "ro"
    assert f"--file={target}" in job["command"]
    assert "--host=postgres" in job["command"]
    sql = (REPO / source).read_text(encoding="utf-8")
    database = KEY_STORE_URL.rsplit("/", 1)[1]
    assert f"CREATE DATABASE {database}'" in sql
    assert f"datname = '{database}'" in sql


def test_the_web_services_meet_the_issuer_as_the_browser_and_as_a_container(
    services: dict[str, dict[str, Any]],
) -> None:
    """Tokens name the issuer as the browser reaches it (localhost:8180); the API and the alerts
    page read its metadata over the compose network, and the page answers the browser's host
    names and its own health check's."""
    for name in ("picture-api", "alerts-web"):
        environment = _environment(services[name])
        assert environment["MAPPA_OIDC_ISSUER"] == "http://localhost:8180/realms/mappa", name
        assert environment["MAPPA_OIDC_DISCOVERY_URL"] == (
            "http://keycloak:8180/realms/mappa/.well-known/openid-configuration"
        ), name
    keycloak = services["keycloak"]["command"]
    assert {"--hostname=http://localhost:8180", "--hostname-backchannel-dynamic=true"} <= set(
        keycloak
    )
    page = _environment(services["alerts-web"])
    assert set(page["MAPPA_ALLOWED_HOSTS"].split(",")) == {"localhost", "127.0.0.1"}
    assert (
        page["MAPPA_PICTURES_DATABASE_URL"]
        == _environment(services["picture"])["MAPPA_DATABASE_URL"]
    )


def test_no_password_is_written_in_the_yaml(tmp_path: Path) -> None:
    text = (REPO / "docker-compose.yml").read_text(encoding="utf-8")
    # Every password is a reference to a variable that compose_env.py writes into .env.
    env_file = tmp_path / "compose.env"
    assert compose_env.main(["--output", str(env_file)]) == 0
    generated = dict(
        line.split("=", 1)
        for line in env_file.read_text(encoding="utf-8").splitlines()
        if not line.startswith("#")
    )
    principals = {compose_env.variable(name) for name in PRINCIPALS}
    assert set(generated) == principals | set(compose_env.keycloak_variables())
    for name in re.findall(r"\$\{(\w+)", text):
        assert name in generated, f"${{{name}}} is not in the generated .env"
    for password in generated.values():
        assert password not in text
    # Password settings: a ${...} reference, nothing else.
    assignments = re.findall(r"^\s+(\w*PASSWORD\w*):\s*(.+)$", text, re.MULTILINE)
    assert assignments, "the services' passwords are set somewhere"
    for key, value in assignments:
        if key == "POSTGRES_HOST_AUTH_METHOD":
            continue
        assert value.startswith(("${MAPPA_PASSWORD_", "${MAPPA_KEYCLOAK_")), f"{key}: {value}"
    for value in re.findall(r'password="([^"]*)"', text):
        assert PASSWORD_VARIABLE.fullmatch(value), f"a JAAS password literal: {value}"


def _click_command(words: list[str]) -> Any:
    """The (click) command `mappa WORDS...` runs; typer carries its own copy of click."""
    command: Any = typer.main.get_command(app)
    for word in words:
        subcommands = getattr(command, "commands", {})
        assert word in subcommands, f"`mappa {' '.join(words)}`: no command {word!r}"
        command = subcommands[word]
    return command


@pytest.mark.parametrize("name", sorted({**SERVICES, **JOBS, **TOOLS}))
def test_every_command_exists_in_the_cli(name: str) -> None:
    argv = {**SERVICES, **JOBS, **TOOLS}[name]
    # The command path comes first, then its options and their values.
    first_option = next((i for i, word in enumerate(argv) if word.startswith("-")), len(argv))
    path = argv[:first_option]
    options = {word for word in argv if word.startswith("--")} - {"--help"}
    result = CliRunner().invoke(app, [*path, "--help"])
    assert result.exit_code == 0, result.output
    known = {opt for param in _click_command(path).params for opt in param.opts}
    assert options <= known, f"`mappa {' '.join(path)}` has no {sorted(options - known)}"


def test_compose_env_is_what_the_compose_file_expects() -> None:
    # Kept beside docker-compose.yml's own ${...:?} messages.
    assert "deploy/docker/compose_env.py" in (REPO / "docker-compose.yml").read_text()
    assert compose_env.variable("childrens-services") == "MAPPA_PASSWORD_CHILDRENS_SERVICES"


# The health check script.


def _fake_proc(tmp_path: Path, argv: list[str], state: str = "S") -> Path:
    proc = tmp_path / "proc"
    (proc / "1").mkdir(parents=True)
    (proc / "1" / "cmdline").write_bytes("\0".join(argv).encode() + b"\0")
    (proc / "1" / "stat").write_text(f"1 (mappa (x)) {state} 0 1 1 0 -1\n")
    return proc


MAPPA = ["/usr/local/bin/python3.11", "/usr/local/bin/mappa"]


def test_the_process_check_passes_for_the_running_command(tmp_path: Path) -> None:
    proc = _fake_proc(tmp_path, [*MAPPA, "picture", "run"])
    assert healthcheck.main(["process", "--proc", str(proc), "picture", "run"]) == 0


@pytest.mark.parametrize(
    ("argv", "state", "why"),
    [
        ([*MAPPA, "picture", "run"], "Z", "not running"),
        ([*MAPPA, "picture", "run"], "T", "not running"),
        ([*MAPPA, "alerts", "run"], "S", "is not `mappa picture run`"),
        (["/usr/bin/sleep", "picture", "run"], "S", "is not mappa"),
    ],
)
def test_the_process_check_fails_otherwise(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str], state: str, why: str
) -> None:
    proc = _fake_proc(tmp_path, argv, state)
    assert healthcheck.main(["process", "--proc", str(proc), "picture", "run"]) == 1
    assert why in capsys.readouterr().err


def test_the_process_check_fails_without_the_process(tmp_path: Path) -> None:
    assert healthcheck.main(["process", "--proc", str(tmp_path), "picture", "run"]) == 1


def test_the_database_check(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    proc = _fake_proc(tmp_path, [*MAPPA, "reporting", "run"])
    argv = ["process", "--database", "--proc", str(proc), "reporting", "run"]
    monkeypatch.setenv("MAPPA_DATABASE_URL", f"sqlite:///{tmp_path / 'store.db'}")
    assert healthcheck.main(argv) == 0
    monkeypatch.setenv("MAPPA_DATABASE_URL", f"sqlite:///{tmp_path / 'missing' / 'store.db'}")
    assert healthcheck.main(argv) == 1
    err = capsys.readouterr().err
    assert "the database does not answer: OperationalError" in err
    assert "missing" not in err, "the URL (which holds a password in production) is not shown"
    monkeypatch.delenv("MAPPA_DATABASE_URL")
    assert healthcheck.main(argv) == 1


# What an unready consumer's /readyz answers (services/mappa_bus/operations/http.py).
NOT_READY = (
    b'{"status":"not ready","failing":{"store":"the store does not answer: OperationalError"}}'
)


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200 if self.path == "/healthz" else 503)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        if self.path == "/readyz":
            self.wfile.write(NOT_READY)

    def log_message(self, format: str, *args: Any) -> None:
        return None


@pytest.fixture
def server() -> Iterator[str]:
    httpd = http.server.HTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_the_http_check(server: str) -> None:
    assert healthcheck.main(["--timeout", "2", "http", f"{server}/healthz"]) == 0
    assert healthcheck.main(["--timeout", "2", "http", f"{server}/down"]) == 1
    assert healthcheck.main(["http", "file:///etc/passwd"]) == 1


def test_the_http_check_says_why_a_consumer_is_not_ready(
    server: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert healthcheck.main(["--timeout", "2", "http", f"{server}/readyz"]) == 1
    err = capsys.readouterr().err
    assert "HTTP 503" in err
    assert "the store does not answer: OperationalError" in err
    # Nothing listening (a port just freed): unhealthy, not an exception.
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed = sock.getsockname()[1]
    assert healthcheck.main(["--timeout", "2", "http", f"http://127.0.0.1:{closed}/readyz"]) == 1


def test_the_api_health_check_command_runs(server: str) -> None:
    """The compose check's own Python, against a server that answers, then one that fails."""
    code = "import urllib.request; urllib.request.urlopen('{}', timeout=5)"
    ok = subprocess.run([sys.executable, "-c", code.format(f"{server}/healthz")], check=False)
    down = subprocess.run(
        [sys.executable, "-c", code.format(f"{server}/down")], check=False, capture_output=True
    )
    assert (ok.returncode, down.returncode) == (0, 1)
