"""Daily and weekly seasonality: the morning rush is normal, the same crowd at 3 a.m. is not."""

from __future__ import annotations

import pickle
from datetime import UTC, datetime, timedelta

import numpy as np

from detectors.count_spike import VOLUME, CountSpikeDetector

MONDAY = datetime(2026, 3, 2, tzinfo=UTC)
WINDOW = timedelta(minutes=5)
ALERT_SCORE = 5.0


def office_hours_rate(at: datetime) -> float:
    """A support queue: 40 mentions a window 08:00-20:00 on weekdays, 2 at night and weekends."""
    busy = at.weekday() < 5 and 8 <= at.hour < 20
    return 40.0 if busy else 2.0


def replay(
    detector: CountSpikeDetector, days: int, *, seed: int = 7
) -> list[tuple[datetime, float]]:
    """Score then learn, window by window; the volume score of every window."""
    rng = np.random.default_rng(seed)
    scored = []
    for k in range(days * 288):
        at = MONDAY + k * WINDOW
        x = {"start": at, "n": int(rng.poisson(office_hours_rate(at))), "n_negative": 0}
        volume = next(f for f in detector.assess(x, bands=False) if f.metric == VOLUME)
        scored.append((at, volume.score if detector.warmed_up else 0.0))
        detector.learn_one(x)
    return scored


def test_after_two_weeks_the_office_hours_rhythm_raises_no_alert_but_a_detector_without_it_does():
    seasonal = replay(CountSpikeDetector(), days=21)
    flat = replay(CountSpikeDetector(seasonal=False), days=21)
    third_week = MONDAY + timedelta(days=14)
    assert max(score for at, score in seasonal if at >= third_week) < ALERT_SCORE
    mornings = [score for at, score in flat if at >= third_week and at.hour == 8]
    assert max(mornings) >= ALERT_SCORE  # without seasonality every Monday-Friday 08:00 pages


def test_the_expected_volume_follows_the_hour_and_the_weekday():
    detector = CountSpikeDetector()
    replay(detector, days=25)  # up to the fourth Friday, 00:00
    friday = MONDAY + timedelta(days=25)
    busy = detector.volume_band(friday.replace(hour=14))[0]
    night = detector.volume_band(friday.replace(hour=3))[0]
    saturday = detector.volume_band((friday + timedelta(days=1)).replace(hour=14))[0]
    assert 25 <= busy <= 55  # truly 40
    assert night <= 5  # truly 2
    assert saturday <= busy / 3  # truly 2: weekends have their own profile


def test_a_daytime_crowd_at_three_in_the_morning_is_an_anomaly():
    detector = CountSpikeDetector()
    replay(detector, days=21)
    night = (MONDAY + timedelta(days=22)).replace(hour=3)
    assert detector.score_one({"start": night, "n": 40, "n_negative": 0}) >= ALERT_SCORE
    noon = night.replace(hour=13)
    assert detector.score_one({"start": noon, "n": 40, "n_negative": 0}) < ALERT_SCORE


def test_a_sparse_series_keeps_no_season_from_a_handful_of_mentions():
    detector = CountSpikeDetector()
    rng = np.random.default_rng(3)
    for k in range(7 * 288):
        at = MONDAY + k * WINDOW
        # Two mentions an hour, all at lunch time: too little to say anything about the hours.
        n = int(rng.poisson(0.5)) if at.hour == 12 and at.minute < 30 else 0
        detector.learn_one({"start": at, "n": n, "n_negative": 0})
    day = MONDAY + timedelta(days=7)
    factors = [detector._season.factor((day + timedelta(hours=h)).timestamp()) for h in range(24)]
    assert max(factors) / min(factors) < 3.0


def test_seasonal_state_stays_the_same_size_however_long_the_series_runs():
    detector = CountSpikeDetector()
    replay(detector, days=2)
    after_two_days = len(pickle.dumps(detector))
    replay(detector, days=14, seed=8)
    assert len(pickle.dumps(detector)) <= after_two_days + 64
    assert after_two_days < 4_000
