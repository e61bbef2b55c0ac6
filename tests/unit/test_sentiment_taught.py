"""The taught layer: a business's own labels help on its kind of text and leave other text
alone; its state round-trips exactly; a damaged state is one readable error."""

from __future__ import annotations

import csv
import gzip
import json

import pytest

from detectors.sentiment.metrics import Metrics
from detectors.sentiment.scorer import CustomerServiceScorer
from detectors.sentiment.training import load_ground_truth
from tests.unit.sentiment_helpers import DATA, fresh_scorer, shared_scorer

SAMPLE = DATA / "sentiment_taught" / "phone_reviews_sample.csv"


def phone_reviews() -> list[tuple[str, str, str | None]]:
    with SAMPLE.open(encoding="utf-8", newline="") as handle:
        return [(r["text"], r["label"], r["lang"]) for r in csv.DictReader(handle)]


def general_sample() -> list[tuple[str, str, str | None]]:
    sets = load_ground_truth(DATA / "vader_sample")
    return [(e.text, e.label, "en") for examples in sets.values() for e in examples]


def macro_f1(scorer: CustomerServiceScorer, rows: list[tuple[str, str, str | None]]) -> float:
    pairs = [(label, scorer.score(text, lang).label) for text, label, lang in rows]
    return Metrics.of(pairs).macro_f1


@pytest.fixture(scope="module")
def taught() -> CustomerServiceScorer:
    scorer = fresh_scorer()
    scorer.teach(phone_reviews()[:400])
    return scorer


def test_teaching_400_labels_helps_that_kind_of_text_and_barely_moves_other_text(taught):
    held_out, general = phone_reviews()[400:], general_sample()
    before, after = macro_f1(shared_scorer(), held_out), macro_f1(taught, held_out)
    assert after >= before + 0.04, (before, after)
    # 160 sentences of VADER's sets, a quarter of them Amazon reviews like the taught ones: a
    # few labels move (on VADER's full sets, at most 0.02: bench.sentiment_learning_curve).
    assert abs(macro_f1(taught, general) - macro_f1(shared_scorer(), general)) <= 0.04


def test_the_taught_state_round_trips_to_identical_scores(taught):
    state = taught.taught_state()
    assert state == taught.taught_state()  # deterministic bytes
    loaded = fresh_scorer()
    loaded.load_taught(state)
    texts = [text for text, _, _ in phone_reviews()[400:]] + ["why can't you find my parcel?"]
    assert [loaded.score(t) for t in texts] == [taught.score(t) for t in texts]
    again = fresh_scorer()
    again.teach(phone_reviews()[:400])
    assert again.taught_state() == state  # the same labels, the same layer


def test_no_labels_and_an_empty_state_leave_the_general_scorer():
    scorer = fresh_scorer()
    scorer.teach(phone_reviews()[:50])
    scorer.teach([])
    assert scorer.taught_state() == b""
    text = "The seller never answered and the phone would not activate"
    assert scorer.score(text) == shared_scorer().score(text)
    scorer.load_taught(b"")
    assert scorer.score(text) == shared_scorer().score(text)


@pytest.mark.parametrize(
    ("state", "message"),
    [
        (b"not gzip at all", "not a taught sentiment layer"),
        (gzip.compress(b"[1, 2"), "not a taught sentiment layer"),
        (gzip.compress(json.dumps({"format": "other/1"}).encode()), "format 'other/1'"),
        (
            gzip.compress(
                json.dumps(
                    {"format": "crisismon-sentiment-taught/1", "bias": [0, 0], "weights": {}}
                ).encode()
            ),
            "damaged",
        ),
    ],
)
def test_a_malformed_state_is_one_readable_error(state, message):
    scorer = fresh_scorer()
    with pytest.raises(ValueError, match=message) as error:
        scorer.load_taught(state)
    assert "\n" not in str(error.value)
    assert scorer.taught_state() == b""  # nothing half-loaded
