"""The learned correction's model file: reproducible, round-trips, refuses what it cannot read."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from detectors.config import ConfigError
from detectors.sentiment.evaluation import train_final
from detectors.sentiment.model import CorrectionModel
from detectors.sentiment.scorer import SHIPPED_MODEL, CustomerServiceScorer
from detectors.sentiment.training import (
    Recipe,
    class_for_rating,
    load_ground_truth,
    load_labelled_csv,
)
from tests.unit.sentiment_helpers import DATA, shared_rules

QUICK = Recipe(epochs=1, customer_service_repeat=1)


def test_the_same_data_trains_the_same_file_byte_for_byte(tmp_path: Path):
    sets = load_ground_truth(DATA / "vader_sample")
    first, second = tmp_path / "a.json.gz", tmp_path / "b.json.gz"
    train_final(sets, shared_rules(), recipe=QUICK).save(first)
    train_final(sets, shared_rules(), recipe=QUICK).save(second)
    assert first.read_bytes() == second.read_bytes()


def test_a_saved_model_scores_exactly_as_before_it_was_saved(tmp_path: Path):
    model = train_final(load_ground_truth(DATA / "vader_sample"), shared_rules(), recipe=QUICK)
    path = tmp_path / "model.json.gz"
    model.save(path)
    loaded = CorrectionModel.load(path)
    texts = [e.text for e in load_labelled_csv(DATA / "customer_service_sentiment.csv")][:40]
    before = CustomerServiceScorer(shared_rules(), model)
    after = CustomerServiceScorer(shared_rules(), loaded)
    for text in texts:
        a, b = before.score(text), after.score(text)
        assert a.label == b.label
        assert abs(a.compound - b.compound) < 0.01  # weights are stored to 3 decimals


def test_the_shipped_model_is_small_and_says_what_it_was_trained_on():
    assert SHIPPED_MODEL.stat().st_size < 400_000
    trained_on = CorrectionModel.load(SHIPPED_MODEL).metadata["trained_on"]
    assert trained_on == {
        "vader:tweets": 4200,
        "vader:amazon": 3708,
        "vader:movies": 10605,
        "vader:nyt": 5190,
        "crisismon:customer_service_train": 263,
    }


def test_files_that_are_not_models_are_refused_with_the_reason(tmp_path: Path):
    with pytest.raises(ConfigError, match="sentiment model not found"):
        CorrectionModel.load(tmp_path / "missing.json.gz")
    junk = tmp_path / "junk.json.gz"
    junk.write_bytes(b"not gzip")
    with pytest.raises(ConfigError, match="not a sentiment model file"):
        CorrectionModel.load(junk)
    other = tmp_path / "other.json.gz"
    other.write_bytes(gzip.compress(b'{"format": "something-else"}'))
    with pytest.raises(ConfigError, match="expected format crisismon-sentiment-model/1"):
        CorrectionModel.load(other)


def test_mean_ratings_become_three_classes_by_one_rule():
    assert [class_for_rating(r) for r in (-4, -0.5, -0.49, 0, 0.49, 0.5, 4)] == [
        "negative",
        "negative",
        "neutral",
        "neutral",
        "neutral",
        "positive",
        "positive",
    ]
