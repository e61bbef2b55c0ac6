"""Near-duplicates collapse onto one canonical mention, on a labelled set of our own."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest

from streams.mentions import MentionIn
from tests.unit.factories import T0, mentions_by_id, store, windows

LABELLED = [
    json.loads(line)
    for line in (Path(__file__).resolve().parent.parent / "data" / "near_duplicates")
    .joinpath("labelled.jsonl")
    .read_text()
    .splitlines()
]
COLLAPSE = {"duplicate": True, "near": True, "similar": False, "short": False}


def test_labelled_pairs_collapse_exactly_when_they_are_copies(engine):
    firsts = [
        MentionIn("social", f"a{i}", pair["a"], T0 + timedelta(seconds=i))
        for i, pair in enumerate(LABELLED)
    ]
    # The second of each pair arrives later, in another batch and through another channel.
    seconds = [
        MentionIn("tickets", f"b{i}", pair["b"], T0 + timedelta(minutes=5, seconds=i))
        for i, pair in enumerate(LABELLED)
    ]
    store(engine, firsts)
    stored = store(engine, seconds)
    rows = mentions_by_id(engine)

    def root(mention: MentionIn) -> str:
        return rows[mention.mention_id].canonical_id or mention.mention_id

    # Some pairs share a story with another pair (the invoice complaint appears twice), so
    # "collapsed" means: both end on the same canonical mention.
    outcome = {
        pair["label"] + str(i): root(seconds[i]) == root(firsts[i])
        for i, pair in enumerate(LABELLED)
    }
    expected = {pair["label"] + str(i): COLLAPSE[pair["label"]] for i, pair in enumerate(LABELLED)}
    assert outcome == expected
    assert len(stored.copies) == 6  # every duplicate and near-duplicate, nothing else
    for i, pair in enumerate(LABELLED):
        if not COLLAPSE[pair["label"]]:
            assert rows[seconds[i].mention_id].canonical_id is None
    # Canonical mentions count their copies, and are never copies themselves.
    for mention_id, row in rows.items():
        copies = sum(1 for other in rows.values() if other.canonical_id == mention_id)
        assert row.copies == copies
        if copies:
            assert row.canonical_id is None


def test_copies_are_a_separate_signal_not_volume(engine):
    story = LABELLED[3]["a"]
    syndicated = [
        MentionIn("news", f"wire-{k}", story + f" Reporting by desk {k}.", T0) for k in range(5)
    ]
    store(engine, syndicated[:2])
    store(engine, syndicated[2:])
    window = windows(engine, "global")[T0]
    assert (window.n, window.n_copies) == (1, 4)
    rows = mentions_by_id(engine)
    canonical = [m for m in rows.values() if m.canonical_id is None]
    assert [m.external_id for m in canonical] == ["wire-0"]  # the first one seen
    assert canonical[0].copies == 4
    assert {m.canonical_id for m in rows.values() if m.canonical_id} == {canonical[0].mention_id}


def test_a_copy_of_a_copy_points_at_the_original(engine):
    text = LABELLED[4]["a"]
    store(engine, [MentionIn("zendesk", "1", text, T0)])
    store(engine, [MentionIn("intercom", "2", LABELLED[4]["b"], T0 + timedelta(minutes=1))])
    store(engine, [MentionIn("social", "3", text + " Anyone else?", T0 + timedelta(minutes=2))])
    rows = {m.external_id: m for m in mentions_by_id(engine).values()}
    assert rows["2"].canonical_id == rows["3"].canonical_id == rows["1"].mention_id
    assert rows["1"].copies == 2


@pytest.mark.parametrize("drill", [True, False])
def test_drill_mentions_never_collapse_onto_real_ones(engine, drill):
    text = LABELLED[0]["a"]
    store(engine, [MentionIn("social", "real", text, T0)])
    store(engine, [MentionIn("social", "other", text, T0, drill=drill)])
    rows = {m.external_id: m for m in mentions_by_id(engine).values()}
    assert (rows["other"].canonical_id is not None) is (not drill)
