"""Simulated weeks through the backtest: shared by the simulated-crisis test files.

The simulator adds daily and weekly seasonality to three sources; each crisis scenario says when
its trouble began and which series must notice. Detection runs through the backtest, which uses
the same detector class, settings and order (score, then learn) as the live pipeline.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from detectors.backtest import BacktestAlert, histories_from_mentions, run_series
from detectors.config import DetectionConfig
from detectors.sentiment import VaderScorer
from detectors.series import NO_FAN_OUT, FanOut
from monitor.privacy import Privacy
from streams.mentions import parse_mention
from streams.simulator import Scenario, simulate
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
