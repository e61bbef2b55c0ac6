"""The `Scorer` port and the `Sentiment` it returns."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

# VADER's authors' cut-offs for the compound score.
NEGATIVE_BELOW = -0.05
POSITIVE_ABOVE = 0.05

LABELS = ("negative", "neutral", "positive")
# The label of a mention in a language that no lexicon covers: counted, never called neutral.
UNSCORED = "unscored"


@dataclass(frozen=True, slots=True)
class Sentiment:
    """One text's sentiment.

    ``compound`` is in [-1, 1] (higher is more positive); ``label`` is negative, neutral,
    positive, or unscored when no lexicon covers ``lang``; ``confidence`` in [0, 1] is how sure
    the scorer is of the label; ``drivers`` are the words or phrases that drove it, most
    important first, in words a user can read.
    """

    compound: float
    label: str
    confidence: float = 1.0
    drivers: tuple[str, ...] = ()
    lang: str | None = None

    @property
    def scored(self) -> bool:
        return self.label != UNSCORED


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
