"""The Scorer port: plain VADER, and the default customer-service scorer built on it."""

from __future__ import annotations

import pytest

from detectors.sentiment import Sentiment, VaderScorer, label_for
from tests.unit.sentiment_helpers import shared_scorer


@pytest.mark.parametrize(
    ("compound", "label"),
    [
        (-1.0, "negative"),
        (-0.05, "negative"),
        (-0.0499, "neutral"),
        (0.0, "neutral"),
        (0.0499, "neutral"),
        (0.05, "positive"),
        (1.0, "positive"),
    ],
)
def test_label_follows_vaders_cut_offs(compound, label):
    assert label_for(compound) == label


@pytest.fixture(scope="module")
def vader() -> VaderScorer:
    return VaderScorer()


@pytest.mark.parametrize(
    ("text", "label"),
    [
        ("App crashed, data gone, no status update. Disgusting.", "negative"),
        ("Support sorted my issue in five minutes, brilliant", "positive"),
        ("Where can I find the API documentation?", "neutral"),
    ],
)
def test_plain_vader_reads_plain_complaints_and_praise(vader, text, label):
    sentiment = vader.score(text)
    assert sentiment.label == label
    assert label_for(sentiment.compound) == sentiment.label


@pytest.mark.parametrize(
    "text",
    [
        "thanks for losing my bag",
        "2 hours on hold, great",
        "still waiting for my refund",
        "Thanks for nothing, your app ate my order",
        "Fantastic, charged twice again",
    ],
)
def test_complaints_plain_vader_misreads_are_negative_for_the_default_scorer(vader, text):
    assert vader.score(text).label != "negative"
    sentiment = shared_scorer().score(text)
    assert sentiment.label == "negative"
    assert sentiment.lang == "en"
    assert sentiment.drivers, "a negative label comes with the words that drove it"


@pytest.mark.parametrize(
    ("text", "label"),
    [
        ("Thanks for the quick reply, sorted in minutes", "positive"),
        ("The outage was fixed fast and support kept us posted, great job", "positive"),
        ("How do I change the email address on my account?", "neutral"),
        ("Your courier never showed up and nobody answers the phone", "negative"),
    ],
)
def test_genuine_thanks_stays_positive_and_questions_neutral(text, label):
    assert shared_scorer().score(text).label == label


def test_every_score_is_bounded_with_a_confidence():
    for text in ["", "ok", "!!!", "I HATE THIS", "love love love", "?" * 50, "a " * 3000]:
        sentiment = shared_scorer().score(text)
        assert isinstance(sentiment, Sentiment)
        assert -1.0 <= sentiment.compound <= 1.0
        assert 0.0 <= sentiment.confidence <= 1.0
        assert sentiment.label in {"negative", "neutral", "positive"}


def test_the_explanation_names_the_sarcastic_praise_and_the_complaint():
    drivers = shared_scorer().score("2 hours on hold, great").drivers
    assert '"great" (sarcastic)' in drivers
    assert "on hold" in drivers
