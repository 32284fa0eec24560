"""The README's run command: the sample area-year through the real broker, counted exactly."""

from pathlib import Path

import pytest

from mappa_bus.demo import run_demo, run_live
from mappa_bus.reporting.tables import kent_2020_21
from mappa_bus.settings import load_settings
from tests.conftest import BrokerUnderTest

pytestmark = pytest.mark.kafka


async def test_the_demo_publishes_kent_2020_21_and_counts_the_seed_reports_tables(
    kafka_broker: BrokerUnderTest, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Published by each agency's principal and consumed into a store by the reporting role,
    the simulated Kent year counts to Kent's published tables and to the simulator's intent;
    the alerts service raises the year's alerts, and a case happening now is alerted live."""
    for variable, value in kafka_broker.client_env().items():
        monkeypatch.setenv(variable, value)
    monkeypatch.setenv("MAPPA_DEMO_DATABASE_URL", f"sqlite:///{tmp_path / 'demo.db'}")

    settings = load_settings()
    result = await run_demo(settings)
    live = await run_live(settings, result, lambda _: None)

    assert (result.counted, result.intended) == (kent_2020_21(), kent_2020_21())
    assert sum(result.rejected.values()) == 0
    assert sum(result.published.by_agency.values()) == result.published.accepted > 30_000
    assert result.records_read >= result.published.accepted
    # The year raised alerts, and the live case's release, breach and recall came through.
    assert result.alerts_by_rule["released-from-custody"] > 0
    assert [item.alert.data.rule for item in live] == [
        "release-date-confirmed",
        "released-from-custody",
        "licence-breached",
        "recalled",
    ]
