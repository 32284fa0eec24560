"""Nothing sensitive in logs: an end-to-end run (feeds published, bad lines among them, then the
case-picture, reporting and alerts services catching up as they run in production) logs at
DEBUG, and none of the payload values it published appears anywhere in what it logged."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import structlog

from mappa_bus.adapters.feed_publish import publish_feed
from mappa_bus.agencies import Agency
from mappa_bus.connection import KafkaConnection
from mappa_bus.log_reader import read_to_end
from mappa_bus.logs import configure_logging
from mappa_bus.picture.service import open_projection
from mappa_bus.topics import dead_letter_topic
from tests.stores import stored_picture

pytestmark = pytest.mark.kafka

MAPPA = Path(sys.executable).with_name("mappa")
CASE = "KEN-2021-QUIET01"
# Values only the payloads carry: references to agency records and to a victim, and the
# contents of lines that are refused.
SECRETS = {
    "probation reference": "NDL-SECRET-4471",
    "victim reference": "VCS-SECRET-8812",
    "prison reference": "NOMIS-SECRET-2203",
    "a refused category": "LEAK-CATEGORY-5150",
    "a refused victim reference": "LEAK VICTIM 3319",
    "a refused reference": "LEAK/REFERENCE 7788",
}


def _feeds(folder: Path) -> dict[Agency, Path]:
    day = "2021-01-10T09:00:00+00:00"
    common = {"case_id": CASE, "area": "kent", "time": day}
    lines: dict[Agency, list[dict[str, object]]] = {
        Agency.PROBATION: [
            {
                **common,
                "type": "mappa-eligibility-identified",
                "reference": SECRETS["probation reference"],
                "identified_on": "2020-11-01",
                "category": 2,
                "lead_agency": "probation",
            },
            {
                **common,
                "type": "mappa-level-set",
                "set_on": "2021-01-10",
                "level": 3,
                "reason": "release-planning",
                "review_due_on": "2021-03-01",
            },
            {
                **common,
                "type": "mappa-eligibility-identified",
                "identified_on": "2020-11-01",
                "category": SECRETS["a refused category"],
                "lead_agency": "probation",
            },
            {
                **common,
                "type": "recall-issued",
                "issued_on": "2021-01-10",
                "recall_type": "standard",
                "reference": SECRETS["a refused reference"],
            },
        ],
        Agency.PRISONS: [
            {
                **common,
                "type": "released-from-custody",
                "reference": SECRETS["prison reference"],
                "released_on": "2021-01-11",
                "release": "on-licence",
                "licence_ends_on": "2022-01-11",
                "time": "2021-01-11T09:00:00+00:00",
            },
        ],
        Agency.VICTIM_CONTACT: [
            {
                **common,
                "type": "victim-opted-in",
                "opted_in_on": "2021-01-10",
                "victim": SECRETS["victim reference"],
            },
            {
                **common,
                "type": "licence-condition-requested",
                "requested_on": "2021-01-10",
                "victim": SECRETS["victim reference"],
                "condition": "exclusion-zone",
            },
            {
                **common,
                "type": "victim-opted-in",
                "opted_in_on": "2021-01-10",
                "victim": SECRETS["a refused victim reference"],
            },
        ],
    }
    paths = {}
    for agency, records in lines.items():
        paths[agency] = folder / f"{agency.value}.jsonl"
        paths[agency].write_text("".join(json.dumps(r) + "\n" for r in records))
    return paths


def _service_logs(command: list[str], env: dict[str, str]) -> str:
    done = subprocess.run(
        [str(MAPPA), *command], env=env, capture_output=True, text=True, timeout=180, check=False
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout + done.stderr


async def test_an_end_to_end_run_logs_none_of_the_payload_values(
    kafka: KafkaConnection,
    service_env: dict[str, str],
    kafka_as: Callable[[str], KafkaConnection],
    namespace: str,
    tmp_path: Path,
    capfd: pytest.CaptureFixture[str],
) -> None:
    configure_logging("json", "DEBUG")
    structlog.get_logger("test").debug("publishing feeds")
    for agency, path in _feeds(tmp_path).items():
        await publish_feed(
            kafka_as(agency.value),
            path,
            agency,
            system="quiet",
            namespace=namespace,
            dead_letter_topic=f"{namespace}.dead-letter",
            show_progress=False,
        )
    database = f"sqlite:///{tmp_path / 'store.db'}"
    env = {**service_env, "MAPPA_LOG_LEVEL": "DEBUG"}
    services = "".join(
        _service_logs([*command, "--namespace", namespace, "--database", database], env)
        for command in (["picture", "catch-up"], ["reporting", "catch-up"], ["alerts", "catch-up"])
    )
    published = capfd.readouterr()
    logged = published.out + published.err + services
    dead = [
        {name: value.decode() for name, value in record.headers}
        async for batch in read_to_end(kafka, [dead_letter_topic(namespace)])
        for record in batch
    ]
    reasons = [letter["mappa-reason"] for letter in dead]

    picture = stored_picture(open_projection(database, namespace), CASE)
    # The values went all the way through: the store holds them where they belong.
    assert picture.lead_reference == SECRETS["probation reference"]
    assert picture.victims is not None
    assert SECRETS["victim reference"] in picture.victims.opted_in
    # Something was logged, and the three refused lines were dead-lettered with their
    # reasons; the logs and the reasons hold no value (the dead letter's body keeps the input,
    # for the administrator only).
    assert "publishing feeds" in logged
    assert sorted(reason.split(":")[0] for reason in reasons) == ["category", "reference", "victim"]
    assert [name for name, value in SECRETS.items() if value in logged] == []
    assert [name for name, value in SECRETS.items() if any(value in str(d) for d in dead)] == []
