"""`mappa up` on a clean machine and the README's walk-through, run as written: an agency
publishes a feed, a reader opens the case with a Keycloak token, a coordinator signs in to the
alerts page (Chromium, Keycloak's form) and sees the alert, an analyst prints the year; then
Ctrl-C leaves no process behind.

The README's commands name the default ports; the test runs them on free ports (the same text
with its own ports in place of 8000, 8001 and 8180) and a state directory of its own, so it
never meets a developer's broker, Keycloak or store.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from subprocess import Popen
from typing import IO

import pytest
from playwright.async_api import Browser, expect

from tests.browsing import WAIT_MS, Problems
from tests.conftest import KAFKA_LOCAL, REPO
from tests.keycloak import KEYCLOAK_LOCAL
from tests.ports import free_ports

pytestmark = [pytest.mark.kafka, pytest.mark.slow, pytest.mark.timeout(900)]

SECTION = "## The whole bus on this machine"
CASE = "KEN-2025-000001"
START_S = 600.0  # a first Keycloak start on a new data dir, on a loaded 2-core machine
SETTLE_S = 90.0
# Settings a developer's shell may hold that would point the run at their own services.
NOT_INHERITED = (
    "KAFKA_DATA_DIR",
    "KEYCLOAK_DATA_DIR",
    "MAPPA_KAFKA_CREDENTIALS",
    "MAPPA_KAFKA_PRINCIPAL",
    "MAPPA_OIDC_ISSUER",
    "MAPPA_DATABASE_URL",
    "MAPPA_METRICS_PORT",
)


def readme_blocks() -> list[str]:
    """The shell blocks of the README's `mappa up` section, in order."""
    text = (REPO / "README.md").read_text(encoding="utf-8")
    section = text.split(SECTION, 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```sh\n(.*?)```", section, re.DOTALL)


@dataclass(frozen=True)
class Machine:
    """The clean machine the run has: a working dir, a state dir and free ports."""

    workdir: Path
    state: Path
    kafka: int
    keycloak: int
    keycloak_management: int
    api: int
    web: int

    def env(self) -> dict[str, str]:
        env = {key: value for key, value in os.environ.items() if key not in NOT_INHERITED}
        env.update(
            XDG_STATE_HOME=str(self.state),
            KAFKA_BOOTSTRAP_SERVERS=f"127.0.0.1:{self.kafka}",
            KAFKA_CONTROLLER_PORT=str(self.kafka + 1),
            KEYCLOAK_PORT=str(self.keycloak),
            KEYCLOAK_MANAGEMENT_PORT=str(self.keycloak_management),
            MAPPA_API_PORT=str(self.api),
            MAPPA_WEB_PORT=str(self.web),
            COLUMNS="200",
        )
        return env

    def here(self, block: str) -> str:
        """`block` with this machine's ports in place of the README's defaults."""
        for default, port in (("8180", self.keycloak), ("8000", self.api), ("8001", self.web)):
            block = block.replace(f"127.0.0.1:{default}", f"127.0.0.1:{port}")
        return block

    def run(self, block: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["bash", "-euo", "pipefail", "-c", self.here(block)],
            cwd=self.workdir,
            env=self.env(),
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    def run_until(self, block: str, done: Callable[[str], bool], wait_s: float = SETTLE_S) -> str:
        """Run `block` again until its output satisfies `done` (the services fold in the
        background); its last output."""
        deadline = time.monotonic() + wait_s
        while True:
            result = self.run(block)
            if result.returncode == 0 and done(result.stdout):
                return result.stdout
            assert time.monotonic() < deadline, f"{block}\n{result.stdout}\n{result.stderr}"
            time.sleep(2)

    def left_running(self) -> list[str]:
        """Every process whose environment names this machine's state dir."""
        marker = f"XDG_STATE_HOME={self.state}".encode()
        found = []
        for proc in Path("/proc").iterdir():
            if not proc.name.isdigit() or int(proc.name) == os.getpid():
                continue
            try:
                if marker in (proc / "environ").read_bytes().split(b"\0"):
                    found.append((proc / "cmdline").read_bytes().replace(b"\0", b" ").decode())
            except OSError:
                continue
        return found


def _kafka_pair() -> int:
    """A free port whose next one is free too (the broker's controller listens there)."""
    while True:
        [port] = free_ports(1)
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port + 1))
            except OSError:
                continue
        return port


@pytest.fixture
def machine(tmp_path: Path) -> Iterator[Machine]:
    """A clean machine; whatever the run leaves, stopped afterwards."""
    workdir = tmp_path / "work"
    workdir.mkdir()
    # The README's commands are relative to the repository; the files they write (the feed)
    # must land here, not in it.
    (workdir / ".venv").symlink_to(REPO / ".venv")
    (workdir / "deploy").symlink_to(REPO / "deploy")
    keycloak, management, api, web = free_ports(4)
    found = Machine(workdir, tmp_path / "state", _kafka_pair(), keycloak, management, api, web)
    try:
        yield found
    finally:
        for script in (KEYCLOAK_LOCAL, KAFKA_LOCAL):
            env = {**found.env(), "KAFKA_PORT": str(found.kafka)}
            subprocess.run([str(script), "stop"], env=env, capture_output=True, check=False)


class Output:
    """A process's stdout lines, read as they come in a thread of their own."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.lines: list[str] = []
        assert process.stdout is not None
        stream = process.stdout
        threading.Thread(target=lambda: self.lines.extend(stream), daemon=True).start()

    def wait_for(self, text: str, process: subprocess.Popen[str], wait_s: float) -> None:
        deadline = time.monotonic() + wait_s
        while not any(text in line for line in self.lines):
            assert process.poll() is None, "".join(self.lines)
            assert time.monotonic() < deadline, "".join(self.lines)
            time.sleep(0.5)


async def test_mappa_up_runs_the_readme_journeys_and_leaves_nothing_running(
    machine: Machine, browser: Browser, tmp_path: Path
) -> None:
    """The README's `mappa up` section, run as written on a clean machine: the feed goes on
    the bus, the case reads back through the API with a Keycloak token, the year's figures
    count it, the coordinator signed in at Keycloak sees its urgent alerts on the page and in
    `tail`; the erasure leaves the case a stub; Ctrl-C then stops everything `mappa up`
    started. `mappa up` runs sealed, so every journey goes through the intake."""
    up, publish, read_case, password, tail, report, erase = readme_blocks()
    assert up.strip() == ".venv/bin/mappa up"
    log = (tmp_path / "up-stderr.log").open("w")
    process = _start(up, machine, stdout=subprocess.PIPE, stderr=log)
    output = Output(process)
    try:
        output.wait_for("Ctrl-C stops everything", process, START_S)
        table = "".join(output.lines)
        assert f"http://127.0.0.1:{machine.api}/docs" in table
        assert f"http://127.0.0.1:{machine.web}/" in table

        published = machine.run(publish)
        assert published.returncode == 0, published.stderr
        assert re.search(r"│\s+4\s+│\s+0\s+│", published.stderr), published.stderr

        case = json.loads(machine.run_until(read_case, lambda out: CASE in out))
        assert (case["case_id"], case["area"], case["level"], case["role"]) == (
            CASE,
            "kent",
            2,
            "probation",
        )

        year = machine.run_until(report, lambda out: "no figures" not in out)
        assert "Kent" in year
        figures = json.loads(
            machine.run_until(f"{report.strip()} --format json", lambda out: out.startswith("{"))
        )
        assert figures["levels_2_and_3_in_year"]["2"]["2"] == 1

        secret = machine.run(password).stdout.strip()
        await _coordinator_sees_the_alerts(browser, machine, secret, tmp_path)
        _tail_prints_the_alerts(machine, tail)

        erased = machine.run(erase)
        assert erased.returncode == 0, erased.stderr
        stub = json.loads(machine.run_until(read_case, lambda out: _erased_on(out) is not None))
        assert (stub["case_id"], stub["area"], stub["erased_on"]) == (
            CASE,
            "kent",
            datetime.now(UTC).date().isoformat(),
        )
        assert (stub["level"], stub["timeline"]) == (None, [])
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)  # as Ctrl-C
        try:
            code = process.wait(timeout=120)
        except subprocess.TimeoutExpired:
            process.kill()
            raise
        log.close()
    stderr = (tmp_path / "up-stderr.log").read_text()
    assert code == 0, stderr
    assert "stopped the picture service" in stderr
    assert machine.left_running() == []


def _erased_on(read: str) -> str | None:
    """The day a case read back through the API was erased on, None while it is not (or the
    read gave no case)."""
    try:
        case = json.loads(read)
    except ValueError:
        return None
    erased: str | None = case.get("erased_on") if isinstance(case, dict) else None
    return erased


async def _coordinator_sees_the_alerts(
    browser: Browser, machine: Machine, password: str, tmp_path: Path
) -> None:
    problems = Problems()
    context = await browser.new_context(viewport={"width": 1280, "height": 900})
    page = await context.new_page()
    page.set_default_timeout(WAIT_MS)
    problems.watch(page)
    await page.goto(f"http://127.0.0.1:{machine.web}/")
    await page.locator("#username").fill("coordinator-kent")
    await page.locator("#password").fill(password)
    await page.locator("#kc-login").click()
    await expect(page.locator("#user")).to_have_text("coordinator-kent")
    rows = page.locator("tr[data-alert-id]", has_text=CASE)
    await expect(rows.filter(has_text="recalled")).to_have_count(1)
    await expect(rows.filter(has_text="licence-breached")).to_have_count(1)
    await page.screenshot(path=str(tmp_path / "alerts-page.png"), full_page=True)
    await context.close()
    assert problems == []


def _start(command: str, machine: Machine, stdout: int, stderr: IO[str] | int) -> Popen[str]:
    """A README command that runs until stopped, started as written."""
    return subprocess.Popen(
        shlex.split(command),
        cwd=machine.workdir,
        env=machine.env(),
        stdout=stdout,
        stderr=stderr,
        text=True,
    )


def _tail_prints_the_alerts(machine: Machine, tail: str) -> None:
    process = _start(tail, machine, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    try:
        Output(process).wait_for(CASE, process, SETTLE_S)
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=30)
