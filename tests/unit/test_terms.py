"""The term-burst detector: new phrases fire, everyday churn does not, and bursts stay news."""

from __future__ import annotations

import math
import pickle
import random

import numpy as np

from detectors.explain import describe
from detectors.terms import TermBurstDetector, decode_top_terms, encode_top_terms
from detectors.vocabulary import count_terms, mention_terms

ALERT_SCORE = 5.0  # config/detection.yaml's alert_score, the learn_clip_score default

ORDINARY = [
    "Love the new dashboard, thanks team!",
    "How do I export my invoices to CSV?",
    "The mobile app works great on my new phone",
    "Is there a student discount?",
    "Quick question about changing my plan",
    "Support sorted my issue in five minutes, brilliant",
    "Checkout was a bit slow today but it worked",
    "Where can I find the API documentation?",
    "The app keeps logging me out, annoying",
    "Delivery arrived a day late, not happy",
    "Thanks for the quick refund",
    "Password reset email took a while",
]
CHARGED_TWICE = "I was charged twice for my order"
OUTAGE = "Site is down, this outage is unacceptable"


def window(rng: random.Random, n: int, extra: list[str] = ()) -> dict:  # type: ignore[assignment]
    texts = [rng.choice(ORDINARY) for _ in range(n)] + list(extra)
    return {"n": len(texts), "terms": count_terms(texts)}


def poisson(rng: random.Random, mean: float) -> int:
    return int(np.random.default_rng(rng.randrange(2**32)).poisson(mean))


def test_a_new_phrase_bursting_in_a_sparse_series_fires_and_names_the_phrase():
    rng = random.Random(1)
    detector = TermBurstDetector()
    highest = 0.0
    for _ in range(600):  # ten hours of two mentions a minute
        x = window(rng, poisson(rng, 2.0))
        highest = max(highest, detector.score_one(x))
        detector.learn_one(x)
    assert highest < ALERT_SCORE

    burst = window(rng, 2, [CHARGED_TWICE] * 4)
    [finding] = detector.assess(burst)
    assert finding.score >= ALERT_SCORE
    assert finding.term == "charged twice"  # the phrase, not its first word
    assert finding.observed == 4 and finding.expected < 0.05
    assert '"charged twice" in 4 of 6 mentions' in describe(finding)
    top = detector.top_terms(burst)
    assert top[0].term == "charged twice"
    # "charged" and "twice" say nothing the phrase does not.
    assert not {"charged", "twice"} & {t.term for t in top}


def test_two_mentions_of_a_new_word_in_a_sparse_series_are_not_a_burst():
    rng = random.Random(2)
    detector = TermBurstDetector()
    for _ in range(600):
        detector.learn_one(window(rng, poisson(rng, 2.0)))
    assert detector.score_one(window(rng, 2, [CHARGED_TWICE] * 2)) < ALERT_SCORE


def churning_week(seed: int = 3, windows: int = 7 * 24 * 60):
    """A rich, drifting vocabulary: Zipf-distributed words, the rare ones replaced by new ones
    every half hour, daily seasonality; about 10 mentions a minute at the afternoon peak."""
    rng = np.random.default_rng(seed)
    vocabulary = 3000
    probs = 1.0 / np.arange(1, vocabulary + 1) ** 1.1
    probs /= probs.sum()
    for w in range(windows):
        hour = (w / 60) % 24
        rate = 10.0 * (0.35 + 0.65 * (1 + math.sin(2 * math.pi * (hour - 9) / 24)) / 2)
        drift = w // 30
        texts = []
        for _ in range(int(rng.poisson(rate))):
            ranks = rng.choice(vocabulary, size=6, p=probs)
            texts.append(" ".join(f"w{r if r < 200 else 200 + (r - 200 + drift)}" for r in ranks))
        yield {"n": len(texts), "terms": count_terms(texts)}


def test_ordinary_vocabulary_churn_over_a_quiet_week_never_alerts_and_state_stays_bounded():
    detector = TermBurstDetector()
    highest = 0.0
    for x in churning_week():
        highest = max(highest, detector.score_one(x))
        detector.learn_one(x)
    assert highest < ALERT_SCORE
    # Thousands of distinct words and phrases went by; the state kept the frequent ones only.
    assert detector.tracked_terms <= detector.max_terms * 3 // 2
    assert len(pickle.dumps(detector)) < 30_000


def test_a_term_that_bursts_again_and_again_stays_detectable():
    """Every two hours a ten-minute outage; the tenth is as clear as the first."""

    def bursts(detector: TermBurstDetector) -> list[float]:
        rng = random.Random(4)
        first_windows = []
        for minute in range(21 * 60):
            in_burst = minute >= 60 and minute % 120 < 10
            x = window(rng, poisson(rng, 10.0), [OUTAGE] * 5 if in_burst else [])
            if in_burst and minute % 120 == 0:
                first_windows.append(detector.score_one(x))
            detector.learn_one(x)
        return first_windows

    clipped = bursts(TermBurstDetector())
    assert len(clipped) == 10
    assert min(clipped) >= ALERT_SCORE
    # Without clipping, every burst teaches the baseline that "outage" is ordinary.
    learnt = bursts(TermBurstDetector(learn_clip_score=math.inf))
    assert learnt[-1] < ALERT_SCORE < clipped[-1]


def test_a_name_that_stays_common_becomes_the_new_normal_within_hours():
    """A product launch: from now on, four mentions a minute name the new product."""
    rng = random.Random(6)
    detector = TermBurstDetector()
    for _ in range(300):
        detector.learn_one(window(rng, poisson(rng, 10.0)))
    scores = []
    for _ in range(400):
        x = window(rng, poisson(rng, 10.0), ["Trying the new Zenbook Pro today"] * 4)
        scores.append(detector.score_one(x))
        detector.learn_one(x)
    assert max(scores[:10]) >= ALERT_SCORE  # news at first
    assert max(scores[-200:]) < ALERT_SCORE  # ordinary after a few hours


def test_a_restored_snapshot_scores_exactly_like_the_detector_it_came_from():
    rng = random.Random(5)
    detector = TermBurstDetector(max_terms=50)
    for _ in range(300):
        detector.learn_one(window(rng, poisson(rng, 8.0)))
    restored = TermBurstDetector(max_terms=50)
    restored.restore(detector.snapshot())
    burst = window(rng, 8, [CHARGED_TWICE] * 3)
    assert math.isclose(restored.score_one(burst), detector.score_one(burst), rel_tol=1e-6)
    pairs = zip(restored.top_terms(burst), detector.top_terms(burst), strict=True)
    for mine, theirs in pairs:
        assert (mine.term, mine.observed) == (theirs.term, theirs.observed)
        assert math.isclose(mine.expected, theirs.expected, rel_tol=1e-4)


def test_top_terms_survive_storage_and_bad_stored_data_is_no_terms():
    detector = TermBurstDetector(warmup=5, min_baseline_mentions=10)
    for _ in range(20):
        detector.learn_one({"n": 10, "terms": {"invoice": 3}})
    top = detector.top_terms({"n": 10, "terms": {"outage": 6, "invoice": 3}})
    assert top[0].term == "outage"
    stored = decode_top_terms(encode_top_terms(top))
    assert [(t.term, t.observed) for t in stored] == [(t.term, t.observed) for t in top]
    assert decode_top_terms("not json") == decode_top_terms(None) == []


def test_terms_are_normalised_counted_once_per_mention_and_skip_filler():
    assert mention_terms("OUTAGE outage Outage!!") == {"outage"}
    assert mention_terms("ｏｕｔａｇｅ") == {"outage"}  # full-width letters
    assert mention_terms("I can't log in to the app") == {"log", "app"}
    assert "503" in mention_terms("Error 503 everywhere") and "2" not in mention_terms("2 days")
    assert mention_terms("see https://status.example.com/x and @acme") == {"see"}
    assert count_terms(["charged twice, charged twice!", "charged twice"])["charged twice"] == 2
