"""Fixtures shared by every test: above all, a real Kafka broker.

The broker comes from, in this order: `KAFKA_BOOTSTRAP_SERVERS` when set; a testcontainers Kafka
when a Docker engine answers; else the project's own local broker (`deploy/kafka/kafka-local`),
started on test ports with its own data dir and stopped again if this session started it.
Under `CI=true` a broker that cannot be had fails the tests that need it; elsewhere it skips them.

The stores' databases come from `database_url`, once for each engine the stores run on: SQLite (a
file of the test's own) and PostgreSQL (a database of the test's own on `postgres_url`'s server:
`MAPPA_TEST_POSTGRES_URL` when set, else the project's local cluster `deploy/postgres/pg-local`,
which installs PostgreSQL from Debian's packages when it is missing). PostgreSQL is had, skipped
or failed as the broker is.

The local broker is secured as the run command's is (SASL/SCRAM, ACLs; `KAFKA_SECURITY=plaintext`
opts out): `kafka` then connects as the super user, and `kafka_as("police")` as any principal.
A broker given by `KAFKA_BOOTSTRAP_SERVERS` is secured when `MAPPA_KAFKA_CREDENTIALS` names its
credentials file.
"""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import Callable, Iterator
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

REPO = Path(__file__).resolve().parent.parent
KAFKA_LOCAL = REPO / "deploy" / "kafka" / "kafka-local"
# Test ports differ from the default 9092 so that the test suite never touches (or stops) a
# broker a developer is using for the demo.
TEST_KAFKA_PORT = int(os.environ.get("MAPPA_TEST_KAFKA_PORT", "19092"))
PG_LOCAL = REPO / "deploy" / "postgres" / "pg-local"
# Likewise a PostgreSQL port (and so a data dir) of the tests' own, apart from pg-local's 55432.
TEST_POSTGRES_PORT = int(os.environ.get("MAPPA_TEST_POSTGRES_PORT", "55433"))


def _docker_engine_answers() -> bool:
    try:
        import docker

        docker.from_env(timeout=3).ping()
    except Exception:  # any failure to reach an engine means "no Docker here"
        return False
    return True


def _local_broker_env(port: int) -> dict[str, str]:
    return {
        **os.environ,
        "KAFKA_PORT": str(port),
        "KAFKA_CONTROLLER_PORT": str(port + 1),
    }


@dataclass(frozen=True)
class BrokerUnderTest:
    """The session's broker: where it is and, when it is secured, its principals' passwords."""

    bootstrap: str
    credentials: Credentials | None = None


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
        _no_broker("this test needs a secured broker (SASL/SCRAM and ACLs), and this one is not")
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
    yield from _local_broker(TEST_KAFKA_PORT)


def _kafka_local(command: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(KAFKA_LOCAL), command], env=env, capture_output=True, text=True, check=False
    )


def _local_broker(port: int) -> Iterator[BrokerUnderTest]:
    env = _local_broker_env(port)
    already_running = _kafka_local("status", env).returncode == 0
    if not already_running and "KAFKA_DATA_DIR" not in os.environ:
        # The test port's data dir holds only earlier sessions' throwaway topics (a dozen per
        # test): starting afresh keeps start-up at seconds rather than loading thousands.
        _kafka_local("reset", env)
    started = _kafka_local("start", env)
    if (
        started.returncode != 0
        and "KAFKA_DATA_DIR" not in os.environ
        and any(
            reason in started.stderr for reason in ("formatted without security", "already running")
        )
    ):
        # The test port's own data dir, left by a test session from before the local broker was
        # secured (or by one that opted out): it holds only test data, so start it afresh.
        _kafka_local("reset", env)
        already_running = False
        started = _kafka_local("start", env)
    if started.returncode != 0:
        _no_broker(f"the local Kafka broker did not start:\n{started.stdout}\n{started.stderr}")
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


def _no_broker(reason: str) -> NoReturn:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(reason)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """The SQLAlchemy URL of a real PostgreSQL server for this session, as a superuser (or a role
    that may create databases): `MAPPA_TEST_POSTGRES_URL` when set; else the local cluster, started
    on the test port (installing PostgreSQL first when it is missing) and stopped again if this
    session started it. Tests want `database_url`, which gives each its own database."""
    configured = os.environ.get("MAPPA_TEST_POSTGRES_URL")
    if configured:
        yield configured
        return
    env = {**os.environ, "PG_PORT": str(TEST_POSTGRES_PORT)}
    env.pop("PG_DATA_DIR", None)  # a developer's own cluster's data dir is not the tests'
    already_running = _pg_local("status", env).returncode == 0
    started = _pg_local("start", env)
    if started.returncode != 0:
        _no_broker(f"the local PostgreSQL cluster did not start:\n{started.stderr}")
    try:
        yield started.stdout.strip().splitlines()[-1]
    finally:
        if not already_running:
            _pg_local("stop", env)


def _pg_local(command: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(PG_LOCAL), command], env=env, capture_output=True, text=True, check=False
    )


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
        _no_broker(str(error))
    if configured is not None:
        yield configured
        return
    local = LocalKeycloak.on_free_ports(tmp_path_factory.mktemp("keycloak"))
    try:
        issuer = local.start()
    except KeycloakUnavailable as error:
        local.stop()
        _no_broker(str(error))
    try:
        yield issuer
    finally:
        local.stop()


@pytest.fixture(scope="session")
def oidc_issuer() -> Iterator[LocalIssuer]:
    """A small real OpenID Connect issuer (discovery and JWKS over HTTP) on a free port."""
    yield from serve_issuer()
