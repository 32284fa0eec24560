"""The README's run command: the sample area-year through the real broker, counted exactly."""

from pathlib import Path

import pytest

from mappa_bus.demo import run_demo
from mappa_bus.reporting.tables import kent_2020_21
from mappa_bus.settings import load_settings
from tests.conftest import BrokerUnderTest

pytestmark = pytest.mark.kafka


async def test_the_demo_publishes_kent_2020_21_and_counts_the_seed_reports_tables(
    kafka_broker: BrokerUnderTest, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Published by each agency's principal and consumed into a store by the reporting role,
    the simulated Kent year counts to Kent's published tables and to the simulator's intent."""
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", kafka_broker.bootstrap)
    credentials = kafka_broker.credentials
    monkeypatch.setenv("MAPPA_KAFKA_CREDENTIALS", str(credentials.path) if credentials else "")
    monkeypatch.setenv("MAPPA_DEMO_DATABASE_URL", f"sqlite:///{tmp_path / 'demo.db'}")

    result = await run_demo(load_settings())

    assert (result.counted, result.intended) == (kent_2020_21(), kent_2020_21())
    assert sum(result.rejected.values()) == 0
    assert sum(result.published.by_agency.values()) == result.published.accepted > 30_000
    assert result.records_read >= result.published.accepted
