"""Sentiment labels: VADER's compound score and the cut-offs that make a mention negative."""

from __future__ import annotations

import pytest

from detectors.sentiment import VaderScorer, label_for


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
def scorer() -> VaderScorer:
    return VaderScorer()


@pytest.mark.parametrize(
    ("text", "label"),
    [
        ("App crashed, data gone, no status update. Disgusting.", "negative"),
        ("Completely down. Losing customers because of you. Awful.", "negative"),
        ("Support sorted my issue in five minutes, brilliant", "positive"),
        ("Love the new dashboard, thanks team!", "positive"),
        ("Where can I find the API documentation?", "neutral"),
    ],
)
def test_complaints_score_negative_and_praise_positive(scorer, text, label):
    sentiment = scorer.score(text)
    assert sentiment.label == label
    assert -1.0 <= sentiment.compound <= 1.0
    assert label_for(sentiment.compound) == sentiment.label


def test_shouting_and_exclamation_make_a_complaint_more_negative(scorer):
    calm = scorer.score("The site is down, terrible").compound
    loud = scorer.score("The site is DOWN, TERRIBLE!!!").compound
    assert loud < calm < 0
