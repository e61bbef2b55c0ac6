"""The slow detectors on synthetic minute counts with a daily rhythm and hour-to-hour wander:
ramps, silences and slices moving alone are found in time; busy days and quiet nights are not."""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import numpy as np

from detectors.config import DetectionConfig
from detectors.count_spike import CountSpikeDetector
from detectors.findings import SHARE_FALL, SHARE_RISE, VOLUME_RAMP, VOLUME_SILENCE
from detectors.slow_change import SlowChangeDetector

START = datetime(2026, 3, 2, tzinfo=UTC)  # a Monday
WARM_DAYS = 5
SLOW_METRICS = {VOLUME_RAMP, VOLUME_SILENCE, SHARE_RISE, SHARE_FALL, "negative_ramp"}


def rhythm(minute: int, peak_hour: float = 14.0) -> float:
    """A daily cycle (busy afternoon, quiet night: a tenth of the peak) in UTC."""
    hour = (minute / 60.0) % 24.0
    return 0.1 + 0.9 * (0.5 + 0.5 * math.cos(2 * math.pi * (hour - peak_hour) / 24.0)) ** 2


def wander(minutes: int, rng: np.random.Generator) -> np.ndarray:
    """A smoothly wandering level (AR(1) on its log, hours-long memory, about ±15 %)."""
    log_level = np.zeros(minutes)
    for i in range(1, minutes):
        log_level[i] = 0.995 * log_level[i - 1] + rng.normal(0.0, 0.015)
    return np.exp(log_level)


def counts(
    rate: Callable[[int], float], minutes: int, rng: np.random.Generator, wandering: bool = True
) -> np.ndarray:
    level = wander(minutes, rng) if wandering else np.ones(minutes)
    means = np.array([rate(m) for m in range(minutes)]) * level
    # Hour-to-hour over-dispersion: a gamma factor per hour, on top of Poisson noise.
    hourly = rng.gamma(25.0, 1.0 / 25.0, size=minutes // 60 + 1)
    return rng.poisson(means * hourly[np.arange(minutes) // 60])


def run(
    n: np.ndarray, parent: np.ndarray | None = None, negative: np.ndarray | None = None
) -> list[tuple[int, str, float]]:
    """(minute, metric, score) of every slow finding at the alert score, scored as live."""
    config = DetectionConfig()
    detector: CountSpikeDetector = config.detector.build()
    if negative is None:  # a fifth of the mentions are negative, as in ordinary traffic
        negative = np.random.default_rng(0).binomial(n, 0.2)
    found = []
    for minute, count in enumerate(n):
        x = {
            "start": START + timedelta(minutes=minute),
            "n": int(count),
            "n_negative": int(negative[minute]),
            "sum_compound": 0.2 * int(count),
        }
        if parent is not None:
            x["parent_n"] = int(parent[minute])
        for finding in config.detector.judge(detector, x):
            if finding.metric in SLOW_METRICS and finding.score >= config.detector.alert_score:
                found.append((minute, finding.metric, finding.score))
        detector.learn_one(x)
    return found


def first(found: list[tuple[int, str, float]], metric: str, after: int) -> int | None:
    return next((m for m, name, _ in found if name == metric and m >= after), None)


def complaints(
    base: np.ndarray, extra: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Ordinary traffic (a fifth negative) plus complaint mentions (four in five negative)."""
    return base + extra, rng.binomial(base, 0.2) + rng.binomial(extra, 0.8)


def test_a_complaint_wave_growing_over_three_hours_is_found_within_two_hours() -> None:
    rng = np.random.default_rng(7)
    minutes = (WARM_DAYS + 1) * 1440
    onset = (WARM_DAYS * 24 + 10) * 60  # 10:00 on the sixth day

    def wave(minute: int) -> float:  # from zero to the slice's own peak rate over 3 hours
        return 2.0 * min(max((minute - onset) / 180.0, 0.0), 1.0) if minute < onset + 300 else 0.0

    base = counts(lambda m: 2.0 * rhythm(m), minutes, rng)
    n, negative = complaints(base, rng.poisson([wave(m) for m in range(minutes)]), rng)
    found = run(n, negative=negative)
    assert [f for f in found if f[0] < onset] == [], "false alarms before the wave"
    caught = first(found, "negative_ramp", onset)
    assert caught is not None and caught - onset <= 120, caught


def test_a_week_of_wandering_traffic_with_busy_and_quiet_hours_raises_nothing() -> None:
    rng = np.random.default_rng(11)
    n = counts(lambda m: 3.0 * rhythm(m), 9 * 1440, rng)
    assert run(n) == []


def test_a_review_form_that_breaks_is_found_within_two_hours_and_nights_stay_quiet() -> None:
    rng = np.random.default_rng(3)
    # Friday 11:00: an hour of the week seen on earlier days (the first Saturday is not judged).
    onset = ((WARM_DAYS - 1) * 24 + 11) * 60

    def rate(minute: int) -> float:
        base = 1.5 * rhythm(minute)  # a low-rate source: a review or two a minute at peak
        return base * (0.2 if onset <= minute < onset + 180 else 1.0)

    n = counts(rate, WARM_DAYS * 1440, rng)
    found = run(n)
    assert [f for f in found if f[0] < onset] == []
    caught = first(found, VOLUME_SILENCE, onset)
    assert caught is not None and caught - onset <= 120, caught


def test_one_region_complaining_alone_is_news_and_every_slice_rising_together_is_not() -> None:
    rng = np.random.default_rng(5)
    minutes = (WARM_DAYS + 1) * 1440
    onset = (WARM_DAYS * 24 + 9) * 60
    busy = (WARM_DAYS * 24 + 2) * 60  # an ordinary busy spell that lifts everything by 40 %

    def lift(minute: int) -> float:
        return 1.4 if busy <= minute < busy + 180 else 1.0

    extra = rng.poisson(
        [1.2 * rhythm(m, 11) if onset <= m < onset + 240 else 0.0 for m in range(minutes)]
    )
    eu, eu_negative = complaints(
        counts(lambda m: 2.0 * rhythm(m, 11) * lift(m), minutes, rng), extra, rng
    )
    rest = counts(lambda m: 6.0 * rhythm(m, 18) * lift(m), minutes, rng)
    found = run(eu, parent=eu + rest, negative=eu_negative)
    assert [f for f in found if f[0] < onset] == [], "the busy spell is not news"
    caught = next((m for m, _metric, _score in found if m >= onset), None)
    assert caught is not None and caught - onset <= 120, caught


def test_saved_state_continues_exactly_where_it_stopped() -> None:
    rng = np.random.default_rng(2)
    detector = SlowChangeDetector(warmup=60, half_life=240)
    windows = [
        {"start": START + timedelta(minutes=m), "n": int(c), "n_negative": 1, "parent_n": 30}
        for m, c in enumerate(rng.poisson(3.0, 900))
    ]
    for x in windows[:600]:
        detector.learn_one(x)
    restored = SlowChangeDetector(warmup=60, half_life=240)
    restored.restore(detector.snapshot())
    for x in windows[600:]:
        assert restored.assess(x) == detector.assess(x)
        detector.learn_one(x)
        restored.learn_one(x)
    assert restored.snapshot() == detector.snapshot()
