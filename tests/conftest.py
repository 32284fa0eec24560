"""Fixtures shared by every test: above all, a real Kafka broker.

The broker comes from, in this order: `KAFKA_BOOTSTRAP_SERVERS` when set; a testcontainers Kafka
when a Docker engine answers; else the project's own local broker (`deploy/kafka/kafka-local`),
started on free ports chosen at run time with a throwaway data dir, stopped and removed at the end
(`MAPPA_TEST_KAFKA_PORT` pins the port instead: the port's own data dir, and a broker already
running there is reused).
Under `CI=true` a broker that cannot be had fails the tests that need it; elsewhere it skips them.

The stores' databases come from `database_url`, once for each engine the stores run on: SQLite (a
file of the test's own) and PostgreSQL (a database of the test's own on `postgres_url`'s server:
`MAPPA_TEST_POSTGRES_URL` when set, else the project's local cluster `deploy/postgres/pg-local`,
which installs PostgreSQL from Debian's packages when it is missing, on a free port with a
throwaway data dir, or on `MAPPA_TEST_POSTGRES_PORT`). PostgreSQL is had, skipped or failed as
the broker is.

The local broker is secured as the run command's is (SASL/SCRAM, ACLs; `KAFKA_SECURITY=plaintext`
opts out): `kafka` then connects as the super user, and `kafka_as("police")` as any principal.
A broker given by `KAFKA_BOOTSTRAP_SERVERS` is secured when `MAPPA_KAFKA_CREDENTIALS` names its
credentials file.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

import pytest
import sqlalchemy
import structlog
from sqlalchemy.pool import NullPool

from mappa_bus.connection import KafkaConnection
from mappa_bus.credentials import Credentials, read_credentials
from mappa_bus.kafka_admin import ensure_acls, ensure_topics
from mappa_bus.keyring import write_keyring
from mappa_bus.principals import ADMIN, acl_bindings
from mappa_bus.topics import bus_topic_specs
from tests.keycloak import (
    KeycloakUnavailable,
    KeycloakUnderTest,
    LocalKeycloak,
    configured_keycloak,
)
from tests.keys import KEYRING
from tests.oidc import LocalIssuer, serve_issuer
from tests.ports import free_port, free_port_pair, port_from

REPO = Path(__file__).resolve().parent.parent
KAFKA_LOCAL = REPO / "deploy" / "kafka" / "kafka-local"
PG_LOCAL = REPO / "deploy" / "postgres" / "pg-local"


# `make test` runs the suite in two pytest-xdist workers (`--dist loadgroup`): each worker has its
# own session broker and PostgreSQL, which are cheap; Keycloak and Chromium are not, so every
# test that needs either is kept on one worker. The rest go a module at a time, so a module's
# fixtures are made once, and in the order collected: the long integration modules first, the
# many short unit modules filling in at the end.
ONE_WORKER_FIXTURES = frozenset({"keycloak", "browser", "chromium"})


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        needs = ONE_WORKER_FIXTURES.intersection(getattr(item, "fixturenames", ()))
        group = "keycloak-and-chromium" if needs else item.nodeid.split("::", 1)[0]
        item.add_marker(pytest.mark.xdist_group(group))


def _docker_engine_answers() -> bool:
    try:
        import docker

        docker.from_env(timeout=3).ping()
    except Exception:  # any failure to reach an engine means "no Docker here"
        return False
    return True


@contextmanager
def throwaway_dir(prefix: str) -> Iterator[Path]:
    """A fresh directory under the system's temp dir, removed at the end of the block: a local
    server's data dir for one session, so that a new port each run leaves nothing behind."""
    path = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@dataclass(frozen=True)
class BrokerUnderTest:
    """The session's broker: where it is and, when it is secured, its principals' passwords."""

    bootstrap: str
    credentials: Credentials | None = None

    def client_env(self) -> dict[str, str]:
        """The variables that point a `mappa` command at this broker as its principals."""
        return {
            "KAFKA_BOOTSTRAP_SERVERS": self.bootstrap,
            "MAPPA_KAFKA_CREDENTIALS": str(self.credentials.path) if self.credentials else "",
        }


@pytest.fixture
def service_env(kafka_broker: BrokerUnderTest) -> dict[str, str]:
    """The environment of a `mappa` service run as a subprocess: this session's broker and its
    credentials, JSON logs, and no operations port a developer's environment may name (two
    services would contend for it). A test adds what it needs on top."""
    env = {**os.environ, **kafka_broker.client_env(), "MAPPA_LOG_FORMAT": "json"}
    env.pop("MAPPA_METRICS_PORT", None)
    return env


@pytest.fixture(scope="session")
def kafka(kafka_broker: BrokerUnderTest) -> KafkaConnection:
    """A connection to the session's real Kafka broker, with full (administrative) rights:
    the super user on a secured broker."""
    connection = KafkaConnection(kafka_broker.bootstrap)
    if kafka_broker.credentials is None:
        return connection
    return connection.as_principal(ADMIN, kafka_broker.credentials.password(ADMIN))


@pytest.fixture(scope="session")
def kafka_bootstrap(kafka_broker: BrokerUnderTest) -> str:
    """The bootstrap address of the session's real Kafka broker."""
    return kafka_broker.bootstrap


@pytest.fixture
def namespace(unique: str) -> str:
    """A topic namespace of this test's own (`<namespace>.<agency>.events`, ...)."""
    return f"test-{unique}"


@pytest.fixture
async def kafka_as(
    kafka: KafkaConnection, kafka_broker: BrokerUnderTest, namespace: str
) -> Callable[[str], KafkaConnection]:
    """Connections as any principal, e.g. `kafka_as("probation")`, on a secured broker whose
    `namespace` topics exist with the ACLs principals.py grants (as `mappa topics create` sets
    them up for the `mappa` namespace). Fails under CI, skips elsewhere, on a plaintext broker.
    """
    credentials = kafka_broker.credentials
    if credentials is None:
        unavailable("this test needs a secured broker (SASL/SCRAM and ACLs), and this one is not")
    await ensure_topics(kafka, bus_topic_specs(namespace))
    await ensure_acls(kafka, acl_bindings(namespace))

    def connect(principal: str) -> KafkaConnection:
        return kafka.as_principal(principal, credentials.password(principal))

    return connect


@pytest.fixture(scope="session")
def kafka_broker() -> Iterator[BrokerUnderTest]:
    """A real Kafka broker for this test session."""
    configured = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    if configured:
        given = os.environ.get("MAPPA_KAFKA_CREDENTIALS")
        yield BrokerUnderTest(configured, read_credentials(Path(given)) if given else None)
        return
    if _docker_engine_answers():
        from testcontainers.community.kafka import KafkaContainer

        with KafkaContainer("confluentinc/cp-kafka:7.6.0").with_kraft() as container:
            yield BrokerUnderTest(container.get_bootstrap_server())
        return
    pinned = port_from("MAPPA_TEST_KAFKA_PORT")
    if pinned is not None or "KAFKA_DATA_DIR" in os.environ:
        yield from _local_broker(pinned or free_port_pair(), {})
        return
    with throwaway_dir("mappa-test-kafka-") as data_dir:
        # Its data dir is deleted after it, so it need not stop gracefully: at the end of a
        # whole suite (thousands of partitions) the session's teardown took 24-46 s.
        throwaway = {"KAFKA_DATA_DIR": str(data_dir), "KAFKA_STOP_TIMEOUT": "5"}
        yield from _local_broker(free_port_pair(), throwaway)


def _kafka_local(command: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(KAFKA_LOCAL), command], env=env, capture_output=True, text=True, check=False
    )


def _local_broker(port: int, extra_env: dict[str, str]) -> Iterator[BrokerUnderTest]:
    env = {
        **os.environ,
        "KAFKA_PORT": str(port),
        "KAFKA_CONTROLLER_PORT": str(port + 1),
        **extra_env,
    }
    # A pinned port's own data dir holds only earlier sessions' throwaway topics (a dozen per
    # test), or was left by a session from before the local broker was secured: it is started
    # afresh. A data dir someone named (KAFKA_DATA_DIR), or a fresh one, is used as it is.
    own_port_dir = "KAFKA_DATA_DIR" not in env
    already_running = _kafka_local("status", env).returncode == 0
    if not already_running and own_port_dir:
        _kafka_local("reset", env)
    started = _kafka_local("start", env)
    if (
        started.returncode != 0
        and own_port_dir
        and any(
            reason in started.stderr for reason in ("formatted without security", "already running")
        )
    ):
        _kafka_local("reset", env)
        already_running = False
        started = _kafka_local("start", env)
    if started.returncode != 0:
        unavailable(f"the local Kafka broker did not start:\n{started.stdout}\n{started.stderr}")
    credentials = None
    if env.get("KAFKA_SECURITY", "scram") != "plaintext":
        path = subprocess.run(
            [str(KAFKA_LOCAL), "credentials"], env=env, capture_output=True, text=True, check=True
        ).stdout.strip()
        credentials = read_credentials(Path(path))
    try:
        yield BrokerUnderTest(f"127.0.0.1:{port}", credentials)
    finally:
        if not already_running:
            _kafka_local("stop", env)


def unavailable(reason: str) -> NoReturn:
    """Something a test needs (a broker, a database, a tool) cannot be had: under `CI=true` the
    test fails, elsewhere it is skipped."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(reason)
    pytest.skip(reason)


@dataclass(frozen=True)
class LocalPostgres:
    """The session's own pg-local cluster: the environment its script's commands run in."""

    env: dict[str, str]

    def run(self, command: str) -> subprocess.CompletedProcess[str]:
        """`pg-local <command>` on this cluster (start, stop, status, ...)."""
        return subprocess.run(
            [str(PG_LOCAL), command], env=self.env, capture_output=True, text=True, check=False
        )


@pytest.fixture(scope="session")
def local_postgres() -> Iterator[LocalPostgres]:
    """The project's local PostgreSQL cluster for this session, started (installing PostgreSQL
    first when it is missing) on a free port with a throwaway data dir, stopped and removed at
    the end; on `MAPPA_TEST_POSTGRES_PORT` (with that port's own data dir, a cluster already
    running there reused) when it is set. Tests want `database_url`; a test that stops and
    starts the cluster wants this."""
    env = {**os.environ}
    env.pop("PG_DATA_DIR", None)  # a developer's own cluster's data dir is not the tests'
    pinned = port_from("MAPPA_TEST_POSTGRES_PORT")
    if pinned is not None:
        yield from _local_postgres(LocalPostgres({**env, "PG_PORT": str(pinned)}))
        return
    with throwaway_dir("mappa-test-postgres-") as data_dir:
        cluster = {"PG_PORT": str(free_port()), "PG_DATA_DIR": str(data_dir)}
        yield from _local_postgres(LocalPostgres({**env, **cluster}))


def _local_postgres(cluster: LocalPostgres) -> Iterator[LocalPostgres]:
    already_running = cluster.run("status").returncode == 0
    started = cluster.run("start")
    if started.returncode != 0:
        unavailable(f"the local PostgreSQL cluster did not start:\n{started.stderr}")
    try:
        yield cluster
    finally:
        if not already_running:
            cluster.run("stop")


@pytest.fixture(scope="session")
def postgres_url(request: pytest.FixtureRequest) -> str:
    """The SQLAlchemy URL of a real PostgreSQL server for this session, as a superuser (or a role
    that may create databases): `MAPPA_TEST_POSTGRES_URL` when set, else `local_postgres`'s.
    Tests want `database_url`, which gives each its own database."""
    configured = os.environ.get("MAPPA_TEST_POSTGRES_URL")
    if configured:
        return configured
    cluster: LocalPostgres = request.getfixturevalue("local_postgres")
    url: str = cluster.run("url").stdout.strip()
    return url


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database of this test's own, once on each engine the stores run on: a
    SQLite file in `tmp_path`, and a database created on `postgres_url`'s server (dropped after).
    The test disposes of the engines it makes."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'store.db'}"
        return
    server = sqlalchemy.make_url(request.getfixturevalue("postgres_url"))
    name = f"mappa_test_{uuid.uuid4().hex[:12]}"
    # CREATE and DROP DATABASE cannot run inside a transaction; NullPool keeps no connection open.
    admin = sqlalchemy.create_engine(server, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    with admin.connect() as connection:
        connection.execute(sqlalchemy.text(f'CREATE DATABASE "{name}"'))
    try:
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            # FORCE: connections a test left open must not keep its database alive.
            connection.execute(sqlalchemy.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session", autouse=True)
def _signing_keys(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Every publisher and consumer of the session, the commands included, signs and verifies
    with tests/keys.py's keyring (a test that wants another sets the variables itself)."""
    path = tmp_path_factory.mktemp("keys") / "keyring.json"
    write_keyring(path, KEYRING)
    names = ("MAPPA_SIGNING_KEYS", "MAPPA_VERIFY_KEYS")
    before = {name: os.environ.get(name) for name in names}
    os.environ.update(dict.fromkeys(names, str(path)))
    yield
    for name, value in before.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


@pytest.fixture
def unique() -> str:
    """A suffix that keeps this test's topics and consumer groups apart from every other's."""
    return uuid.uuid4().hex[:12]


@pytest.fixture(autouse=True)
def _reset_structlog() -> Iterator[None]:
    """Undo any logging configuration a test made, so the next one starts from defaults."""
    yield
    structlog.reset_defaults()


@pytest.fixture(scope="session")
def keycloak(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KeycloakUnderTest]:
    """A real OpenID Connect issuer (Keycloak, realm `mappa`) for this session: `KEYCLOAK_ISSUER`
    when set, else the project's keycloak-local on free ports with a data dir of this session's
    own, stopped again at the end. Had, skipped or failed as the broker is."""
    try:
        configured = configured_keycloak()
    except KeycloakUnavailable as error:
        unavailable(str(error))
    if configured is not None:
        yield configured
        return
    local = LocalKeycloak.on_free_ports(tmp_path_factory.mktemp("keycloak"))
    try:
        issuer = local.start()
    except KeycloakUnavailable as error:
        local.stop()
        unavailable(str(error))
    try:
        yield issuer
    finally:
        local.stop()


@pytest.fixture(scope="session")
def oidc_issuer() -> Iterator[LocalIssuer]:
    """A small real OpenID Connect issuer (discovery and JWKS over HTTP) on a free port."""
    yield from serve_issuer()
