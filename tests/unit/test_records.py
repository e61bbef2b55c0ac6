"""The busiest-stretch detector: records over weeks, on any span, never on a sparse trickle."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from detectors.config import ConfigError, RecordSettings, load_yaml_model
from detectors.findings import VOLUME_RECORD
from detectors.record_store import record_finding
from detectors.records import RecordDetector

DAY = 288  # five-minute windows


def fed(values, **params) -> RecordDetector:
    params = {"spans": (1, 6, 24, 96), "memory": 21 * DAY, "bucket": 72, "warmup": DAY} | params
    detector = RecordDetector(**params)
    for value in values:
        detector.learn_one({"n": value})
    return detector


def poisson_days(days: float, rate: float, seed: int = 7) -> np.ndarray:
    return np.random.default_rng(seed).poisson(rate, int(days * DAY))


def test_a_quiet_series_rarely_sets_a_three_week_record_once_the_memory_is_full():
    values = poisson_days(42, 20.0)
    detector = fed(values[: 21 * DAY])
    records = 0
    for value in values[21 * DAY :]:
        x = {"n": int(value)}
        records += detector.score_one(x) >= detector.full_record_score
        detector.learn_one(x)
    # Four spans, each an exchangeable record about once per memory: a handful, not dozens.
    assert records <= 8


def test_a_burst_beyond_everything_remembered_is_a_full_record_and_says_how_big():
    detector = fed(poisson_days(3, 20.0))
    finding = detector.assess({"n": 400})
    assert finding.metric == VOLUME_RECORD
    assert finding.score == detector.full_record_score
    assert finding.observed == 400
    assert finding.windows == 1
    assert 25 <= finding.expected < 400  # the previous busiest five minutes


def test_a_second_smaller_burst_scores_by_how_far_back_it_reaches():
    values = list(poisson_days(3, 20.0))
    values += [400, *list(poisson_days(1, 20.0, seed=8))]
    detector = fed(values)
    second = detector.assess({"n": 200})
    assert second.score < detector.full_record_score
    # It beats about the day since the first burst (old totals are kept per 6-hour bucket).
    assert math.log10(1 + 0.75 * DAY) <= second.score <= math.log10(1 + 1.25 * DAY)


def test_a_slow_wave_too_small_for_any_five_minutes_is_a_record_over_eight_hours():
    quiet = poisson_days(7, 20.0)
    detector = fed(quiet)
    busiest_window = int(quiet.max())
    wave = 26  # within the ordinary range of a single window
    assert wave < busiest_window
    scores = []
    for _ in range(96):
        x = {"n": wave}
        scores.append(detector.assess(x))
        detector.learn_one(x)
    assert scores[0].score < 2.0
    last = scores[-1]
    assert last.score == detector.full_record_score
    assert last.windows in (24, 96)
    assert last.observed == wave * last.windows


def test_a_sparse_trickle_never_scores_however_unusual():
    # One mention every eight hours: even the eight-hour total of a window of 3 stays below 5.
    detector = fed([0] * (3 * DAY) + ([1] + [0] * 95) * 9, min_count=5)
    assert detector.score_one({"n": 3}) == 0.0
    assert detector.score_one({"n": 5}) == detector.full_record_score


def test_a_record_is_forgotten_after_the_memory():
    detector = fed(
        [20] * DAY + [500] + [20] * (3 * DAY), spans=(1,), memory=2 * DAY, bucket=DAY // 4
    )
    assert detector.score_one({"n": 300}) == detector.full_record_score


def test_nothing_scores_before_warm_up_and_scoring_learns_nothing():
    detector = fed([20] * 10)
    assert detector.score_one({"n": 10_000}) == 0.0
    warm = fed([20] * (2 * DAY))
    before = warm.assess({"n": 300})
    warm.score_one({"n": 300})
    assert warm.assess({"n": 300}) == before


def test_a_record_streak_is_reported_once_when_its_window_alerts():
    settings = RecordSettings(
        spans_windows=(1, 6, 24, 96), memory_windows=21 * DAY, bucket_windows=72, min_count=5
    )
    detector = fed(poisson_days(3, 20.0), memory=21 * DAY)
    reported = []
    # A busy stretch: every window beats the last, but the count detector alerts only from
    # the second one on (as when a rise starts just below the alert score).
    for n, alerting in ((60, False), (90, True), (120, True)):
        x = {"n": n}
        reported.append(record_finding(settings, detector, x, alerting))
        detector.learn_one(x)
    assert reported[0] is None  # a record alone explains nothing and pages no one
    assert reported[1] is not None and reported[1][1] == "info"
    assert reported[2] is None  # the same streak, already told
    for _ in range(DAY):
        detector.learn_one({"n": 20})
    again = record_finding(settings, detector, {"n": 500}, True)
    assert again is not None  # a new streak is reported again


def test_record_settings_reject_a_span_of_zero(tmp_path):
    path = tmp_path / "records.yaml"
    path.write_text("spans_windows: [5, 0]\n")
    with pytest.raises(ConfigError, match=r"records\.yaml:1: spans_windows: .*at least one window"):
        load_yaml_model(path, RecordSettings)


def measurements(days: float, seed: int = 3) -> list[float]:
    """A CPU share between 0 and 1 with a daily cycle: values like 0.37, never whole."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(days * DAY))
    return list(0.45 + 0.2 * np.sin(2 * np.pi * t / DAY) + rng.normal(0, 0.02, len(t)))


def test_fractions_are_totalled_as_they_are_not_rounded_to_whole_mentions():
    detector = fed(measurements(3), min_count=-math.inf, high_margin=0.1)
    finding = detector.assess({"n": 0.97})
    assert finding.score == detector.full_record_score
    assert finding.observed == pytest.approx(0.97)
    assert not finding.low
    assert detector.score_one({"n": 0.37}) < detector.full_record_score


def test_a_dip_below_every_remembered_low_is_a_record_low_when_watching_both_ways():
    values = measurements(3)
    both = fed(values, min_count=-math.inf, direction="both", low_margin=0.1)
    finding = both.assess({"n": 0.01})
    assert finding.low and finding.score == both.full_record_score
    assert finding.observed == pytest.approx(0.01)
    assert finding.expected < 0.25  # the previous low, at the bottom of the daily cycle
    # Live volume watches highs only: the same dip is no record there.
    up_only = fed(values, min_count=-math.inf).assess({"n": 0.01})
    assert not up_only.low and up_only.score < both.full_record_score


def test_a_low_by_a_hair_is_no_record_but_a_low_by_a_tenth_of_the_range_is():
    values = measurements(3)
    detector = fed(values, min_count=-math.inf, direction="down", low_margin=0.1)
    low = min(values[-DAY:])
    assert detector.score_one({"n": low - 0.001}) < detector.full_record_score
    assert detector.score_one({"n": low - 0.1}) == detector.full_record_score


def test_negative_values_set_records_both_ways():
    rng = np.random.default_rng(5)
    freezer = list(-18.0 + rng.normal(0, 0.2, 3 * DAY))
    detector = fed(freezer, min_count=-math.inf, direction="both", low_margin=0.1, high_margin=0.1)
    assert detector.score_one({"n": -4.0}) == detector.full_record_score  # the door left open
    assert detector.score_one({"n": -30.0}) == detector.full_record_score
    assert detector.assess({"n": -30.0}).low
    assert detector.score_one({"n": -18.0}) < 1.0


def test_a_snapshot_keeps_the_lows():
    detector = fed(measurements(2), min_count=-math.inf, direction="both", low_margin=0.1)
    copy = RecordDetector(
        spans=(1, 6, 24, 96),
        memory=21 * DAY,
        bucket=72,
        warmup=DAY,
        min_count=-math.inf,
        direction="both",
        low_margin=0.1,
    )
    copy.restore(json.loads(json.dumps(detector.snapshot())))
    for n in (0.01, 0.2, 0.45, 0.99):
        restored, original = copy.assess({"n": n}), detector.assess({"n": n})
        assert (restored.score, restored.low) == (original.score, original.low)
        assert restored.observed == pytest.approx(original.observed)


def test_an_unknown_direction_is_refused():
    with pytest.raises(ValueError, match="direction must be one of up, down, both"):
        RecordDetector(direction="sideways")
