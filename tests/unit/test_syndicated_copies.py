"""Syndicated stories count once; customers' own words never fold; collapse is bounded in time.

The labelled set (tests/data/near_duplicates/syndicated.jsonl) holds a wire headline rewritten
by a dozen outlets within 30 minutes, a second story about the same company, a long wire story
with bylines, and 42 customers' short complaints, many of them nearly the same words.
"""

from __future__ import annotations

import json
import random
import re
import threading
from datetime import timedelta
from itertools import combinations
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session

from detectors.backtest import histories_from_mentions, run_series
from detectors.config import DetectionConfig
from monitor.storage.db import insert_for
from monitor.storage.models import Mention
from streams.copy_rules import MemoryCopies, candidate_of, copies_in_memory
from streams.ingest import _mention_row
from streams.mentions import MentionIn
from streams.near_duplicates import collapse
from tests.unit.factories import LATER, SCORER, T0, mentions_by_id, scored, store, windows

SYNDICATED = [
    json.loads(line)
    for line in (Path(__file__).resolve().parent.parent / "data" / "near_duplicates")
    .joinpath("syndicated.jsonl")
    .read_text()
    .splitlines()
]
LONG_STORY = (
    "Example Cloud said on Tuesday it would recall about 40,000 smart plugs sold in Europe after "
    "reports that a faulty component could overheat, and offered customers a full refund."
)


def labelled_mentions() -> list[MentionIn]:
    return [
        MentionIn(
            row["source"],
            f"m{i}",
            row["text"],
            T0 + timedelta(minutes=row["minute"]),
            author=row.get("author"),
            customer_id=row.get("customer_id"),
            url=row.get("url"),
        )
        for i, row in enumerate(SYNDICATED)
    ]


def pair_scores(roots: dict[str, str], mentions: list[MentionIn]) -> tuple[int, int, int]:
    """(true, false, missed) "same canonical" pairs against the labelled stories."""
    hits = false = missed = 0
    pairs = combinations(zip(mentions, SYNDICATED, strict=True), 2)
    for (a, row_a), (b, row_b) in pairs:
        same_story = row_a["story"] is not None and row_a["story"] == row_b["story"]
        together = roots[a.mention_id] == roots[b.mention_id]
        hits += same_story and together
        false += together and not same_story
        missed += same_story and not together
    return hits, false, missed


def test_wire_headlines_fold_and_customers_own_words_never_do(engine):
    mentions = labelled_mentions()
    # Arriving in three batches, as a live stream would.
    for part in (mentions[:20], mentions[20:45], mentions[45:]):
        store(engine, part)
    rows = mentions_by_id(engine)
    roots = {m.mention_id: rows[m.mention_id].canonical_id or m.mention_id for m in mentions}

    hits, false, missed = pair_scores(roots, mentions)
    # Precision and recall 1.0 on pairs: no two stories and no two customers folded, and every
    # version of a story on its one canonical mention.
    assert (hits, false, missed) == (136, 0, 0)
    for mention, row in zip(mentions, SYNDICATED, strict=True):
        if row["story"] is None:
            assert rows[mention.mention_id].canonical_id is None, row["text"]
            assert rows[mention.mention_id].copies == 0, row["text"]
    # The 16 mentions of the recall headline count as one in the volume, even the rewrites in
    # other words (each shares enough words with one of the others).
    recall = [m for m, row in zip(mentions, SYNDICATED, strict=True) if row["story"] == "recall"]
    assert len(recall) == 16
    assert len({roots[m.mention_id] for m in recall}) == 1
    counted = sum(w.n for w in windows(engine, "source:news").values())
    copies = sum(w.n_copies for w in windows(engine, "source:news").values())
    news = sum(1 for row in SYNDICATED if row["source"] == "news")
    assert (counted + copies, counted) == (news, 3)  # recall, shares, the long story


def test_memory_twin_finds_the_same_copies_as_sql(engine):
    mentions = labelled_mentions()
    parts = (mentions[:20], mentions[20:45], mentions[45:])
    in_sql: dict[str, str] = {}
    for part in parts:
        in_sql.update(store(engine, part).copies)
    twin = MemoryCopies()
    in_memory: dict[str, str] = {}
    for part in parts:
        in_memory.update(twin.collapse(candidate_of(s.mention, s.signature) for s in scored(part)))
    assert in_memory == in_sql
    assert len(in_sql) >= 17
    # The backtest's form (the whole file in event-time order) agrees on which are copies.
    assert set(copies_in_memory(scored(mentions))) == set(in_sql)


def test_a_story_told_again_and_again_gathers_its_copies_each_time(engine):
    # Told again every 20 hours for a week, with a copy 30 minutes after each telling: every
    # copy folds, and no copy is more than 48 h from its canonical mention. Live in SQL, and in
    # the backtest whether it forgets old keys every 3 mentions or never.
    week = [
        wire(f"{day}-{k}", day * 20 * 60 + k * 30, LONG_STORY + " Updated." * k)
        for day in range(9)
        for k in range(2)
    ]
    in_sql: dict[str, str] = {}
    for day in range(9):
        in_sql.update(store(engine, week[2 * day : 2 * day + 2]).copies)
    at = {m.mention_id: m.event_time for m in week}
    copies_of_tellings = {m.mention_id for m in week if m.external_id.endswith("-1")}
    for found in (in_sql, copies_in_memory(scored(week), part=3), copies_in_memory(scored(week))):
        assert all(abs(at[c] - at[o]) <= timedelta(hours=48) for c, o in found.items())
        assert set(found) >= copies_of_tellings
        assert len(set(found.values())) >= 3  # a week is more than one 48-hour story


def wire(external_id: str, at_minutes: float, text: str = LONG_STORY, **fields: Any) -> MentionIn:
    fields.setdefault("author", f"outlet-{external_id}")
    return MentionIn("news", external_id, text, T0 + timedelta(minutes=at_minutes), **fields)


@pytest.mark.parametrize(
    ("hours_later", "is_copy"), [(1, True), (47, True), (49, False), (24 * 5, False)]
)
def test_a_copy_is_at_most_48_hours_from_its_canonical(engine, hours_later, is_copy):
    store(engine, [wire("first", 0)])
    stored = store(engine, [wire("again", hours_later * 60, LONG_STORY + " Updated.")])
    assert bool(stored.copies) is is_copy


def test_old_bands_do_not_hide_a_story_that_comes_back(engine):
    # The story returns five days later: a new canonical, and its own copies fold onto it.
    store(engine, [wire("monday", 0)])
    store(engine, [wire("saturday", 5 * 24 * 60)])
    later = store(engine, [wire("saturday-2", 5 * 24 * 60 + 30, LONG_STORY + " Updated.")])
    rows = {m.external_id: m for m in mentions_by_id(engine).values()}
    assert rows["saturday"].canonical_id is None
    assert later.copies == {rows["saturday-2"].mention_id: rows["saturday"].mention_id}
    assert (rows["monday"].copies, rows["saturday"].copies) == (0, 1)


def test_a_late_arrival_folds_onto_a_later_canonical(engine):
    # Out of order: the copy written 30 h earlier arrives after the one stored first.
    store(engine, [wire("stored-first", 30 * 60)])
    stored = store(engine, [wire("arrives-late", 0, LONG_STORY + " Updated.")])
    assert len(stored.copies) == 1


def test_short_headlines_fold_only_within_an_hour(engine):
    headline = "Example Cloud recalls 40,000 smart plugs over fire risk"
    store(engine, [wire("a", 0, headline)])
    soon = store(engine, [wire("b", 50, "BREAKING: " + headline)])
    late = store(engine, [wire("c", 180, headline + " - Ledger")])
    assert len(soon.copies) == 1
    assert late.copies == {}


def test_different_customers_asking_alike_are_many_voices(engine):
    question = (
        "How do I change the billing address on my account? I looked in settings and on the "
        "invoices page but could not find where to do it."
    )
    asked = [
        MentionIn("tickets", f"q{k}", question, T0 + timedelta(minutes=k), customer_id=f"psn:{k}")
        for k in range(5)
    ]
    # The first customer pastes the same question into chat: that one is a copy.
    pasted = MentionIn("chat", "q0-again", question, T0 + timedelta(minutes=9), customer_id="psn:0")
    stored = store(engine, [*asked, pasted])
    assert stored.copies == {pasted.mention_id: asked[0].mention_id}


QUESTIONS = [
    "How do I export my invoices to CSV?",
    "Where can I change my billing address?",
    "Can I add a second admin to our workspace?",
    "Is there a dark mode in the app?",
    "How do I reset my password?",
    "Do you have an API for order history?",
    "Can I pause my subscription for a month?",
    "What are your support hours?",
    "How do I invite my team?",
    "Can I change the currency of my invoices?",
]


def day_with_headlines(*, syndicated: bool) -> list[MentionIn]:
    """Five hours of customers' questions; at 14:00 the recall headline's 16 versions arrive
    within six minutes: from outlets (syndicated) or, as a control, typed by 16 customers."""
    rnd = random.Random(3)
    stream = [
        MentionIn(
            "tickets",
            f"q{minute}-{k}",
            rnd.choice(QUESTIONS),
            T0 + timedelta(minutes=minute, seconds=10 * k),
            customer_id=f"psn:{rnd.randrange(10**6)}",
        )
        for minute in range(300)
        for k in range(rnd.randint(2, 4))
    ]
    rows = [row for row in SYNDICATED if row["story"] == "recall"]
    for k, row in enumerate(rows):
        at = T0 + timedelta(minutes=240, seconds=20 * k)
        if syndicated:
            stream.append(
                MentionIn(
                    "news", f"h{k}", row["text"], at, url=row.get("url"), author=row.get("author")
                )
            )
        else:
            text = re.sub(r"https?://\S+", "", row["text"])
            stream.append(MentionIn("tickets", f"h{k}", text, at, customer_id=f"psn:h{k}"))
    return stream


@pytest.mark.parametrize("syndicated", [True, False])
def test_a_wire_story_spreading_through_copies_does_not_page_the_backtest(syndicated):
    histories = histories_from_mentions(day_with_headlines(syndicated=syndicated), SCORER, 60)
    result = run_series(next(h for h in histories if h.series == "global"), DetectionConfig())
    story = [a for a in result.alerts if a.window_start >= T0 + timedelta(minutes=240)]
    # The control proves the detectors would page had the headlines counted as 16 voices.
    assert (story == []) is syndicated
    assert result.alerts == story  # and nothing else in the five hours pages


def test_two_workers_storing_one_story_at_once_find_each_other(engine):
    """Worker 1 holds its transaction open; worker 2's copy waits for it, then folds onto it."""
    first, second = wire("worker-1", 0), wire("worker-2", 2, LONG_STORY + " Updated.")
    [item] = scored([first])
    outcome: dict[str, dict[str, str]] = {}
    with Session(engine) as session:
        session.execute(
            insert_for(session, Mention.__table__), [_mention_row(first.mention_id, item, LATER)]
        )
        assert collapse(session, [candidate_of(first, item.signature)]) == {}
        worker_2 = threading.Thread(
            target=lambda: outcome.update(copies=store(engine, [second]).copies)
        )
        worker_2.start()
        worker_2.join(timeout=1.0)
        assert worker_2.is_alive()  # blocked on the first worker's rows until it commits
        session.commit()
    worker_2.join(timeout=30)
    assert outcome["copies"] == {second.mention_id: first.mention_id}


@pytest.mark.parametrize(("minutes_later", "is_copy"), [(5, True), (55, True), (90, False)])
def test_the_same_words_without_a_link_fold_only_within_the_hour(engine, minutes_later, is_copy):
    # Nobody known, nothing syndicated: a paste into another channel comes within the hour;
    # the same question in the same words hours later is another customer asking.
    question = (
        "Hi, I'd like to change the language of the app, could you point me to the right page? "
        "Thanks!"
    )
    store(engine, [MentionIn("tickets", "first", question, T0)])
    later = T0 + timedelta(minutes=minutes_later)
    stored = store(engine, [MentionIn("social", "again", "Hello! " + question, later)])
    assert bool(stored.copies) is is_copy
