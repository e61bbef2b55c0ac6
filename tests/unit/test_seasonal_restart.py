"""A restarted worker keeps each series' learnt daily and weekly rhythm.

Warm-up replays only the last 500 windows (under two days of 5-minute windows), so the
hour-of-week profile is stored with the windows that taught it.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
from sqlalchemy import delete
from sqlmodel import Session

from detectors.closing import SeriesDetectors
from detectors.config import DetectionConfig, DetectorSettings
from monitor.storage.models import SeasonalBaseline, SeriesWindow

MONDAY = datetime(2026, 3, 2, tzinfo=UTC)
WINDOW = timedelta(minutes=5)
DAYS = 10
OBSERVED = MONDAY + timedelta(days=30)  # closed long after the event times: a replay


def config() -> DetectionConfig:
    return DetectionConfig(window_seconds=300, detector=DetectorSettings())


def store_office_hours(engine) -> datetime:
    """Ten days of a support queue: 20 mentions a window in weekday office hours, 2 otherwise."""
    rng = np.random.default_rng(3)
    rows = []
    for k in range(DAYS * 288):
        at = MONDAY + k * WINDOW
        busy = at.weekday() < 5 and 8 <= at.hour < 20
        n = max(1, int(rng.poisson(20 if busy else 2)))
        rows.append(SeriesWindow(series="global", window_start=at, window_seconds=300, n=n))
    with Session(engine) as session:
        session.add_all(rows)
        session.commit()
    return MONDAY + DAYS * 288 * WINDOW


def test_the_hour_of_week_profile_survives_a_restart(engine):
    end = store_office_hours(engine)
    original = SeriesDetectors(engine, config())
    original.on_touch("global", MONDAY, end, OBSERVED, 0)
    friday_noon = end + timedelta(days=1, hours=12)  # end is a Thursday 00:00
    friday_3am = end + timedelta(days=1, hours=3)

    restarted = SeriesDetectors(engine, config())
    busy, _, _ = restarted.expected_volume("global", friday_noon)
    night, _, _ = restarted.expected_volume("global", friday_3am)

    assert 14 <= busy <= 26  # truly 20
    assert night <= 4  # truly 2
    # What the worker that learnt it expected, give or take the rebuilt level.
    assert abs(busy - original.expected_volume("global", friday_noon)[0]) <= 0.05 * busy
    assert abs(night - original.expected_volume("global", friday_3am)[0]) <= 0.05 * night + 0.1

    # Without the stored profile the restarted worker would expect much the same every hour.
    with Session(engine) as session:
        session.execute(delete(SeasonalBaseline))
        session.commit()
    forgetful = SeriesDetectors(engine, config())
    flat_busy, _, _ = forgetful.expected_volume("global", friday_noon)
    flat_night, _, _ = forgetful.expected_volume("global", friday_3am)
    assert flat_busy / flat_night < (busy / night) / 2
