"""The default scorer for tests, built from the repository's config and shipped model."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from detectors.sentiment import CustomerServiceScorer, build_scorer
from detectors.sentiment.scorer import RuleScorer

REPO = Path(__file__).resolve().parents[2]
CONFIG = REPO / "config"
DATA = REPO / "tests" / "data"


def fresh_scorer() -> CustomerServiceScorer:
    """A scorer no test has taught anything: corrections change it."""
    return build_scorer(CONFIG)


@lru_cache(maxsize=1)
def shared_scorer() -> CustomerServiceScorer:
    """One scorer for tests that only read scores (building one takes about a second)."""
    return fresh_scorer()


def shared_rules() -> RuleScorer:
    return shared_scorer().rules
