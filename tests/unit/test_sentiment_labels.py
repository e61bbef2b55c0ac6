"""Taught labels: stored once, refitted by every scorer, read from files, carried in a file."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from detectors.sentiment.crossval import cross_validate
from detectors.sentiment.label_file import Columns, LabelFileError, parse_map, read_labelled
from detectors.sentiment.labels import (
    LabelFollower,
    add_labels,
    all_labels,
    forget_source,
    sources,
)
from detectors.sentiment.portable import PortableModelError, read_export, write_export
from tests.unit.factories import LATER
from tests.unit.sentiment_helpers import fresh_scorer

# A business's own words: the general scorer reads all of them as neutral.
KIOSK = [
    "the kiosk ate my ticket again",
    "kiosk ate my ticket at platform 2",
    "your kiosk ate my ticket this morning",
    "ticket machine ate my ticket",
    "the kiosk at the station ate my ticket",
    "kiosk ate my ticket, third time this week",
    "again the kiosk ate my ticket",
    "the new kiosk ate my ticket",
]
SHUTTLE = [
    "shuttle on the dot today",
    "the shuttle was on the dot",
    "airport shuttle on the dot again",
    "shuttle right on the dot this morning",
    "on the dot, the shuttle was",
    "shuttle arrived on the dot",
]
QUESTIONS = [
    "what time does the shuttle leave",
    "where is the kiosk at platform 2",
    "does the kiosk take cards",
    "how many shuttles run on sunday",
    "is there a kiosk at the airport",
    "which platform for the shuttle",
]
TAUGHT = (
    [(t, "negative", None) for t in KIOSK]
    + [(t, "positive", None) for t in SHUTTLE]
    + [(t, "neutral", None) for t in QUESTIONS]
)
PROBE = "the kiosk ate my ticket yesterday"


def test_labels_are_stored_once_and_every_follower_refits_from_all_of_them(engine):
    first = add_labels(engine, TAUGHT[:10], source="a.csv", who="alice", now=LATER)
    again = add_labels(engine, TAUGHT, source="b.csv", who="bob", now=LATER)
    assert (first.new, first.already) == (10, 0)
    assert (again.new, again.already) == (len(TAUGHT) - 10, 10)
    assert all_labels(engine).count == len(TAUGHT)

    scorer = fresh_scorer()
    assert scorer.score(PROBE).label == "neutral"
    follower = LabelFollower()
    assert follower.apply_new(engine, scorer) == len(TAUGHT)
    assert scorer.score(PROBE).label == "negative"
    assert follower.apply_new(engine, scorer) == 0  # nothing new: no refit

    # A restarted worker rebuilds the same layer from the table.
    restarted = fresh_scorer()
    LabelFollower().apply_new(engine, restarted)
    assert restarted.score(PROBE) == scorer.score(PROBE)

    # Forgetting a file's labels: the follower refits without them.
    taught = {one.name: (one.total, one.who) for one in sources(engine)}
    assert taught == {"a.csv": (10, "alice"), "b.csv": (len(TAUGHT) - 10, "bob")}
    assert forget_source(engine, "a.csv") == 10
    assert follower.apply_new(engine, scorer) == len(TAUGHT) - 10
    assert [one.name for one in sources(engine)] == ["b.csv"]


def test_a_labelled_file_maps_labels_and_names_its_first_bad_row(tmp_path: Path):
    path = tmp_path / "labels.jsonl"
    rows = [
        {"body": "kiosk ate my ticket", "verdict": "Complaint"},
        {"body": "shuttle on the dot", "verdict": "praise"},
        {"body": "  ", "verdict": "praise"},
        {"body": "where is the kiosk", "verdict": "maybe"},
        {"verdict": "praise"},
    ]
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    columns = Columns("body", "verdict")
    mapping = parse_map("complaint=negative,praise=positive")
    with pytest.raises(LabelFileError) as error:
        read_labelled(path, columns, mapping)
    assert str(error.value) == (
        f"{path}: row 3: empty text in column 'body' (and 2 more bad rows); nothing was "
        "stored (--skip-bad stores the good rows)"
    )
    kept = read_labelled(path, columns, mapping, skip_bad=True)
    assert kept.examples == [
        ("kiosk ate my ticket", "negative", None),
        ("shuttle on the dot", "positive", None),
    ]
    assert [(bad.row, bad.reason) for bad in kept.skipped] == [
        (3, "empty text in column 'body'"),
        (
            4,
            "label 'maybe' in column 'verdict' is not one of negative, neutral, positive "
            "after --map; map it, e.g. --map maybe=negative",
        ),
        (5, "no 'body' value"),
    ]
    with pytest.raises(LabelFileError, match="no 'lang' column"):
        read_labelled(path, Columns("body", "verdict", "lang"), mapping)
    with pytest.raises(LabelFileError, match="the target must be one of"):
        parse_map("complaint=angry")


def test_cross_validation_is_deterministic_and_shows_what_teaching_changed():
    scorer = fresh_scorer()
    first = cross_validate(scorer, TAUGHT, folds=5)
    second = cross_validate(scorer, TAUGHT, folds=5)
    assert first is not None and first == second
    assert first.n == len(TAUGHT)
    assert first.before.recall("negative") == 0.0  # the general scorer misses every complaint
    assert first.after.recall("negative") > 0.5
    assert first.after.macro_f1 > first.before.macro_f1
    assert scorer.score(PROBE).label == "neutral"  # left untaught


def test_an_export_carries_its_labels_and_refuses_to_load_when_damaged(engine, tmp_path: Path):
    add_labels(engine, TAUGHT, source="a.csv", who="alice", now=LATER)
    labels = all_labels(engine)
    scorer = fresh_scorer()
    scorer.teach(labels.examples)
    path = tmp_path / "taught.json.gz"
    write_export(path, labels, scorer.taught_state(), general_model="x", now=LATER)
    exported = read_export(path)
    assert exported.examples == labels.examples
    assert exported.content_hash == labels.content_hash

    payload = json.loads(gzip.decompress(path.read_bytes()))
    payload["examples"][0][1] = "positive"
    tampered = tmp_path / "tampered.json.gz"
    tampered.write_bytes(gzip.compress(json.dumps(payload).encode()))
    with pytest.raises(PortableModelError, match="do not match their content hash"):
        read_export(tampered)
    payload["format"] = "crisismon-taught-sentiment/9"
    tampered.write_bytes(gzip.compress(json.dumps(payload).encode()))
    with pytest.raises(PortableModelError, match="this crisismon reads crisismon-taught"):
        read_export(tampered)
    payload["format"] = "crisismon-taught-sentiment/1"
    payload["examples"][0] = [chr(0), "negative", None]
    tampered.write_bytes(gzip.compress(json.dumps(payload).encode()))
    with pytest.raises(PortableModelError, match="label 1 is not a text and label"):
        read_export(tampered)
    tampered.write_bytes(path.read_bytes()[:50])
    with pytest.raises(PortableModelError, match="not a taught-model file"):
        read_export(tampered)


def test_labels_are_redacted_and_cleaned_before_they_are_stored(engine):
    odd = [("late" + chr(0) + " again, mail ana@example.com ", "negative", "en-GB-x-private-use")]
    assert add_labels(engine, odd, source="a.csv", who="alice", now=LATER).new == 1
    assert all_labels(engine).examples == [("late again, mail [EMAIL]", "negative", "en")]
    same = [("late again, mail [EMAIL]", "negative", None)]
    assert add_labels(engine, same, source="b.csv", who="bob", now=LATER).new == 0


def test_a_worker_ends_with_the_same_scores_whichever_it_learnt_first():
    # A running worker learns corrections, then refits when labels arrive; a restarted one
    # (and `sentiment score`) fits the labels first, then learns the corrections.
    corrections = [("Parcel left at the depot again", "negative")]
    running, restarted = fresh_scorer(), fresh_scorer()
    for text, label in corrections:
        running.learn(text, label)
    running.teach(TAUGHT)
    restarted.teach(TAUGHT)
    for text, label in corrections:
        restarted.learn(text, label)
    for text in (PROBE, "The courier left my parcel at the depot again", "where do I pay"):
        assert running.score(text) == restarted.score(text)
