"""Simulated weeks through the live detector objects: crises found fast, quiet weeks stay quiet.

The simulator adds daily and weekly seasonality to three sources; each crisis scenario says when
its trouble began and which series must notice. Detection runs through the backtest, which uses
the same detector class, settings and order (score, then learn) as the live pipeline.
"""

from __future__ import annotations

import functools
from datetime import UTC, datetime, timedelta

import pytest

from detectors.backtest import BacktestAlert, histories_from_mentions, incidents_of, run_series
from detectors.config import DetectionConfig
from detectors.sentiment import VaderScorer
from streams.mentions import parse_mention
from streams.simulator import Scenario, simulate

MONDAY = datetime(2026, 3, 2, tzinfo=UTC)
WINDOW = timedelta(minutes=1)
CONFIG = DetectionConfig()  # the shipped defaults of config/detection.yaml


@functools.cache
def scenario_alerts(name: str, days: float) -> tuple[Scenario, dict[str, list[BacktestAlert]]]:
    scenario = simulate(name, start=MONDAY, days=days)
    mentions = [parse_mention(item) for item in scenario.items]
    histories = histories_from_mentions(mentions, VaderScorer(), CONFIG.window_seconds)
    return scenario, {h.series: run_series(h, CONFIG).alerts for h in histories}


def alerts_for(name: str, days: float) -> tuple[datetime | None, dict[str, list[BacktestAlert]]]:
    scenario, alerts = scenario_alerts(name, days)
    return scenario.onset, alerts


def test_a_quiet_week_raises_no_alert_on_any_series():
    _onset, alerts = alerts_for("quiet", days=7)
    assert set(alerts) == {"global", "source:social", "source:reviews", "source:tickets"}
    assert {series: len(found) for series, found in alerts.items()} == dict.fromkeys(alerts, 0)


@pytest.mark.parametrize(
    ("scenario", "series", "within"),
    [
        ("outage", "global", 1),
        # Only a third more traffic, but all of it says "charged twice".
        ("charged-twice", "global", 1),
        ("complaint-wave", "global", 1),
        # A source with two mentions a minute needs a second window of evidence.
        ("segment-crisis", "source:reviews", 2),
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
