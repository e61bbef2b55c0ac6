"""The labelling queue: incident drivers first, then the least sure; never a mention already
labelled, erased, a near-duplicate, or offered before; a daily cap over every surface; the
first answer wins. SQLite and PostgreSQL."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy import update
from sqlmodel import Session, select

from detectors.sentiment.corrections import CorrectionFollower, add_correction
from detectors.sentiment.label_queue import (
    AlreadyLabelled,
    QueueError,
    QueueSettings,
    candidates,
    label_from_queue,
    offer,
    offered_today,
    queue,
)
from monitor.incidents.service import correlate
from monitor.storage.models import ERASED_TEXT, Mention, SentimentCorrection
from streams.ingest import store_batch
from tests.unit.factories import LATER, SCORER, T0, WINDOW, add_anomaly, mention, scored
from tests.unit.sentiment_helpers import fresh_scorer

NOW = LATER + timedelta(hours=1)
SETTINGS = QueueSettings(daily_cap=5)

# text -> the confidence the scorer gave it
TEXTS = {
    "The parcel says delivered but it is not here": 0.41,
    "Thanks for the two-hour delay and a room that smells": 0.38,
    "How do I change my delivery address?": 0.92,
    "Great people but the service needs to change": 0.45,
    "I can't get through to anyone who can help": 0.52,
    "Love the new app, checkout is so quick": 0.97,
}


def stored(engine, texts: dict[str, float], *, tag: str = "m") -> dict[str, str]:
    """Store mentions with the given confidences; text -> mention id."""
    items = scored(mention(f"{tag}{i}", text=t) for i, t in enumerate(texts))
    items = [replace(item, confidence=texts[item.mention.text]) for item in items]
    store_batch(engine, items, window_seconds=WINDOW, now=LATER)
    return {item.mention.text: item.mention.mention_id for item in items}


def open_incident(engine, example_ids: list[str]) -> int:
    add_anomaly(engine, "a-1", severity="critical", start=T0, example_mention_ids=example_ids)
    change = correlate(engine, anomaly_id="a-1", merge_gap=timedelta(minutes=30), now=LATER)
    assert change is not None
    return change.incident_id


def test_least_sure_first_without_an_incident(engine):
    ids = stored(engine, TEXTS)
    picked = candidates(engine, limit=3, settings=SETTINGS, now=NOW)
    assert [p.text for p in picked] == [
        "Thanks for the two-hour delay and a room that smells",
        "The parcel says delivered but it is not here",
        "Great people but the service needs to change",
    ]
    assert {p.reason for p in picked} == {"least sure"}
    assert picked[0].mention_id == ids[picked[0].text] and picked[0].confidence == 0.38
    assert picked[0].label == SCORER.score(picked[0].text).label


def test_incident_drivers_come_first(engine):
    ids = stored(engine, TEXTS)
    sure = "Love the new app, checkout is so quick"
    incident_id = open_incident(engine, [ids[sure]])
    picked = candidates(engine, limit=2, settings=SETTINGS, now=NOW)
    assert [(p.text, p.reason) for p in picked] == [
        (sure, f"incident #{incident_id}"),
        ("Thanks for the two-hour delay and a room that smells", "least sure"),
    ]


def test_labelled_erased_duplicates_and_old_mentions_are_left_out(engine):
    ids = stored(engine, TEXTS)
    # Corrected by the CLI, erased, and a near-duplicate of a queued text (other handle, link).
    add_correction(
        engine,
        mention_id=ids["Thanks for the two-hour delay and a room that smells"],
        label="negative",
        who="ana",
        now=LATER,
    )
    with Session(engine) as session:
        session.execute(
            update(Mention)
            .where(Mention.mention_id == ids["The parcel says delivered but it is not here"])
            .values(text=ERASED_TEXT)
        )
        session.commit()
    stored(
        engine,
        {"@acme the parcel says DELIVERED but it is not here https://x.co/1": 0.1},
        tag="dup",
    )
    stored(engine, {"Great people, but the service needs to change!": 0.44}, tag="dup2")
    picked = candidates(engine, limit=10, settings=SETTINGS, now=NOW)
    texts = [p.text for p in picked]
    assert "Thanks for the two-hour delay and a room that smells" not in texts
    assert ERASED_TEXT not in texts
    # The erased one's near-duplicate is a new mention with words: it may be asked.
    assert texts[0].startswith("@acme the parcel")
    assert sum("service needs to change" in t for t in texts) == 1
    # Mentions older than the lookback are not offered.
    assert candidates(engine, limit=10, settings=SETTINGS, now=NOW + timedelta(days=8)) == []


def test_daily_cap_counts_every_surface(engine):
    stored(engine, TEXTS)
    first = queue(engine, settings=SETTINGS, now=NOW)
    assert len(first) == 5  # the cap
    posted = offer(engine, first[:2], surface="slack", now=NOW)
    assert len(posted) == 2 and offer(engine, first[:2], surface="slack", now=NOW) == []
    # The two posted in Slack stay in the queue (unanswered) and used two of the five.
    again = queue(engine, settings=SETTINGS, now=NOW)
    assert [i.offered for i in again] == [True, True, False, False, False]
    label_from_queue(
        engine, mention_id=again[2].mention_id, label="negative", who="bo", surface="cli", now=NOW
    )
    assert offered_today(engine, now=NOW) == 3
    assert len(queue(engine, settings=SETTINGS, now=NOW)) == 4  # 2 waiting + 2 left today
    assert len(queue(engine, settings=SETTINGS, now=NOW, limit=1)) == 1
    # Tomorrow the cap starts again; the Slack items are still waiting.
    tomorrow = queue(engine, settings=SETTINGS, now=NOW + timedelta(days=1))
    assert len(tomorrow) == 5 and sum(i.offered for i in tomorrow) == 2


def test_first_label_wins_and_is_learnt(engine):
    ids = stored(engine, TEXTS)
    target = ids["Great people but the service needs to change"]
    answer = label_from_queue(
        engine, mention_id=target, label="Negative", who="slack:W1", surface="slack", now=NOW
    )
    assert (answer.label, answer.by) == ("negative", "slack:W1")
    with pytest.raises(AlreadyLabelled, match="already labelled negative by slack:W1"):
        label_from_queue(
            engine, mention_id=target, label="positive", who="slack:W2", surface="slack", now=NOW
        )
    with Session(engine) as session:
        rows = session.exec(select(SentimentCorrection)).all()
    assert [(r.mention_id, r.label, r.who) for r in rows] == [(target, "negative", "slack:W1")]
    # Workers learn it as any correction.
    assert CorrectionFollower().apply_new(engine, fresh_scorer()) == 1


@pytest.mark.parametrize(
    ("mention_id", "label", "message"),
    [
        ("nope", "negative", "no mention with id 'nope'"),
        ("f" * 33, "negative", "no mention with id 'fff"),  # longer than any id: not a 500
        ("a\x00b", "negative", "no mention with id 'a"),  # PostgreSQL refuses NUL in text
        (None, "angry", "label must be one of negative, neutral, positive"),
    ],
)
def test_bad_labels_are_refused_and_change_nothing(engine, mention_id, label, message):
    ids = stored(engine, TEXTS)
    with pytest.raises(QueueError, match=message):
        label_from_queue(
            engine,
            mention_id=mention_id or next(iter(ids.values())),
            label=label,
            who="ana",
            surface="api",
            now=NOW,
        )
    assert offered_today(engine, now=NOW) == 0
