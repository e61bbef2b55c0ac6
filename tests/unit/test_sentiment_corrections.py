"""Staff corrections: stored in SQL, learnt by every scorer, and they move similar texts."""

from __future__ import annotations

import pytest

from detectors.sentiment.corrections import CorrectionError, CorrectionFollower, add_correction
from tests.unit.factories import LATER, mention, store
from tests.unit.sentiment_helpers import fresh_scorer

# Left at a depot instead of delivered: a complaint, but no word in it says so.
CORRECTED = [
    "Courier left the parcel at the depot, not at my door",
    "Parcel left at the depot again",
    "my parcel is at the depot instead of my house",
]
SIMILAR = "The courier left my parcel at the depot again"
UNRELATED = "How do I export my invoices to CSV?"


def stored_ids(engine, texts):
    mentions = [mention(f"c{i}", text=text) for i, text in enumerate(texts)]
    store(engine, mentions)
    return [m.mention_id for m in mentions]


def test_corrections_change_later_scores_for_similar_text(engine):
    scorer = fresh_scorer()
    before = scorer.score(SIMILAR)
    unrelated_before = scorer.score(UNRELATED)
    assert before.label == "neutral"

    for mention_id in stored_ids(engine, CORRECTED):
        add_correction(engine, mention_id=mention_id, label="negative", who="alice", now=LATER)
    follower = CorrectionFollower()
    assert follower.apply_new(engine, scorer) == 3

    after = scorer.score(SIMILAR)
    assert after.label == "negative"
    assert after.compound < before.compound
    # A text that shares only "my" with the corrections barely moves.
    unrelated_after = scorer.score(UNRELATED)
    assert unrelated_after.label == unrelated_before.label == "neutral"
    assert abs(unrelated_after.compound - unrelated_before.compound) < 0.05
    # Each correction is learnt once.
    assert follower.apply_new(engine, scorer) == 0

    # A restarted worker learns every stored correction again and scores the same.
    restarted = fresh_scorer()
    CorrectionFollower().apply_new(engine, restarted)
    assert restarted.score(SIMILAR) == after


def test_a_correction_towards_positive_works_too(engine):
    scorer = fresh_scorer()
    text = "Parcel is at the depot, collected it on my way home"
    (mention_id,) = stored_ids(engine, [text])
    add_correction(engine, mention_id=mention_id, label="positive", who="bob", now=LATER)
    CorrectionFollower().apply_new(engine, scorer)
    assert scorer.score(text).label == "positive"


def test_a_correction_needs_a_known_mention_and_a_real_label(engine):
    (mention_id,) = stored_ids(engine, ["anything"])
    with pytest.raises(CorrectionError, match="no mention with id 'nope'"):
        add_correction(engine, mention_id="nope", label="negative", who="alice", now=LATER)
    with pytest.raises(CorrectionError, match="label must be one of negative, neutral, positive"):
        add_correction(engine, mention_id=mention_id, label="angry", who="alice", now=LATER)
    recorded = add_correction(
        engine, mention_id=mention_id, label=" Negative ", who="alice", now=LATER
    )
    assert recorded.label == "negative"
