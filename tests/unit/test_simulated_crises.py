"""Simulated crises through the live detector objects: each found fast, as one incident.

See tests/unit/simulation.py for how a simulated week is backtested.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from detectors.backtest import incidents_of
from detectors.findings import SLOW_METRICS
from detectors.series import FanOut, KnownSegments
from detectors.topics import load_topics
from monitor.privacy import customer_pseudonym
from monitor.settings import shipped_config_dir
from playbooks.customers import CustomerIn
from playbooks.models import Customer
from playbooks.segments import load_segments
from streams.simulator import SIMULATED_CUSTOMERS
from tests.unit.simulation import CONFIG, MONDAY, PRIVACY, WINDOW, alerts_for, scenario_alerts


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
