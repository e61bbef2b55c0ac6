"""Storing a batch: exact counts however often a mention is delivered, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from collections import Counter
from datetime import timedelta

from sqlalchemy import Engine, select
from sqlmodel import Session

from detectors.series import decode_keys
from monitor.storage.models import InboxEntry, Mention, SeriesWindow
from streams.ingest import ingest_raw_batch
from streams.windows import window_start
from tests.unit.factories import (
    LATER,
    NEGATIVE,
    SCORER,
    STEP,
    T0,
    WINDOW,
    mention,
    mentions_by_id,
    store,
    window_mentions,
)


def stored_aggregates(engine: Engine) -> dict[tuple[str, object], tuple[int, int]]:
    table = SeriesWindow.__table__  # type: ignore[attr-defined]
    with Session(engine) as session:
        rows = session.execute(select(table)).all()
    return {(r.series, r.window_start): (r.n, r.n_negative) for r in rows}


def recount(engine: Engine) -> dict[tuple[str, object], tuple[int, int]]:
    """The aggregates as they should be: counted again from the stored mentions."""
    n: Counter[tuple[str, object]] = Counter()
    negative: Counter[tuple[str, object]] = Counter()
    for m in mentions_by_id(engine).values():
        for key in decode_keys(m.series_keys):
            window = (key, window_start(m.event_time, WINDOW))
            n[window] += 1
            negative[window] += m.label == "negative"
    return {key: (n[key], negative[key]) for key in n}


def test_first_store_counts_every_mention_in_each_of_its_series(engine):
    batch = [
        *window_mentions(0, 5, 2),
        mention("r1", at=T0 + timedelta(seconds=30), source="reviews", text=NEGATIVE),
    ]
    stored = store(engine, batch)
    assert len(stored.new_mention_ids) == 6
    assert stored.duplicates == 0
    assert stored_aggregates(engine) == {
        ("global", T0): (6, 3),
        ("source:tickets", T0): (5, 2),
        ("source:reviews", T0): (1, 1),
    }


def test_storing_the_same_batch_twice_adds_nothing(engine):
    batch = window_mentions(0, 8, 3) + window_mentions(1, 4, 4)
    store(engine, batch)
    before = stored_aggregates(engine)
    again = store(engine, batch)
    assert again.new_mention_ids == frozenset()
    assert again.duplicates == len(batch)
    assert again.touched == ()
    assert stored_aggregates(engine) == before == recount(engine)
    assert len(mentions_by_id(engine)) == len(batch)


def test_a_redelivered_batch_with_some_new_mentions_counts_only_the_new_ones(engine):
    store(engine, window_mentions(0, 6, 1))
    overlapping = window_mentions(0, 10, 1)  # the first 6 again, plus 4 new
    stored = store(engine, overlapping)
    assert len(stored.new_mention_ids) == 4
    assert stored.duplicates == 6
    assert stored_aggregates(engine)[("global", T0)] == (10, 1)
    assert stored_aggregates(engine) == recount(engine)


def test_duplicate_ids_within_one_batch_count_once(engine):
    first = mention("dup", text=NEGATIVE)
    edited = mention("dup", at=T0 + timedelta(seconds=10), text="Actually all fine now")
    stored = store(engine, [first, edited, first, mention("other")])
    assert len(stored.new_mention_ids) == 2
    assert stored_aggregates(engine)[("global", T0)] == (2, 1)
    assert stored_aggregates(engine) == recount(engine)
    # The first delivery wins: the stored text is the one that was counted.
    assert mentions_by_id(engine)[first.mention_id].text == first.text


def test_a_batch_larger_than_one_insert_statement_is_stored_and_counted_whole(engine):
    batch = [
        mention(f"bulk-{k}", at=T0 + (k % 5) * STEP + timedelta(seconds=k % 60))
        for k in range(2500)
    ]
    stored = store(engine, batch)
    assert len(stored.new_mention_ids) == 2500
    aggregates = stored_aggregates(engine)
    assert sum(n for (series, _), (n, _neg) in aggregates.items() if series == "global") == 2500
    assert aggregates == recount(engine)


def test_stored_mention_keeps_its_score_series_and_times(engine):
    item = mention("m1", at=T0 + timedelta(seconds=42), source="reviews", text=NEGATIVE)
    store(engine, [item], now=LATER)
    row = mentions_by_id(engine)[item.mention_id]
    assert row.label == "negative" and row.compound < -0.05
    assert decode_keys(row.series_keys) == ["global", "source:reviews"]
    assert row.event_time == item.event_time
    assert row.ingest_time == LATER


def test_watermark_is_the_slowest_partitions_progress_and_never_moves_back(engine):
    assert store(engine, [mention("a")]).watermark is None  # no partition reported yet

    first = store(engine, [mention("b")], progress={0: T0 + 10 * STEP, 1: T0 + 4 * STEP})
    assert first.watermark == T0 + 4 * STEP

    # Partition 0 races ahead: partition 1 still holds the watermark back.
    ahead = store(engine, [mention("c")], progress={0: T0 + 30 * STEP})
    assert ahead.watermark == T0 + 4 * STEP

    # A redelivered, older batch on partition 1 does not move the watermark back.
    stale = store(engine, [mention("d")], progress={1: T0 + 2 * STEP})
    assert stale.watermark == T0 + 4 * STEP

    caught_up = store(engine, [mention("e")], progress={1: T0 + 20 * STEP})
    assert caught_up.watermark == T0 + 20 * STEP
    assert caught_up.watermark.tzinfo is not None


def test_storing_marks_inbox_entries_of_the_batch_as_done(engine):
    ingested, waiting = mention("in-batch"), mention("not-yet")
    with Session(engine) as session:
        for m in (ingested, waiting):
            session.add(
                InboxEntry(mention_id=m.mention_id, payload=m.to_bytes().decode(), received_at=T0)
            )
        session.commit()
    store(engine, [ingested], now=LATER)
    with Session(engine) as session:
        done = {e.mention_id: e.done_at for e in session.execute(select(InboxEntry)).scalars()}
    assert done == {ingested.mention_id: LATER, waiting.mention_id: None}


def test_raw_batch_stores_valid_mentions_and_rejects_the_rest_with_reasons(engine):
    good = mention("ok-1", at=T0 + timedelta(seconds=5))
    late = mention("ok-2", at=T0 + 3 * STEP, source="reviews")
    outcome = ingest_raw_batch(
        engine,
        SCORER,
        [
            (0, good.to_bytes()),
            (0, b"{not json"),
            (1, json.dumps({"source": "x", "event_time": "2026-01-05T10:00:00Z"}).encode()),
            (1, late.to_bytes()),
            (1, None),
        ],
        window_seconds=WINDOW,
        now=LATER,
    )
    assert outcome.stored.new_mention_ids == {good.mention_id, late.mention_id}
    reasons = [r.reason for r in outcome.rejected]
    assert len(reasons) == 3
    assert reasons[0].startswith("not valid UTF-8 JSON")
    assert reasons[1] == "missing field: text (a string)"
    assert reasons[2] == "empty message"
    assert outcome.rejected[0].payload == "{not json"
    # Partition 0 reached 10:00:05 and partition 1 10:03: the watermark is the slower one.
    assert outcome.stored.watermark == good.event_time
    assert set(mentions_by_id(engine)) == {good.mention_id, late.mention_id}


def test_raw_batch_of_only_rejects_stores_nothing(engine):
    outcome = ingest_raw_batch(
        engine, SCORER, [(0, b"[]"), (0, b"")], window_seconds=WINDOW, now=LATER
    )
    assert [r.reason for r in outcome.rejected] == [
        "an empty bundle of mentions",
        "not valid UTF-8 JSON: Expecting value: line 1 column 1 (char 0)",
    ]
    assert outcome.stored.new_mention_ids == frozenset()
    with Session(engine) as session:
        assert session.execute(select(Mention)).first() is None


def test_a_bundle_record_stores_its_good_mentions_and_dead_letters_only_the_bad_one(engine):
    # Replays and feed polls publish up to BUNDLE_SIZE mentions per broker record; one bad
    # element must cost neither its neighbours nor its own dead letter.
    good = [
        {
            "source": "tickets",
            "external_id": f"b{i}",
            "text": "the app is down",
            "event_time": T0.isoformat(),
        }
        for i in range(3)
    ]
    bad = {"source": "tickets", "external_id": "b-bad", "event_time": T0.isoformat()}  # no text
    raw = json.dumps([good[0], bad, good[1], good[2]]).encode()
    outcome = ingest_raw_batch(engine, SCORER, [(0, raw)], window_seconds=WINDOW, now=LATER)
    assert len(outcome.stored.new_mention_ids) == 3
    [rejected] = outcome.rejected
    assert json.loads(rejected.payload)["external_id"] == "b-bad"
    assert "text" in rejected.reason
    again = ingest_raw_batch(engine, SCORER, [(1, raw)], window_seconds=WINDOW, now=LATER)
    assert again.stored.new_mention_ids == frozenset()  # a redelivered bundle counts zero times
    with Session(engine) as session:
        [window] = session.execute(
            select(SeriesWindow).where(SeriesWindow.series == "global")
        ).scalars()
        assert window.n == 3


def test_a_batch_larger_than_one_transaction_is_stored_whole_and_counted_once(engine):
    # Bundles make batches of up to 10,000 mentions; they are stored in parts of
    # MENTIONS_PER_TRANSACTION, and the outcome is that of the whole batch.
    from streams.ingest import MENTIONS_PER_TRANSACTION

    count = MENTIONS_PER_TRANSACTION + 7
    raws = [
        json.dumps(
            {
                "source": "tickets",
                "external_id": f"big-{i}",
                "text": f"order {i} is late",
                "event_time": (T0 + STEP * (i % 3)).isoformat(),
            }
        ).encode()
        for i in range(count)
    ]
    outcome = ingest_raw_batch(
        engine, SCORER, [(i % 2, r) for i, r in enumerate(raws)], window_seconds=WINDOW, now=LATER
    )
    assert len(outcome.stored.new_mention_ids) == count
    assert outcome.stored.watermark == T0 + 2 * STEP  # the least of the two partitions' newest
    assert {start for series, start in outcome.stored.touched if series == "global"} == {
        T0 + k * STEP for k in range(3)
    }
    assert stored_aggregates(engine) == recount(engine)
    again = ingest_raw_batch(
        engine, SCORER, [(0, r) for r in raws], window_seconds=WINDOW, now=LATER
    )
    assert again.stored.new_mention_ids == frozenset() and again.stored.duplicates == count
