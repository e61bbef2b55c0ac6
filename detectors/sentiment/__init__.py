"""Sentiment scoring behind one port, so a better scorer can replace VADER without touching agents.

The default scorer (`CustomerServiceScorer`) is built in layers: VADER; the customer-service
lexicon in ``config/sentiment/en.yaml``; sarcasm and complaint patterns; and a learned
correction (River) that starts from a shipped model and keeps learning from staff
corrections. Mentions in other languages are scored with that language's lexicon, or marked
``unscored`` when there is none. Build one with `build_scorer`.
"""

from __future__ import annotations

from detectors.sentiment.base import LABELS, UNSCORED, Scorer, Sentiment, label_for
from detectors.sentiment.scorer import CustomerServiceScorer, RuleScorer, build_scorer
from detectors.sentiment.vader import VaderScorer

__all__ = [
    "LABELS",
    "UNSCORED",
    "CustomerServiceScorer",
    "RuleScorer",
    "Scorer",
    "Sentiment",
    "VaderScorer",
    "build_scorer",
    "label_for",
]
