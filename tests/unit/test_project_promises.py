"""The promises the repository makes to a newcomer: the README's commands, CI, docker-compose."""

import re
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]


def _first_code_block(markdown: str) -> list[str]:
    match = re.search(r"```[a-z]*\n(.*?)```", markdown, re.DOTALL)
    assert match, "the README has no fenced code block"
    return [line for line in match.group(1).splitlines() if line.strip()]


def test_readme_opens_with_the_run_and_the_test_command() -> None:
    """The README's first code block holds exactly two commands: run, then test."""
    commands = _first_code_block((REPO / "README.md").read_text())

    assert commands == ["make demo", "make test"]


def test_ci_runs_the_readme_test_command() -> None:
    """CI proves the README: `.ci/run` calls the README's test command and nothing else."""
    test_command = _first_code_block((REPO / "README.md").read_text())[1]
    ci_lines = [
        line.strip()
        for line in (REPO / ".ci" / "run").read_text().splitlines()
        if line.strip() and not line.startswith("#") and not line.startswith(("set ", "cd "))
    ]

    assert ci_lines == [test_command]


def test_docker_compose_parses_and_has_the_services_the_readme_promises() -> None:
    """docker-compose.yml is valid YAML naming Kafka (KRaft) and the project's services."""
    compose = yaml.safe_load((REPO / "docker-compose.yml").read_text())

    assert set(compose["services"]) == {
        "kafka",
        "keycloak",
        "topics",
        "keys",
        "demo",
        "postgres",
        "picture",
        "picture-api",
        "reporting",
        "alerts",
        "alerts-web",
        # Sealed, as `mappa up` runs: the intake, the case keys' set-up and the erasure tool.
        "intake",
        "key-encryption-key",
        "key-store",
        "erasure",
    }
    kafka = compose["services"]["kafka"]
    assert kafka["image"].startswith("apache/kafka:")
    assert kafka["environment"]["KAFKA_PROCESS_ROLES"] == "broker,controller"
    assert kafka["environment"]["KAFKA_AUTO_CREATE_TOPICS_ENABLE"] == "false"
    assert "docker compose up" in (REPO / "README.md").read_text()


def test_compose_uses_the_same_kafka_version_as_the_local_broker() -> None:
    """The Docker image and the Maven-assembled broker run the same Kafka release."""
    pom = (REPO / "deploy" / "kafka" / "pom.xml").read_text()
    local_version = re.search(r"<kafka.version>([^<]+)</kafka.version>", pom)
    compose = yaml.safe_load((REPO / "docker-compose.yml").read_text())

    assert local_version
    assert compose["services"]["kafka"]["image"] == f"apache/kafka:{local_version.group(1)}"


def test_compose_runs_kafka_secured_as_the_local_broker_is() -> None:
    """docker-compose.yml's broker takes only SASL (SCRAM for clients), authorises with ACLs
    and a single super user, and its set-up and demo services connect as that super user."""
    compose = yaml.safe_load((REPO / "docker-compose.yml").read_text())
    services = compose["services"]
    env = services["kafka"]["environment"]
    protocols = {
        entry.split(":")[1] for entry in env["KAFKA_LISTENER_SECURITY_PROTOCOL_MAP"].split(",")
    }

    assert protocols == {"SASL_PLAINTEXT"}
    assert env["KAFKA_SASL_ENABLED_MECHANISMS"] == "SCRAM-SHA-256"
    assert env["KAFKA_AUTHORIZER_CLASS_NAME"] == (
        "org.apache.kafka.metadata.authorizer.StandardAuthorizer"
    )
    assert env["KAFKA_SUPER_USERS"] == "User:admin"
    assert env["KAFKA_ALLOW_EVERYONE_IF_NO_ACL_FOUND"] == "false"
    assert services["topics"]["command"] == ["topics", "create"]
    for name in ("topics", "demo"):
        assert services[name]["environment"]["MAPPA_KAFKA_USERNAME"] == "admin"


_REFERENCE = re.compile(r"^\$\{MAPPA_PASSWORD_([A-Z_]+):\?")


def test_compose_holds_no_password_only_references_to_the_generated_env_file() -> None:
    """Every password in docker-compose.yml is `${MAPPA_PASSWORD_...}` from .env, which git
    ignores."""
    text = (REPO / "docker-compose.yml").read_text()
    passwords = re.findall(r'(?:password|user_admin)="([^"]*)"', text) + re.findall(
        r"MAPPA_KAFKA_PASSWORD: (.*)", text
    )

    principals = {
        match.group(1).lower() for value in passwords if (match := _REFERENCE.match(value))
    }
    assert passwords
    assert all(_REFERENCE.match(value) for value in passwords)
    # The jobs as admin; the intake and each consumer as its own role, the alerts page as a
    # coordinator, the erasure tool as erasure (the API needs no Kafka principal).
    assert principals == {
        "admin",
        "intake",
        "picture",
        "reporting",
        "alerts",
        "coordinator",
        "erasure",
    }
    assert ".env" in (REPO / ".gitignore").read_text().split()
