"""Scoring processes use the labels taught, as the worker's own scorer does."""

from __future__ import annotations

from pathlib import Path

from detectors.sentiment.labels import add_labels
from monitor.storage.db import make_engine
from monitor.storage.migrate import upgrade
from streams.scoring import ScoringPool
from tests.unit.factories import LATER
from tests.unit.sentiment_helpers import CONFIG, fresh_scorer
from tests.unit.test_sentiment_labels import PROBE, TAUGHT


def test_a_scoring_process_starts_with_every_label_taught(tmp_path: Path):
    # SQLite only: the labels' storage is tested on both databases in test_sentiment_labels.
    database_url = f"sqlite:///{tmp_path / 'crisismon.db'}"
    engine = make_engine(database_url)
    upgrade(engine)
    add_labels(engine, TAUGHT, source="tickets.csv", who="qa", now=LATER)
    pool = ScoringPool(
        1,
        config_dir=CONFIG,
        model_path=None,
        database_url=database_url,
        fallback=fresh_scorer(),
    )
    try:
        scored = pool.score_many([(PROBE, None)] * 64)  # enough to go to the process
    finally:
        pool.close()
    assert {sentiment.label for sentiment, _ in scored} == {"negative"}
    assert fresh_scorer().score(PROBE).label == "neutral"
