"""The count-spike detector: quiet on ordinary noise, loud on spikes, slow to learn a crisis."""

from __future__ import annotations

import numpy as np
import pytest
from river.checks import common

from detectors.count_spike import (
    NEGATIVE_SHARE,
    SENTIMENT_SHIFT,
    VOLUME,
    VOLUME_DROP,
    CountSpikeDetector,
)
from detectors.records import RecordDetector
from detectors.terms import TermBurstDetector

ALERT_SCORE = 5.0  # config/detection.yaml's alert_score, the learn_clip_score default


def baseline(
    rate: float, windows: int, *, seed: int = 42, negative_share: float = 0.1
) -> tuple[CountSpikeDetector, float]:
    """A default detector fed a Poisson baseline, score before learn; returns the highest score."""
    rng = np.random.default_rng(seed)
    detector = CountSpikeDetector()
    highest = 0.0
    for _ in range(windows):
        n = int(rng.poisson(rate))
        x = {"n": n, "n_negative": int(rng.binomial(n, negative_share))}
        highest = max(highest, detector.score_one(x))
        detector.learn_one(x)
    return detector, highest


def findings(detector: CountSpikeDetector, n: int, n_negative: int) -> dict[str, object]:
    return {f.metric: f for f in detector.assess({"n": n, "n_negative": n_negative})}


# River's general conformance checks; the dataset-driven ones need scikit-learn, not installed.
RIVER_CHECKS = [
    common.check_repr,
    common.check_str,
    common.check_tags,
    common.check_clone_same_class,
    common.check_clone_is_idempotent,
    common.check_init_has_default_params_for_tests,
    common.check_init_default_params_are_not_mutable,
    common.check_doc,
    common.check_clone_changes_memory_addresses,
    common.check_mutate_can_be_idempotent,
    common.check_pickling_supports_roundtrip,
    common.check_repr_roundtrips_clone,
    common.check_clone_with_new_params_applies,
    common.check_get_params_matches_signature,
]


@pytest.mark.parametrize(
    "detector",
    [CountSpikeDetector, TermBurstDetector, RecordDetector],
    ids=lambda d: d.__name__,
)
@pytest.mark.parametrize("check", RIVER_CHECKS, ids=lambda check: check.__name__)
def test_detector_keeps_rivers_estimator_contract(check, detector):
    for params in detector._unit_test_params():
        check(detector(**params))


def test_nothing_scores_before_warm_up_however_extreme():
    detector = CountSpikeDetector(warmup=5)
    for _ in range(4):
        detector.learn_one({"n": 10, "n_negative": 1})
        assert detector.score_one({"n": 10_000, "n_negative": 10_000}) == 0.0
    detector.learn_one({"n": 10, "n_negative": 1})
    assert detector.score_one({"n": 10_000, "n_negative": 10_000}) > ALERT_SCORE


@pytest.mark.parametrize("rate", [3, 20, 200])
def test_a_long_poisson_baseline_never_reaches_the_alert_score(rate):
    _detector, highest = baseline(rate, 2000)
    assert highest < ALERT_SCORE


@pytest.mark.parametrize("rate", [3, 20, 200])
def test_five_times_the_usual_volume_reaches_the_alert_score(rate):
    detector, _ = baseline(rate, 500)
    spike = {"n": 5 * rate, "n_negative": int(0.1 * rate)}
    assert detector.score_one(spike) > ALERT_SCORE
    volume = findings(detector, spike["n"], spike["n_negative"])[VOLUME]
    assert volume.observed == 5 * rate
    assert volume.lower <= volume.expected <= volume.upper < 5 * rate
    assert rate * 0.85 < volume.expected < rate * 1.15


def test_a_wave_of_negativity_at_usual_volume_fires_on_the_negative_share():
    detector, _ = baseline(50, 500)
    usual = findings(detector, 50, 5)
    wave = findings(detector, 50, 30)
    assert usual[NEGATIVE_SHARE].score < ALERT_SCORE
    assert wave[VOLUME].score < ALERT_SCORE
    assert wave[NEGATIVE_SHARE].score > ALERT_SCORE
    assert wave[NEGATIVE_SHARE].observed == pytest.approx(0.6)
    assert wave[NEGATIVE_SHARE].expected == pytest.approx(0.1, abs=0.02)


def test_one_empty_window_is_not_a_spike_and_not_yet_a_drop():
    detector, _ = baseline(20, 500)
    judged = findings(detector, 0, 0)
    assert judged[VOLUME].score == 0.0
    assert judged[VOLUME_DROP].score < ALERT_SCORE


def test_a_series_that_goes_silent_alerts_as_a_drop_within_minutes():
    detector, _ = baseline(6, 600)
    scores = []
    for _ in range(15):  # a broken review form: nothing arrives any more
        judged = findings(detector, 0, 0)
        scores.append(judged[VOLUME_DROP].score)
        detector.learn_one({"n": 0, "n_negative": 0})
    first_alert = next(i for i, score in enumerate(scores) if score >= ALERT_SCORE)
    assert first_alert <= 10  # ten silent minutes of a 6-a-minute series
    assert judged[VOLUME_DROP].expected > 80


def test_a_sparse_series_going_quiet_is_not_a_drop():
    detector, _ = baseline(0.3, 600)
    for _ in range(15):
        assert findings(detector, 0, 0)[VOLUME_DROP].score == 0.0  # too little to judge
        detector.learn_one({"n": 0, "n_negative": 0})


def test_mood_turning_sour_is_a_sentiment_shift_even_when_no_one_is_angrier():
    detector = CountSpikeDetector()
    rng = np.random.default_rng(3)
    for _ in range(300):
        n = int(rng.poisson(30))
        compounds = rng.normal(0.4, 0.4, n).clip(-1, 1)
        detector.learn_one({"n": n, "n_negative": 0, "sum_compound": float(compounds.sum())})
    ordinary = detector.assess({"n": 30, "n_negative": 0, "sum_compound": 30 * 0.38})
    sour = detector.assess({"n": 30, "n_negative": 0, "sum_compound": 30 * -0.05})
    shift = {f.metric: f for f in sour}[SENTIMENT_SHIFT]
    assert {f.metric: f for f in ordinary}[SENTIMENT_SHIFT].score < 2
    assert shift.score >= ALERT_SCORE
    assert shift.expected == pytest.approx(0.4, abs=0.05)
    assert shift.lower < shift.expected < shift.upper


def test_a_sparse_series_does_not_fire_on_a_window_of_four():
    rng = np.random.default_rng(7)
    detector = CountSpikeDetector()
    highest = 0.0
    for _ in range(2000):
        n = int(rng.integers(1, 3))  # 1 or 2 mentions a window
        x = {"n": n, "n_negative": int(rng.binomial(n, 0.3))}
        highest = max(highest, detector.score_one(x))
        detector.learn_one(x)
    assert highest < ALERT_SCORE
    assert detector.score_one({"n": 4, "n_negative": 0}) < ALERT_SCORE
    assert detector.score_one({"n": 4, "n_negative": 4}) < ALERT_SCORE


def test_a_sustained_crisis_is_not_learnt_as_the_new_normal():
    detector, _ = baseline(20, 600)
    usual = findings(detector, 0, 0)[VOLUME].expected
    crisis = {"n": 100, "n_negative": 60}
    for _ in range(10):
        detector.learn_one(crisis)
    after = findings(detector, crisis["n"], crisis["n_negative"])
    # Learnt at full weight (learn_clip_score=inf), ten windows of 100 lift the expected count
    # from about 20 to about 28 with the default half-life; clipped, it stays near 20.
    # (When the 5-window sum is the stronger evidence, the finding reports sums.)
    assert after[VOLUME].expected / after[VOLUME].windows < usual + 4
    assert after[NEGATIVE_SHARE].expected < 0.2
    # So the eleventh crisis window still alerts.
    assert detector.score_one(crisis) > ALERT_SCORE


def test_scoring_does_not_change_what_the_detector_has_learnt():
    detector, _ = baseline(20, 200)
    x = {"n": 120, "n_negative": 80}
    first = detector.score_one(x)
    for _ in range(5):
        detector.score_one({"n": 500, "n_negative": 500})
    assert detector.score_one(x) == first


def test_a_clone_starts_from_scratch_with_the_same_settings():
    detector, _ = baseline(20, 200)
    fresh = detector.clone()
    assert fresh.warmup == detector.warmup and fresh.half_life == detector.half_life
    assert not fresh.warmed_up
    assert fresh.score_one({"n": 500, "n_negative": 500}) == 0.0
