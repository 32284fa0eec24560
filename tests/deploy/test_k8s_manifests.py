"""deploy/k8s/, checked without a cluster: the core Kubernetes objects against the official JSON
schemas (the kubernetes-validate package, strict: an unknown field fails), the custom resources
(Strimzi's, and the Prometheus Operator's PodMonitor) against a schema of the fields used here
(below), and the whole against the bus's own tables: a KafkaTopic per topic of topics.py, a
KafkaUser per principal with exactly the ACLs of principals.py, and Deployments whose commands,
principals, Secrets, probes, operations ports and labels fit, scraped and admitted to those ports
by the PodMonitor and the network policy; running sealed, the intake with the agencies' keys and
every reader of the record with the key store and the key-encryption key as a mounted file that
the key reader accepts; and the CronJob erasing cases after retention (erasure.yaml), wired as
they are, as its principal, and the one-off Jobs docs/ makes from it."""

from __future__ import annotations

import importlib.util
import json
import re
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import jsonschema
import kubernetes_validate  # type: ignore[import-untyped]
import pytest
import typer
import yaml
from typer.testing import CliRunner

from mappa_bus.cli import app
from mappa_bus.keystore import key_file_exposure
from mappa_bus.operations.ports import PORT_ENV
from mappa_bus.principals import (
    ADMIN,
    PRINCIPALS,
    AclBinding,
    Operation,
    PatternType,
    ResourceType,
    Role,
    acl_bindings,
)
from mappa_bus.settings import Settings
from mappa_bus.topics import AGENCY_PARTITIONS, bus_topic_specs
from tests.deploy.members import MEMBERS, METRICS_PORTS

REPO = Path(__file__).resolve().parents[2]
K8S = REPO / "deploy" / "k8s"
STRIMZI = "kafka.strimzi.io/v1beta2"
PROMETHEUS_OPERATOR = "monitoring.coreos.com/v1"
# The oldest Kubernetes these manifests are meant for, and the newest the package knows.
KUBERNETES_VERSIONS = ("1.29", kubernetes_validate.latest_version())
REPLICAS = {"picture": 3, "reporting": 2, "alerts": 2, "intake": 2, "picture-api": 2}
# The CronJobs, each with the principal it publishes as: erasure after retention.
JOBS = {"erase-expired": Role.ERASURE}
# Every Kafka client, and every holder of the case keys: the members, and the erasure job.
KAFKA_CLIENTS = {**MEMBERS, **JOBS}
KEK_SECRET = "mappa-key-encryption-key"
# The image's user (deploy/docker/Dockerfile: USER 10001:10001).
IMAGE_UID = 10001

Resource = dict[str, Any]


def _load_generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("generate", K8S / "generate.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _documents(path: Path) -> Iterator[Resource]:
    for document in yaml.safe_load_all(path.read_text(encoding="utf-8")):
        if document is not None:
            yield document


@pytest.fixture(scope="module")
def kustomization() -> dict[str, Any]:
    result: dict[str, Any] = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    return result


@pytest.fixture(scope="module")
def resources(kustomization: dict[str, Any]) -> list[Resource]:
    return [document for name in kustomization["resources"] for document in _documents(K8S / name)]


def _of_kind(resources: list[Resource], kind: str) -> dict[str, Resource]:
    return {r["metadata"]["name"]: r for r in resources if r["kind"] == kind}


def _is_strimzi(resource: Resource) -> bool:
    return str(resource["apiVersion"]).startswith("kafka.strimzi.io/")


def _is_custom(resource: Resource) -> bool:
    """A custom resource, which the official schemas do not know: Strimzi's, the PodMonitor."""
    return _is_strimzi(resource) or resource["apiVersion"] == PROMETHEUS_OPERATOR


# Kustomization and the official schemas.


def test_the_kustomization_lists_every_manifest(kustomization: dict[str, Any]) -> None:
    manifests = {p.name for p in K8S.glob("*.yaml")} - {"kustomization.yaml"}
    assert sorted(kustomization["resources"]) == sorted(manifests)
    assert kustomization["namespace"] == "mappa-bus"
    assert [image["name"] for image in kustomization["images"]] == ["mappa-bus"]


def test_every_resource_is_named_once_and_namespaced_by_the_kustomization(
    resources: list[Resource],
) -> None:
    keys = [(r["apiVersion"], r["kind"], r["metadata"]["name"]) for r in resources]
    assert len(keys) == len(set(keys))
    for resource in resources:
        assert "namespace" not in resource["metadata"], resource["metadata"]["name"]
    assert {r["kind"] for r in resources} == {
        "Namespace",
        "Kafka",
        "KafkaNodePool",
        "KafkaTopic",
        "KafkaUser",
        "ConfigMap",
        "ServiceAccount",
        "Deployment",
        "CronJob",
        "Service",
        "NetworkPolicy",
        "PodDisruptionBudget",
        "PodMonitor",
    }


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
def test_core_objects_match_the_official_schemas(resources: list[Resource], version: str) -> None:
    core = [r for r in resources if not _is_custom(r)]
    assert core
    for resource in core:
        try:
            kubernetes_validate.validate(resource, version, strict=True)
        except kubernetes_validate.ValidationError as error:
            name = f"{resource['kind']}/{resource['metadata']['name']}"
            pytest.fail(f"{name} (Kubernetes {version}): {error.message} at {list(error.path)}")


def test_the_schema_check_catches_a_mistake() -> None:
    deployment = next(_documents(K8S / "picture.yaml"))
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    container["readinessProbe"]["httpGet"]["pth"] = container["readinessProbe"]["httpGet"].pop(
        "path"
    )
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, KUBERNETES_VERSIONS[-1], strict=True)


# The custom resources: a JSON Schema of the fields these manifests use, closed
# (additionalProperties: false) where a misspelt field would otherwise pass unnoticed; kept as
# data in fixtures/ beside this file.

FIXTURES = Path(__file__).resolve().parent / "fixtures"


def _schemas(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((FIXTURES / name).read_text())
    loaded.pop("$comment", None)
    return loaded


STRIMZI_SCHEMAS: dict[str, dict[str, Any]] = _schemas("strimzi-schemas.json")
POD_MONITOR_SCHEMA: dict[str, Any] = json.loads((FIXTURES / "pod-monitor-schema.json").read_text())
CUSTOM_SCHEMAS: dict[str, dict[str, Any]] = {**STRIMZI_SCHEMAS, "PodMonitor": POD_MONITOR_SCHEMA}


def test_custom_resources_match_their_schema(resources: list[Resource]) -> None:
    custom = [r for r in resources if _is_custom(r)]
    assert {r["kind"] for r in custom} == set(CUSTOM_SCHEMAS)
    assert {r["kind"] for r in custom if _is_strimzi(r)} == set(STRIMZI_SCHEMAS)
    for resource in custom:
        schema = CUSTOM_SCHEMAS[resource["kind"]]
        jsonschema.Draft202012Validator.check_schema(schema)
        errors = list(jsonschema.Draft202012Validator(schema).iter_errors(resource))
        name = f"{resource['kind']}/{resource['metadata']['name']}"
        assert not errors, f"{name}: " + "; ".join(
            f"{e.message} at {list(e.absolute_path)}" for e in errors
        )


def test_the_strimzi_schema_catches_a_mistake(resources: list[Resource]) -> None:
    user = dict(_of_kind(resources, "KafkaUser")["picture"])
    user["spec"] = {**user["spec"], "authentication": {"type": "scram-sha-256"}}
    assert not jsonschema.Draft202012Validator(STRIMZI_SCHEMAS["KafkaUser"]).is_valid(user)


@pytest.mark.parametrize(
    "mistake",
    [
        {"prot": "metrics"},  # misspelt, and so no port
        {"port": "metrics", "path": "metrics"},  # a path that does not start with /
        {"port": "metrics", "interval": "30"},  # a duration without its unit
    ],
)
def test_the_pod_monitor_schema_catches_a_mistake(
    resources: list[Resource], mistake: dict[str, str]
) -> None:
    (monitor,) = _of_kind(resources, "PodMonitor").values()
    validator = jsonschema.Draft202012Validator(POD_MONITOR_SCHEMA)
    assert validator.is_valid(monitor)
    broken = {**monitor, "spec": {**monitor["spec"], "podMetricsEndpoints": [mistake]}}
    assert not validator.is_valid(broken)
    assert not validator.is_valid({**monitor, "apiVersion": "monitoring.coreos.com/v1alpha1"})


# The Kafka cluster.


@pytest.fixture(scope="module")
def kafka(resources: list[Resource]) -> Resource:
    (cluster,) = _of_kind(resources, "Kafka").values()
    return cluster


def _listener(kafka: Resource) -> dict[str, Any]:
    (listener,) = kafka["spec"]["kafka"]["listeners"]
    result: dict[str, Any] = listener
    return result


def test_the_cluster_is_kraft_with_three_brokers_and_secured(
    kafka: Resource, resources: list[Resource]
) -> None:
    name = kafka["metadata"]["name"]
    assert kafka["metadata"]["annotations"] == {
        "strimzi.io/node-pools": "enabled",
        "strimzi.io/kraft": "enabled",
    }
    pools = _of_kind(resources, "KafkaNodePool")
    for pool in pools.values():
        assert pool["metadata"]["labels"]["strimzi.io/cluster"] == name
    brokers = [p for p in pools.values() if "broker" in p["spec"]["roles"]]
    controllers = [p for p in pools.values() if "controller" in p["spec"]["roles"]]
    assert sum(p["spec"]["replicas"] for p in brokers) == 3
    assert sum(p["spec"]["replicas"] for p in controllers) == 3
    for pool in pools.values():
        for volume in pool["spec"]["storage"]["volumes"]:
            assert volume["type"] == "persistent-claim"
            assert volume["deleteClaim"] is False
    listener = _listener(kafka)
    assert listener["authentication"] == {"type": "scram-sha-512"}
    authorization = kafka["spec"]["kafka"]["authorization"]
    assert authorization == {"type": "simple", "superUsers": [ADMIN]}
    config = kafka["spec"]["kafka"]["config"]
    assert config["auto.create.topics.enable"] is False
    assert config["min.insync.replicas"] == 2
    assert config["default.replication.factor"] == 3


# Topics and users against topics.py and principals.py.


def test_generated_files_are_current() -> None:
    generator = _load_generator()
    for path, text in generator.generated().items():
        assert path.read_text(encoding="utf-8") == text, (
            f"{path.name} is stale: run .venv/bin/python deploy/k8s/generate.py"
        )
    assert generator.main(["--check"]) == 0


def test_a_kafka_topic_for_every_bus_topic(resources: list[Resource], kafka: Resource) -> None:
    topics = _of_kind(resources, "KafkaTopic")
    # Sealed, as the Deployments run: the agency topics the 7-day ingress.
    expected = {spec.name: spec for spec in bus_topic_specs(sealed=True)}
    declared = {topic["spec"]["topicName"]: topic for topic in topics.values()}
    assert set(declared) == set(expected)
    for name, topic in declared.items():
        spec = topic["spec"]
        assert topic["metadata"]["labels"]["strimzi.io/cluster"] == kafka["metadata"]["name"]
        assert spec["partitions"] == expected[name].partitions, name
        config = {key: str(value) for key, value in spec["config"].items()}
        # Replication is the cluster's business: three copies, two acknowledging each write.
        assert config.pop("min.insync.replicas") == "2", name
        assert spec["replicas"] == 3, name
        assert config == expected[name].config, name


_RESOURCE_TYPES = {"topic": ResourceType.TOPIC, "group": ResourceType.GROUP}
_PATTERN_TYPES = {"literal": PatternType.LITERAL, "prefix": PatternType.PREFIXED}


def _bindings(user: Resource) -> set[AclBinding]:
    principal = user["metadata"]["name"]
    return {
        AclBinding(
            principal,
            _RESOURCE_TYPES[acl["resource"]["type"]],
            acl["resource"]["name"],
            _PATTERN_TYPES[acl["resource"].get("patternType", "literal")],
            Operation(operation.upper()),
        )
        for acl in user["spec"].get("authorization", {}).get("acls", [])
        for operation in acl["operations"]
        if acl.get("type", "allow") == "allow" and acl.get("host", "*") == "*"
    }


def test_a_kafka_user_per_principal_with_exactly_its_acls(
    resources: list[Resource], kafka: Resource
) -> None:
    users = _of_kind(resources, "KafkaUser")
    assert sorted(users) == sorted(PRINCIPALS)
    for user in users.values():
        assert user["spec"]["authentication"] == _listener(kafka)["authentication"]
        assert user["metadata"]["labels"]["strimzi.io/cluster"] == kafka["metadata"]["name"]
        for acl in user["spec"].get("authorization", {}).get("acls", []):
            assert acl.get("type", "allow") == "allow"
            assert acl["host"] == "*"
    granted = set().union(*(_bindings(user) for user in users.values()))
    assert granted == set(acl_bindings())
    # The super user needs no ACL and gets none.
    assert "authorization" not in users[ADMIN]["spec"]


# The services and the jobs.


@pytest.fixture(scope="module")
def deployments(resources: list[Resource]) -> dict[str, Resource]:
    return _of_kind(resources, "Deployment")


@pytest.fixture(scope="module")
def cron_jobs(resources: list[Resource]) -> dict[str, Resource]:
    return _of_kind(resources, "CronJob")


@pytest.fixture(scope="module")
def workloads(
    deployments: dict[str, Resource], cron_jobs: dict[str, Resource]
) -> dict[str, Resource]:
    """Everything that runs the image, by name: the Deployments and the CronJobs."""
    assert not set(deployments) & set(cron_jobs)
    return {**deployments, **cron_jobs}


def _pod_template(workload: Resource) -> dict[str, Any]:
    """The pods a workload runs: a Deployment's template, or that of a CronJob's Jobs."""
    spec = workload["spec"]
    if workload["kind"] == "CronJob":
        spec = spec["jobTemplate"]["spec"]
    result: dict[str, Any] = spec["template"]
    return result


def _pod(workload: Resource) -> dict[str, Any]:
    result: dict[str, Any] = _pod_template(workload)["spec"]
    return result


def _pod_labels(workloads: dict[str, Resource]) -> dict[str, dict[str, str]]:
    return {name: _pod_template(w)["metadata"]["labels"] for name, w in workloads.items()}


def _container(workload: Resource) -> dict[str, Any]:
    (container,) = _pod(workload)["containers"]
    result: dict[str, Any] = container
    return result


def _env(workload: Resource) -> dict[str, dict[str, Any]]:
    return {item["name"]: item for item in _container(workload).get("env", [])}


def _parse_cli(argv: list[str]) -> None:
    """Parse `mappa ARGV` as the image's entrypoint would, without running it: a usage error
    (typer.TyperException) for an unknown option, a missing one or a stray argument."""
    command: Any = typer.main.get_command(app)
    words = list(argv)
    while words and words[0] in getattr(command, "commands", {}):
        command = command.commands[words.pop(0)]
    assert not hasattr(command, "commands"), f"mappa {' '.join(argv)}: no such command"
    command.make_context(argv[0], words)


def test_every_service_runs_its_replicas(deployments: dict[str, Resource]) -> None:
    assert {name: d["spec"]["replicas"] for name, d in deployments.items()} == REPLICAS
    for name in MEMBERS:
        # Members beyond the agency topics' partition count would have nothing to read.
        assert deployments[name]["spec"]["replicas"] <= AGENCY_PARTITIONS


def test_every_workload_runs_a_command_the_cli_has(workloads: dict[str, Resource]) -> None:
    for name, workload in workloads.items():
        container = _container(workload)
        assert container["image"] == "mappa-bus", "the kustomization names the registry"
        assert "command" not in container, "the image's entrypoint is `mappa`"
        argv = container["args"]
        first_option = next((i for i, w in enumerate(argv) if w.startswith("-")), len(argv))
        path, options = argv[:first_option], {w for w in argv if w.startswith("--")}
        result = CliRunner().invoke(app, [*path, "--help"])
        assert result.exit_code == 0, f"{name}: mappa {' '.join(path)}: {result.output}"
        command: Any = typer.main.get_command(app)
        for word in path:
            command = command.commands[word]
        known = {opt for param in command.params for opt in param.opts}
        assert options <= known, name
        _parse_cli(argv)
        if name in MEMBERS:
            assert argv == [MEMBERS[name].value, "run"]
    assert _container(workloads["erase-expired"])["args"] == ["erase-expired"]


def test_every_kafka_client_connects_as_its_own_principal(
    workloads: dict[str, Resource], resources: list[Resource], kafka: Resource
) -> None:
    prefix = kafka["spec"]["entityOperator"]["userOperator"]["secretPrefix"]
    users = _of_kind(resources, "KafkaUser")
    for name, role in KAFKA_CLIENTS.items():
        env = _env(workloads[name])
        assert env["MAPPA_KAFKA_USERNAME"]["value"] == role.value
        assert role.value in users
        assert env["MAPPA_KAFKA_PASSWORD"]["valueFrom"]["secretKeyRef"] == {
            "name": f"{prefix}{role.value}",
            "key": "password",
        }
    # The API reads the store only, and nothing runs as the super user.
    assert not any("KAFKA" in key for key in _env(workloads["picture-api"]))
    for workload in workloads.values():
        assert _env(workload).get("MAPPA_KAFKA_USERNAME", {}).get("value") != ADMIN


def _resolved_environment(workload: Resource, config_maps: dict[str, Resource]) -> dict[str, str]:
    """The container's environment as the kubelet would give it, secrets as placeholders."""
    container = _container(workload)
    environment: dict[str, str] = {}
    for source in container.get("envFrom", []):
        environment.update(config_maps[source["configMapRef"]["name"]]["data"])
    for item in container.get("env", []):
        if "value" in item:
            environment[item["name"]] = item["value"]
        elif "configMapKeyRef" in item["valueFrom"]:
            ref = item["valueFrom"]["configMapKeyRef"]
            environment[item["name"]] = config_maps[ref["name"]]["data"][ref["key"]]
        else:
            ref = item["valueFrom"]["secretKeyRef"]
            environment[item["name"]] = f"<{ref['name']}/{ref['key']}>"
    return environment


def test_the_settings_read_from_the_environment_connect_as_intended(
    workloads: dict[str, Resource],
    resources: list[Resource],
    kafka: Resource,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    config_maps = _of_kind(resources, "ConfigMap")
    bootstrap = f"{kafka['metadata']['name']}-kafka-bootstrap:{_listener(kafka)['port']}"
    for name, role in KAFKA_CLIENTS.items():
        with monkeypatch.context() as patch:
            for variable in (
                "MAPPA_KAFKA_PRINCIPAL",
                "MAPPA_KAFKA_CREDENTIALS",
                "MAPPA_RETENTION_YEARS",
            ):
                patch.delenv(variable, raising=False)
            for key, value in _resolved_environment(workloads[name], config_maps).items():
                patch.setenv(key, value)
            settings = Settings()
            connection = settings.connection_for_role(role.value)
        assert connection.bootstrap_servers == bootstrap
        assert connection.username == role.value
        assert connection.password == f"<kafka-user-{role.value}/password>"
        # Strimzi's SCRAM users are SHA-512 only.
        assert connection.mechanism == "SCRAM-SHA-512"
        assert settings.database_url == "<mappa-database/url>"
        assert settings.log_format == "json"
        # Sealed, the case keys in their own database.
        assert settings.sealed(), name
        assert settings.key_store_url == "<mappa-key-store/url>", name
        # The erasure job says the retention schedule in so many words, not by the default.
        assert ("retention_years" in settings.model_fields_set) == (name in JOBS), name


def test_secrets_are_referenced_never_written(
    resources: list[Resource], workloads: dict[str, Resource]
) -> None:
    assert not [r for r in resources if r["kind"] == "Secret"]
    secret_like = re.compile(r"PASSWORD|DATABASE_URL|STORE_URL|TOKEN|SECRET", re.IGNORECASE)
    for name, workload in workloads.items():
        for key, item in _env(workload).items():
            if secret_like.search(key):
                assert "value" not in item, f"{name}: {key} written in the manifest"
                assert "secretKeyRef" in item["valueFrom"], f"{name}: {key}"
    for config_map in _of_kind(resources, "ConfigMap").values():
        for key in config_map["data"]:
            assert not secret_like.search(key), key
    # No YAML key holding a password, and no JAAS line with one, anywhere.
    text = "\n".join(p.read_text(encoding="utf-8") for p in K8S.glob("*.yaml"))
    assert not re.search(r"(?im)^[\s-]*[\w.-]*password[\w.-]*\s*:\s*\S", text)
    assert "password=" not in text.lower()
    # No key written anywhere (a key-encryption key or a signing key is 64 hex digits).
    assert not re.search(r"[0-9a-fA-F]{64}", text)
    # The API's readers come from the issuer in the ConfigMap, not from a tokens file.
    api_env = _env(workloads["picture-api"])
    assert api_env["MAPPA_OIDC_ISSUER"]["valueFrom"]["configMapKeyRef"]["name"] == "mappa-bus"


def test_the_intake_alone_holds_the_verification_keyring(
    workloads: dict[str, Resource], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The intake mounts the Secret mappa-verify-keys read-only where MAPPA_VERIFY_KEYS
    points, readable by its group (the pod's fsGroup); no other Deployment or CronJob mounts
    it (the consumers read the sealed record, which the intake checked), and none is given keys
    to sign with."""
    holders = set()
    for name, workload in workloads.items():
        volumes = {v["name"]: v for v in _pod(workload)["volumes"]}
        keys = [
            n
            for n, v in volumes.items()
            if v.get("secret", {}).get("secretName") == "mappa-verify-keys"
        ]
        assert "MAPPA_SIGNING_KEYS" not in _env(workload), name
        if not keys:
            continue
        holders.add(name)
        (volume,) = keys
        (mount,) = [m for m in _container(workload)["volumeMounts"] if m["name"] == volume]
        path = _env(workload)["MAPPA_VERIFY_KEYS"]["value"]
        assert path == f"{mount['mountPath']}/keyring.json", name
        assert mount["readOnly"] is True, name
        assert volumes[volume]["secret"]["defaultMode"] == 0o440, name
        assert _pod(workload)["securityContext"]["fsGroup"] == IMAGE_UID
        with monkeypatch.context() as patch:
            patch.setenv("MAPPA_VERIFY_KEYS", path)
            assert Settings().verify_keys == path
    assert holders == {"intake"}
    for name in set(workloads) - holders:
        assert "MAPPA_VERIFY_KEYS" not in _env(workloads[name]), name


def _secret_volumes(workload: Resource, secret: str) -> list[str]:
    return [
        volume["name"]
        for volume in _pod(workload)["volumes"]
        if volume.get("secret", {}).get("secretName") == secret
    ]


def test_every_holder_of_the_case_keys_has_the_key_encryption_key_as_a_file_it_accepts(
    workloads: dict[str, Resource], resources: list[Resource], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The intake, the consumers and the erasure job (it destroys keys) mount the Secret
    mappa-key-encryption-key read-only where MAPPA_KEY_ENCRYPTION_KEY points, 0440 for the
    pod's fsGroup; the file the kubelet makes of it (root's, group the fsGroup: defaultMode with
    group read added) is one the key reader accepts for the pod's user; nothing else mounts it,
    and no container has it in its environment."""
    holders = set()
    for name, workload in workloads.items():
        for item in _env(workload).values():
            ref = item.get("valueFrom", {}).get("secretKeyRef", {})
            assert ref.get("name") != KEK_SECRET, f"{name}: the key as an environment value"
        volumes = _secret_volumes(workload, KEK_SECRET)
        if not volumes:
            continue
        holders.add(name)
        (volume,) = volumes
        (mount,) = [m for m in _container(workload)["volumeMounts"] if m["name"] == volume]
        assert mount["readOnly"] is True, name
        path = _env(workload)["MAPPA_KEY_ENCRYPTION_KEY"]["value"]
        (source,) = [v["secret"] for v in _pod(workload)["volumes"] if v["name"] == volume]
        assert "items" not in source, name
        assert path == f"{mount['mountPath']}/key-encryption-key", name
        with monkeypatch.context() as patch:
            patch.setenv("MAPPA_KEY_ENCRYPTION_KEY", path)
            assert str(Settings().key_encryption_key_path()) == path
        pod = _pod(workload)["securityContext"]
        # What the kubelet writes: owned by root, group the fsGroup, defaultMode | 0440.
        mode = 0o100000 | source["defaultMode"] | 0o440
        assert mode & 0o777 == 0o440, name
        groups = frozenset({pod["runAsGroup"], pod["fsGroup"]})
        assert (
            key_file_exposure(mode, 0, pod["fsGroup"], uid=pod["runAsUser"], groups=groups) is None
        ), name
    assert holders == set(KAFKA_CLIENTS)
    # Beside it, the key store, from its own Secret.
    for name in holders:
        ref = _env(workloads[name])["MAPPA_KEY_STORE_URL"]["valueFrom"]["secretKeyRef"]
        assert ref == {"name": "mappa-key-store", "key": "url"}, name
    # The mode is one ConfigMap value every Deployment and the CronJob share.
    (config,) = _of_kind(resources, "ConfigMap").values()
    assert config["data"]["MAPPA_RECORD"] == "sealed"
    for name in holders:
        assert "MAPPA_RECORD" not in _env(workloads[name]), name
        assert {"configMapRef": {"name": "mappa-bus"}} in _container(workloads[name])["envFrom"]


def test_probes_ask_each_service_the_right_thing(deployments: dict[str, Resource]) -> None:
    api = _container(deployments["picture-api"])
    port = int(api["args"][api["args"].index("--port") + 1])
    (http,) = api["ports"]
    assert http == {"name": "http", "containerPort": port, "protocol": "TCP"}
    for probe in ("readinessProbe", "livenessProbe"):
        assert api[probe]["httpGet"] == {
            "path": "/healthz",
            "port": "http",
            # The API answers only the hosts it is known by.
            "httpHeaders": [{"name": "Host", "value": "picture-api"}],
        }
    # The consumers: HTTP probes on their operations port (docs/operations.md), liveness and
    # start-up on /healthz (the loop turns), readiness on /readyz (consuming, broker and store
    # answer; alerts: pictures warm).
    for name in MEMBERS:
        container = _container(deployments[name])
        (metrics,) = container["ports"]
        assert metrics == {
            "name": "metrics",
            "containerPort": METRICS_PORTS[name],
            "protocol": "TCP",
        }
        expected = {
            "startupProbe": "/healthz",
            "livenessProbe": "/healthz",
            "readinessProbe": "/readyz",
        }
        for probe, path in expected.items():
            check = container[probe]
            assert "exec" not in check, f"{name} {probe}"
            assert check["httpGet"] == {"path": path, "port": "metrics"}, f"{name} {probe}"
            # A request waits for the batch being folded: no less than 5 s.
            assert check["timeoutSeconds"] >= 5, f"{name} {probe}"
        # Start-up (the store loads before the port opens) gets at least a minute.
        startup = container["startupProbe"]
        assert startup["periodSeconds"] * startup["failureThreshold"] >= 60, name
        # SIGTERM: FastStream waits up to 15 s for the batch in hand, then the process exits.
        grace = deployments[name]["spec"]["template"]["spec"]["terminationGracePeriodSeconds"]
        assert grace > 20, name


def test_each_consumer_serves_its_operations_port_where_the_probes_look(
    deployments: dict[str, Resource], monkeypatch: pytest.MonkeyPatch
) -> None:
    """MAPPA_METRICS_PORT in the container is the `metrics` port, and `mappa <role> run` reads
    it: its --metrics-port option, parsed as the CLI parses it in the container."""
    root: Any = typer.main.get_command(app)
    for name in MEMBERS:
        deployment = deployments[name]
        (port,) = _container(deployment)["ports"]
        value = _env(deployment)[PORT_ENV]["value"]
        assert value == str(port["containerPort"]), name
        command = root
        for word in _container(deployment)["args"]:
            command = command.commands[word]
        (option,) = [p for p in command.params if "--metrics-port" in p.opts]
        assert option.envvar == PORT_ENV, name
        assert option.default == METRICS_PORTS[name], name
        with monkeypatch.context() as patch:
            patch.setenv(PORT_ENV, value)
            context = command.make_context(name, [], resilient_parsing=True)
        assert context.params[option.name] == port["containerPort"], name
    # The API keeps its own /healthz on its API port and has no operations port.
    assert PORT_ENV not in _env(deployments["picture-api"])


def test_prometheus_scrapes_every_consumer(
    workloads: dict[str, Resource], resources: list[Resource]
) -> None:
    pods = _pod_labels(workloads)
    (monitor,) = _of_kind(resources, "PodMonitor").values()
    spec = monitor["spec"]
    scraped = [n for n, labels in pods.items() if _selects(spec["selector"], labels)]
    assert sorted(scraped) == sorted(MEMBERS)
    # Its own namespace's pods (the kustomization's), no other.
    assert "namespaceSelector" not in spec
    (endpoint,) = spec["podMetricsEndpoints"]
    assert endpoint["path"] == "/metrics"
    assert endpoint.get("scheme", "http") == "http"
    for name in scraped:
        ports = {p["name"] for p in _container(workloads[name])["ports"]}
        assert endpoint["port"] in ports, name


def test_every_container_is_bounded_and_locked_down(workloads: dict[str, Resource]) -> None:
    dockerfile = (REPO / "deploy" / "docker" / "Dockerfile").read_text(encoding="utf-8")
    assert f"USER {IMAGE_UID}:{IMAGE_UID}" in dockerfile
    for name, workload in workloads.items():
        pod = _pod(workload)
        assert pod["serviceAccountName"] == "mappa-bus", name
        assert pod["automountServiceAccountToken"] is False, name
        assert pod["securityContext"]["runAsNonRoot"] is True, name
        assert pod["securityContext"]["runAsUser"] == IMAGE_UID, name
        assert pod["securityContext"]["runAsGroup"] == IMAGE_UID, name
        assert pod["securityContext"]["fsGroup"] == IMAGE_UID, name
        assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}, name
        container = _container(workload)
        for bound in ("requests", "limits"):
            assert set(container["resources"][bound]) == {"cpu", "memory"}, f"{name} {bound}"
        assert container["securityContext"] == {
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "capabilities": {"drop": ["ALL"]},
        }, name
        # The one writable place: an emptyDir on /tmp.
        mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
        volumes = {v["name"]: v for v in pod["volumes"]}
        assert "emptyDir" in volumes[mounts["/tmp"]], name  # noqa: S108 (the container's)


def _selects(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    """Whether a label selector (matchLabels, matchExpressions with In) selects `labels`."""
    if any(labels.get(k) != v for k, v in selector.get("matchLabels", {}).items()):
        return False
    for expression in selector.get("matchExpressions", []):
        assert expression["operator"] == "In", "only In is interpreted here"
        if labels.get(expression["key"]) not in expression["values"]:
            return False
    return True


def test_selectors_find_their_pods(
    deployments: dict[str, Resource],
    workloads: dict[str, Resource],
    resources: list[Resource],
    kafka: Resource,
) -> None:
    pods = _pod_labels(workloads)
    for name, deployment in deployments.items():
        assert _selects(deployment["spec"]["selector"], pods[name]), name
    # A budget for every Deployment, selecting its pods only, always letting one go; none for
    # a job's pod, which runs to its end.
    budgets = _of_kind(resources, "PodDisruptionBudget")
    for name in deployments:
        selected = [b for b in budgets.values() if _selects(b["spec"]["selector"], pods[name])]
        assert len(selected) == 1, name
        spec = selected[0]["spec"]
        assert spec.get("maxUnavailable", 0) >= 1 or spec["minAvailable"] < REPLICAS[name]
    for budget in budgets.values():
        assert sum(_selects(budget["spec"]["selector"], p) for p in pods.values()) == 1
    (service,) = _of_kind(resources, "Service").values()
    assert [
        n for n, p in pods.items() if _selects({"matchLabels": service["spec"]["selector"]}, p)
    ] == ["picture-api"]
    assert service["spec"]["ports"][0]["targetPort"] == "http"
    # Only the intake, the consumers and the erasure job are Kafka clients, and the listener
    # admits them.
    (peer,) = _listener(kafka)["networkPolicyPeers"]
    clients = [n for n, p in pods.items() if _selects(peer["podSelector"], p)]
    assert sorted(clients) == sorted(KAFKA_CLIENTS)


def test_the_network_policies(
    workloads: dict[str, Resource], resources: list[Resource], kafka: Resource
) -> None:
    pods = _pod_labels(workloads)
    policies = _of_kind(resources, "NetworkPolicy")
    services = policies["mappa-bus-services"]["spec"]
    # Every service and job pod is confined: no ingress but what another policy allows, egress
    # to DNS, the brokers and PostgreSQL (the store and the key store) alone.
    confined = [n for n, labels in pods.items() if _selects(services["podSelector"], labels)]
    assert sorted(confined) == sorted(workloads)
    assert services["policyTypes"] == ["Ingress", "Egress"]
    assert services["ingress"] == []
    egress_ports = {port["port"] for rule in services["egress"] for port in rule["ports"]}
    assert egress_ports == {53, _listener(kafka)["port"], 5432}
    (to_kafka,) = [r for r in services["egress"] if r["ports"][0]["port"] == 9092]
    assert (
        to_kafka["to"][0]["podSelector"]["matchLabels"]["strimzi.io/cluster"]
        == (kafka["metadata"]["name"])
    )
    api = policies["picture-api-ingress"]["spec"]
    selected = [n for n, labels in pods.items() if _selects(api["podSelector"], labels)]
    assert selected == ["picture-api"]
    (rule,) = api["ingress"]
    assert rule["ports"] == [{"protocol": "TCP", "port": 8000}]
    # Prometheus, from the monitoring namespace, may reach the consumers' operations ports,
    # and nothing else of theirs; the API is not among them.
    metrics = policies["consumer-metrics-ingress"]["spec"]
    assert metrics["policyTypes"] == ["Ingress"]
    selected = [n for n, labels in pods.items() if _selects(metrics["podSelector"], labels)]
    assert sorted(selected) == sorted(MEMBERS)
    (rule,) = metrics["ingress"]
    # One peer holding both selectors: Prometheus's pods in that namespace (two peers would
    # admit every pod of the namespace, and Prometheus pods anywhere).
    (peer,) = rule["from"]
    assert peer["namespaceSelector"] == {
        "matchLabels": {"kubernetes.io/metadata.name": "monitoring"}
    }
    assert peer["podSelector"] == {"matchLabels": {"app.kubernetes.io/name": "prometheus"}}
    served = {
        port["containerPort"]
        for name in MEMBERS
        for port in _container(workloads[name])["ports"]
        if port["name"] == "metrics"
    }
    assert served == set(METRICS_PORTS.values())
    assert {(p["protocol"], p["port"]) for p in rule["ports"]} == {("TCP", n) for n in served}
    assert len(rule["ports"]) == len(served)


# The erasure job.


def test_the_erasure_job_runs_once_a_day_one_run_at_a_time(cron_jobs: dict[str, Resource]) -> None:
    """erase-expired runs every day at a fixed UTC time, never two runs at once (both would find
    the same cases due and publish their erasures twice), keeps a few finished runs for their
    logs, and a run, started late or retried, ends on the UTC day it was due: the day
    `mappa erase-expired` judges retention by and records."""
    assert sorted(cron_jobs) == sorted(JOBS)
    spec = cron_jobs["erase-expired"]["spec"]
    minute, hour, *every_day = spec["schedule"].split()
    assert every_day == ["*", "*", "*"]
    assert spec["timeZone"] == "Etc/UTC"
    assert spec["concurrencyPolicy"] == "Forbid"
    assert spec.get("suspend", False) is False
    assert 1 <= spec["successfulJobsHistoryLimit"] <= 5
    assert 1 <= spec["failedJobsHistoryLimit"] <= 10
    job = spec["jobTemplate"]["spec"]
    assert 0 <= job["backoffLimit"] <= 3
    # Started as late as the deadline allows, every attempt within the Job's own deadline.
    start = int(hour) * 3600 + int(minute) * 60
    latest_end = start + spec["startingDeadlineSeconds"] + job["activeDeadlineSeconds"]
    assert latest_end < 24 * 3600
    # A failed pod is kept for its logs; the Job makes a new one.
    assert _pod(cron_jobs["erase-expired"])["restartPolicy"] == "Never"


def _job_from(cron_job: Resource, name: str) -> Resource:
    """What `kubectl create job NAME --from=cronjob/...` makes of a CronJob: a Job with its job
    template's labels and spec, marked as started by hand."""
    template = cron_job["spec"]["jobTemplate"]
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {
            "name": name,
            "labels": dict(template["metadata"]["labels"]),
            "annotations": {"cronjob.kubernetes.io/instantiate": "manual"},
        },
        "spec": json.loads(json.dumps(template["spec"])),
    }


# docs/ runs one-off Jobs from the CronJob with their args replaced:
#   kubectl create job ... --from=cronjob/NAME --dry-run=client -o json \
#     | jq '.spec.template.spec.containers[0].args = [...]' | kubectl create -f -
_FROM_CRON_JOB = re.compile(r"--from=cronjob/([\w.-]+)")
_ARGS_REPLACED = re.compile(r"\.spec\.template\.spec\.containers\[0\]\.args = (\[[^\]]*\])")


def test_the_one_off_jobs_the_docs_make_from_the_cron_job_run_what_they_say(
    cron_jobs: dict[str, Resource],
) -> None:
    """Every CronJob docs/ makes a Job from exists; each Job so made, as is or with the args
    docs/ gives it (`mappa keys destroy-erased --by WHO` after a key store restore, `mappa
    erase CASE ...`), is a valid Job running a command the CLI has with every option it
    requires, on the CronJob's wiring (its principal, Secrets and key mount)."""
    text = "\n".join(p.read_text(encoding="utf-8") for p in sorted((REPO / "docs").glob("*.md")))
    named = set(_FROM_CRON_JOB.findall(text))
    assert named == set(cron_jobs)
    replaced = [json.loads(args) for args in _ARGS_REPLACED.findall(text)]
    assert ["keys", "destroy-erased"] in [args[:2] for args in replaced]
    assert "erase" in [args[0] for args in replaced]
    for args in [None, *replaced]:
        job = _job_from(cron_jobs["erase-expired"], "erase-expired-manual")
        container = job["spec"]["template"]["spec"]["containers"][0]
        if args is not None:
            container["args"] = args
        kubernetes_validate.validate(job, KUBERNETES_VERSIONS[-1], strict=True)
        _parse_cli(container["args"])
    # The check above refuses a command missing what it requires.
    with pytest.raises(typer.TyperException):
        _parse_cli(["keys", "destroy-erased"])


def test_the_namespace_is_the_kustomizations(
    resources: list[Resource], kustomization: dict[str, Any]
) -> None:
    (namespace,) = _of_kind(resources, "Namespace").values()
    assert namespace["metadata"]["name"] == kustomization["namespace"]
