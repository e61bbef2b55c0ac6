"""Simulated weeks through the live detector objects: crises found fast, quiet weeks stay quiet.

The simulator adds daily and weekly seasonality to three sources; each crisis scenario says when
its trouble began and which series must notice. Detection runs through the backtest, which uses
the same detector class, settings and order (score, then learn) as the live pipeline.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from detectors.backtest import BacktestAlert, histories_from_mentions, incidents_of, run_series
from detectors.config import DetectionConfig
from detectors.findings import SLOW_METRICS
from detectors.sentiment import VaderScorer
from detectors.series import NO_FAN_OUT, FanOut, KnownSegments
from detectors.topics import load_topics
from monitor.incidents.service import grade_incident
from monitor.privacy import Privacy, customer_pseudonym
from monitor.settings import shipped_config_dir
from playbooks.customers import CustomerIn
from playbooks.models import Customer
from playbooks.segments import load_segments
from streams.mentions import parse_mention
from streams.simulator import SIMULATED_CUSTOMERS, Scenario, simulate
from tests.conftest import TEST_PSEUDONYM_KEY

MONDAY = datetime(2026, 3, 2, tzinfo=UTC)
WINDOW = timedelta(minutes=1)
CONFIG = DetectionConfig()  # the shipped defaults of config/detection.yaml


PRIVACY = Privacy.from_key(TEST_PSEUDONYM_KEY)


def scenario_alerts(
    name: str, days: float, fan_out: FanOut = NO_FAN_OUT
) -> tuple[Scenario, dict[str, list[BacktestAlert]]]:
    scenario = simulate(name, start=MONDAY, days=days)
    mentions = [parse_mention(item, privacy=PRIVACY) for item in scenario.items]
    histories = histories_from_mentions(mentions, VaderScorer(), CONFIG.window_seconds, fan_out)
    return scenario, {h.series: run_series(h, CONFIG).alerts for h in histories}


def alerts_for(
    name: str, days: float, fan_out: FanOut = NO_FAN_OUT
) -> tuple[datetime | None, dict[str, list[BacktestAlert]]]:
    scenario, alerts = scenario_alerts(name, days, fan_out)
    return scenario.onset, alerts


def test_a_quiet_week_raises_no_alert_on_any_series():
    _onset, alerts = alerts_for("quiet", days=7)
    assert set(alerts) == {"global", "source:social", "source:reviews", "source:tickets"}
    assert {series: len(found) for series, found in alerts.items()} == dict.fromkeys(alerts, 0)


def test_a_quiet_week_on_the_shipped_topic_and_product_series_pages_nobody():
    topics = load_topics(shipped_config_dir() / "topics.yaml")
    _onset, alerts = alerts_for("quiet", days=7, fan_out=FanOut(topics))
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


def test_an_outage_also_shows_in_topic_outage():
    topics = load_topics(shipped_config_dir() / "topics.yaml")
    onset, alerts = alerts_for("outage", days=3, fan_out=FanOut(topics))
    assert onset is not None
    assert min(a.window_start for a in alerts["global"]) <= onset + WINDOW
    # The simulator says "outage" only in the outage, so topic:outage begins with it (as a live
    # series begins with its first mention) and is judged once warmed up, within the incident.
    warm = CONFIG.detector.warmup_windows + CONFIG.detector.drop_span_windows
    assert min(a.window_start for a in alerts["topic:outage"]) <= onset + warm * WINDOW


def segments_of_simulated_customers() -> FanOut:
    """The shipped segments.yaml evaluated on the simulator's customers, as ingest would."""
    segments = load_segments(shipped_config_dir() / "segments.yaml")
    known = {}
    for record in SIMULATED_CUSTOMERS:
        row = CustomerIn.model_validate(record).model_dump(exclude={"consent", "tags"})
        customer = Customer(**row, tags=" ", updated_at=MONDAY)
        pseudonym = customer_pseudonym(PRIVACY.pseudonymiser, customer.external_id)
        known[pseudonym] = segments.of(customer, now=MONDAY)
    return FanOut(segments=KnownSegments(known))


def test_a_crisis_among_vips_only_is_found_on_segment_vip_and_not_on_global():
    onset, alerts = alerts_for("segment-crisis", days=3, fan_out=segments_of_simulated_customers())
    assert onset is not None
    first = min(a.window_start for a in alerts["segment:vip"])
    # A segment with one ticket in five minutes needs a second window of evidence.
    assert first <= onset + 2 * WINDOW, f"first alert at {first}, onset {onset}"
    # global's spike detectors stay quiet; the VIPs' complaints do raise global's share of
    # negative mentions over the following minutes (the slow detectors), later than the VIPs.
    spikes = [a for a in alerts["global"] if a.finding.metric not in SLOW_METRICS]
    assert [a for a in spikes if a.severity != "info"] == []  # a record is only an explanation
    assert all(a.window_start > first for a in alerts["global"])
    everything = [a for found in alerts.values() for a in found]
    assert all(a.window_start >= onset - 15 * WINDOW for a in everything), "alert before trouble"
    gap = timedelta(seconds=CONFIG.incidents.merge_gap_seconds)
    assert incidents_of(everything, gap) == 1


@pytest.mark.parametrize(
    ("scenario", "series", "within"),
    [
        ("outage", "global", 1),
        # Only a third more traffic, but all of it says "charged twice".
        ("charged-twice", "global", 1),
        ("complaint-wave", "global", 1),
        # Silence is evidence only once it adds up: ten minutes of a three-a-minute source.
        ("volume-drop", "source:tickets", 10),
    ],
)
def test_each_crisis_is_detected_soon_after_onset_as_one_incident(scenario, series, within):
    simulated, alerts = scenario_alerts(scenario, days=3)
    onset, began = simulated.onset, simulated.began
    assert onset is not None and began is not None
    first = min(a.window_start for a in alerts[series])
    assert first <= onset + within * WINDOW, f"{scenario}: first alert at {first}, onset {onset}"
    everything = [a for found in alerts.values() for a in found]
    # A slow wave's words may give it away before its volume does, never before it began.
    assert all(a.window_start >= began for a in everything), "alert before trouble"
    gap = timedelta(seconds=CONFIG.incidents.merge_gap_seconds)
    assert incidents_of(everything, gap) == 1


def test_the_charged_twice_wave_is_explained_by_its_phrase():
    _scenario, alerts = scenario_alerts("charged-twice", days=3)
    first = min(alerts["global"], key=lambda a: a.window_start)
    assert first.finding.metric == "term_burst"
    assert 'global · term burst: "charged twice" in ' in first.describe()
    assert ' · top terms: "charged twice" ' in first.describe()
