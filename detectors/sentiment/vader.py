"""Plain VADER behind the `Scorer` port: the baseline every other scorer is measured against."""

from __future__ import annotations

from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from detectors.sentiment.base import Sentiment, label_for


class VaderScorer:
    """Plain VADER, English only: it reads every text as English.

    >>> scorer = VaderScorer()
    >>> scorer.score("Awful service, the app crashed and I lost my data.").label
    'negative'

    It misreads much customer-service language; a complaint it gets backwards:

    >>> scorer.score("2 hours on hold, great").label
    'positive'
    """

    def __init__(self) -> None:
        self._analyzer = SentimentIntensityAnalyzer()

    def score(self, text: str, lang: str | None = None) -> Sentiment:
        compound = float(self._analyzer.polarity_scores(text)["compound"])
        return Sentiment(compound=compound, label=label_for(compound), lang=lang)
