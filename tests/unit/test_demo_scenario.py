"""The demo's scenario holds one thing to find, the outage, whatever the time it is played at.

The live demo runs the same detectors and correlation as the backtest (see
tests/integration/test_live_equals_backtest.py), so replaying the scenario offline at different
hours and second offsets (which move every mention across window edges) shows what any demo
run would page. A false alarm here is a false alarm a newcomer would see.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from detectors.config import load_detection_config
from detectors.dimensions import offline_dimensions
from detectors.sentiment import build_scorer
from detectors.series import FanOut
from detectors.topics import load_topics
from monitor.incidents.backtest import backtest_mentions
from monitor.privacy import Privacy
from streams.mentions import MentionIn
from streams.replay import validate_one
from streams.scenario import BURST_MINUTES, CALM_MINUTES, outage_scenario

CONFIG = Path(__file__).resolve().parents[2] / "config"
# Ends spread over the day and across the minute: a mention's window depends on both.
ENDS = [
    datetime(2026, 12, 1, 3, 0, 0, tzinfo=UTC),
    datetime(2026, 12, 1, 17, 22, 14, 600000, tzinfo=UTC),
    datetime(2026, 12, 2, 13, 47, 41, tzinfo=UTC),
    datetime(2026, 12, 3, 18, 5, 29, 200000, tzinfo=UTC),
    datetime(2026, 12, 5, 23, 58, 58, tzinfo=UTC),
    datetime(2026, 12, 6, 9, 18, 11, 400000, tzinfo=UTC),
]


def _mentions(end: datetime) -> list[MentionIn]:
    privacy = Privacy.from_key(secrets.token_hex(32))
    now = end + timedelta(minutes=1)
    checked = [
        validate_one(item, default_source=None, now=now, privacy=privacy)
        for item in outage_scenario(end=end, run_id=f"demo-{end:%d%H%M}")
    ]
    mentions = [item for item in checked if isinstance(item, MentionIn)]
    assert len(mentions) == len(checked)
    return mentions


@pytest.mark.parametrize("end", ENDS, ids=lambda end: f"{end:%a-%H%M%S}")
def test_the_demo_pages_the_outage_and_nothing_else(end: datetime):
    run = backtest_mentions(
        _mentions(end),
        config=load_detection_config(CONFIG / "detection.yaml"),
        scorer=build_scorer(CONFIG, None),
        fan_out=FanOut(load_topics(CONFIG / "topics.yaml"), dimensions=offline_dimensions(CONFIG)),
    )
    burst_start = end - timedelta(minutes=CALM_MINUTES + BURST_MINUTES)
    paged = [incident for incident in run.incidents if incident.paged_at is not None]
    described = [(i.opened_at, i.severity, i.metric, i.series[:4]) for i in paged]

    assert len(paged) == 1, f"expected only the outage to page, got {described}"
    (outage,) = paged
    assert outage.closed_at >= burst_start, f"the page is not the outage: {described}"
    assert outage.opened_at <= end - timedelta(minutes=CALM_MINUTES)
    assert "global" in outage.series
    assert outage.severity == "critical"
