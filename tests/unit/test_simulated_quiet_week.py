"""A simulated quiet week through the live detector objects stays quiet, on every series.

One backtest of the week with the shipped topics serves both tests: the base series (global and
the sources) are judged alone, exactly as without the topic fan-out.
"""

from __future__ import annotations

import pytest

from detectors.backtest import BacktestAlert
from detectors.series import FanOut
from detectors.topics import load_topics
from monitor.incidents.service import grade_incident
from monitor.settings import shipped_config_dir
from tests.unit.simulation import alerts_for

BASE_SERIES = {"global", "source:social", "source:reviews", "source:tickets"}


@pytest.fixture(scope="module")
def quiet_week() -> dict[str, list[BacktestAlert]]:
    topics = load_topics(shipped_config_dir() / "topics.yaml")
    _onset, alerts = alerts_for("quiet", days=7, fan_out=FanOut(topics))
    return alerts


def test_a_quiet_week_raises_no_alert_on_any_series(quiet_week):
    assert set(quiet_week) >= BASE_SERIES
    assert {series: len(quiet_week[series]) for series in BASE_SERIES} == dict.fromkeys(
        BASE_SERIES, 0
    )


def test_a_quiet_week_on_the_shipped_topic_and_product_series_pages_nobody(quiet_week):
    alerts = quiet_week
    watched = {s for s in alerts if s.startswith(("topic:", "product:"))}
    # The simulated everyday mentions talk about invoices, deliveries, logins and the app.
    assert {"topic:billing", "topic:delivery", "topic:login", "product:mobile-app"} <= watched
    found = [a for series in watched for a in alerts[series]]
    # Sparse series (one mention a minute) with shared thresholds: in this seeded week one
    # warning (topic:login, 12 of 12 negative over five windows), never a critical. One window
    # on one series alone makes an info incident, which pages nobody.
    assert len(found) <= 1, found
    assert all(a.severity != "critical" for a in found)
    assert all(
        grade_incident(series=[a.series], anomalous_windows=1, strongest=a.severity) == "info"
        for a in found
    )
