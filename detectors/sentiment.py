"""Sentiment scoring behind one port, so a better scorer can replace VADER without touching agents.

>>> scorer = VaderScorer()
>>> scorer.score("Awful service, the app crashed and I lost my data.").label
'negative'

Plain VADER misreads much customer-service language; a known example it gets backwards:

>>> scorer.score("The app is down again and support never answers. Terrible!").label
'positive'
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

# VADER's authors' cut-offs for the compound score.
NEGATIVE_BELOW = -0.05
POSITIVE_ABOVE = 0.05


@dataclass(frozen=True, slots=True)
class Sentiment:
    compound: float
    label: str


def label_for(compound: float) -> str:
    """Map a compound score to negative, neutral or positive.

    >>> label_for(-0.3), label_for(0.0), label_for(0.5)
    ('negative', 'neutral', 'positive')
    """
    if compound <= NEGATIVE_BELOW:
        return "negative"
    if compound >= POSITIVE_ABOVE:
        return "positive"
    return "neutral"


class Scorer(Protocol):
    """Scores one text; a higher compound is more positive, in [-1, 1]."""

    def score(self, text: str, lang: str | None = None) -> Sentiment: ...


class VaderScorer:
    """Plain VADER, English only."""

    def __init__(self) -> None:
        self._analyzer = SentimentIntensityAnalyzer()

    def score(self, text: str, lang: str | None = None) -> Sentiment:
        compound = float(self._analyzer.polarity_scores(text)["compound"])
        return Sentiment(compound=compound, label=label_for(compound))
