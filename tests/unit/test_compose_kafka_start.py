"""docker-compose.yml's kafka entrypoint, run without Docker: it seeds a SCRAM user per
principal from the generated .env at the first start only, then hands over to the image."""

import os
import re
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from mappa_bus.principals import PRINCIPALS

REPO = Path(__file__).resolve().parents[2]
DOCKER = REPO / "deploy" / "docker"


def _env_file(tmp_path: Path) -> dict[str, str]:
    path = tmp_path / "compose.env"
    subprocess.run(
        [sys.executable, str(DOCKER / "compose_env.py"), "--output", str(path)], check=True
    )
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    lines = [line for line in path.read_text().splitlines() if not line.startswith("#")]
    return dict(line.split("=", 1) for line in lines)


def _kafka_environment(passwords: dict[str, str]) -> dict[str, str]:
    """The kafka service's environment as compose would hand it over (interpolated)."""
    compose = yaml.safe_load((REPO / "docker-compose.yml").read_text())
    env = compose["services"]["kafka"]["environment"]
    admin = passwords["MAPPA_PASSWORD_ADMIN"]
    return {
        name: re.sub(r"\$\{MAPPA_PASSWORD_ADMIN:\?[^}]*\}", admin, str(value))
        for name, value in env.items()
    }


@pytest.fixture
def image(tmp_path: Path) -> Path:
    """Stand-ins for the image's kafka-storage.sh and start script that record their calls."""
    bin_dir = tmp_path / "kafka" / "bin"
    bin_dir.mkdir(parents=True)
    storage = bin_dir / "kafka-storage.sh"
    storage.write_text(
        "#!/usr/bin/env bash\n"
        'printf "%s\\n" "$@" > "$RECORD/format-args"\n'
        "while [[ $1 != -c ]]; do shift; done\n"
        'cp "$2" "$RECORD/format.properties"\n'
        'touch "$KAFKA_LOG_DIRS/meta.properties"\n'
    )
    run = tmp_path / "run"
    run.write_text('#!/usr/bin/env bash\necho started >> "$RECORD/ran"\n')
    for script in (storage, run):
        script.chmod(0o755)
    return tmp_path


def _start(image: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(DOCKER / "kafka-start.sh")],
        env={"PATH": os.environ["PATH"], **env},
        capture_output=True,
        text=True,
        check=False,
    )


def test_the_first_start_formats_with_every_principal_then_runs_the_image(
    tmp_path: Path, image: Path
) -> None:
    """One --add-scram per principal with its own password, the broker's security settings in
    the properties it formats with, then the image's run script; a restart formats nothing."""
    passwords = _env_file(tmp_path)
    data = tmp_path / "data"
    data.mkdir()
    env = {
        **_kafka_environment(passwords),
        **passwords,
        "KAFKA_LOG_DIRS": str(data),
        "MAPPA_KAFKA_HOME": str(image / "kafka"),
        "IMAGE_RUN": str(image / "run"),
        "CLIENT_CONFIG": str(tmp_path / "admin.properties"),
        "RECORD": str(tmp_path),
    }

    first = _start(image, env)
    args = (tmp_path / "format-args").read_text().splitlines()
    properties = (tmp_path / "format.properties").read_text().splitlines()
    (tmp_path / "format-args").unlink()
    second = _start(image, env)

    seeded = [arg for arg in args if arg.startswith("SCRAM-SHA-256=")]
    expected = [
        f"SCRAM-SHA-256=[name={name},password="
        f"{passwords['MAPPA_PASSWORD_' + name.upper().replace('-', '_')]}]"
        for name in PRINCIPALS
    ]
    admin = passwords["MAPPA_PASSWORD_ADMIN"]
    assert first.returncode == 0, first.stderr
    assert sorted(seeded) == sorted(expected)
    assert "authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer" in (
        properties
    )
    assert (
        "listener.name.docker.scram-sha-256.sasl.jaas.config=org.apache.kafka.common.security"
        f'.scram.ScramLoginModule required username="admin" password="{admin}";'
    ) in properties
    assert not any(line.startswith("heap.opts") for line in properties)
    assert f'password="{admin}"' in (tmp_path / "admin.properties").read_text()
    assert (second.returncode, (tmp_path / "format-args").exists()) == (0, False)
    assert (tmp_path / "ran").read_text() == "started\nstarted\n"


def test_without_the_env_file_it_says_what_to_run(tmp_path: Path, image: Path) -> None:
    """No MAPPA_PASSWORD_ADMIN: the entrypoint stops at once and names the generator."""
    result = _start(image, {"CLUSTER_ID": "x", "KAFKA_LOG_DIRS": str(tmp_path)})

    assert result.returncode != 0
    assert "compose_env.py" in result.stderr
