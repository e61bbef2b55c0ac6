"""A record the database refuses costs only itself: on SQLite and PostgreSQL, the rest of its
batch is stored and counted, it goes to the dead letters with the database's reason, and its
partition goes on."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, select, text
from sqlmodel import Session

from monitor.privacy import Privacy
from monitor.storage.models import DeadLetter, InboxEntry, IngestProgress, SeriesWindow
from streams.dead_letters import dead_letter_row
from streams.ingest import ingest_raw_batch
from tests.conftest import TEST_PSEUDONYM_KEY
from tests.unit.factories import LATER, SCORER, T0, WINDOW, mention, mentions_by_id


def refuse_external_id(engine: Engine, poison: str) -> None:
    """Make the database itself refuse one mention, as it would a value it cannot store."""
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(
                text(
                    "ALTER TABLE mentions ADD CONSTRAINT no_poison "
                    f"CHECK (external_id <> '{poison}')"
                )
            )
        else:
            conn.execute(
                text(
                    "CREATE TRIGGER no_poison BEFORE INSERT ON mentions "
                    f"WHEN NEW.external_id = '{poison}' "
                    "BEGIN SELECT RAISE(ABORT, 'poison refused'); END"
                )
            )


def test_a_refused_mention_is_rejected_alone_and_the_rest_of_its_batch_is_stored(engine):
    refuse_external_id(engine, "p-13")
    batch = [mention(f"p-{i}", at=T0 + timedelta(seconds=i)) for i in range(40)]
    with Session(engine) as session:  # accepted over HTTP with the inbox on
        for item in batch:
            session.add(InboxEntry(mention_id=item.mention_id, payload="{}", received_at=T0))
        session.commit()

    outcome = ingest_raw_batch(
        engine,
        SCORER,
        [(i % 2, item.to_bytes()) for i, item in enumerate(batch)],
        window_seconds=WINDOW,
        now=LATER,
    )

    poison = batch[13]
    assert set(mentions_by_id(engine)) == {m.mention_id for m in batch} - {poison.mention_id}
    [rejected] = outcome.rejected
    assert json.loads(rejected.payload)["external_id"] == "p-13"
    assert rejected.reason.startswith("the database refused it: ")
    assert "no_poison" in rejected.reason or "poison refused" in rejected.reason
    assert len(outcome.stored.new_mention_ids) == 39
    with Session(engine) as session:
        [window] = session.execute(
            select(SeriesWindow).where(SeriesWindow.series == "global")
        ).scalars()
        assert window.n == 39  # counted once each, the refused one not at all
        # Out of the inbox too, or it would be republished for ever.
        assert (
            session.execute(
                select(InboxEntry).where(InboxEntry.done_at.is_(None))  # type: ignore[union-attr]
            ).first()
            is None
        )
        progress = {
            p.partition: p.max_event_time for p in session.execute(select(IngestProgress)).scalars()
        }
    assert progress == {0: batch[38].event_time, 1: batch[39].event_time}
    assert outcome.stored.watermark == batch[38].event_time

    # The next batch of the same partitions is stored as usual.
    after = mention("p-after", at=T0 + timedelta(minutes=1))
    again = ingest_raw_batch(
        engine, SCORER, [(0, after.to_bytes())], window_seconds=WINDOW, now=LATER
    )
    assert again.stored.new_mention_ids == {after.mention_id} and not again.rejected


def test_a_database_that_is_down_is_not_mistaken_for_a_poison_record(engine):
    # Nothing may be dead-lettered because the database is unreachable: the batch must fail
    # as a whole and be processed again later.
    from sqlalchemy.exc import OperationalError

    from monitor.storage.poison import refused

    assert not refused(OperationalError("SELECT 1", {}, Exception("connection refused")))
    assert refused(ValueError("A string literal cannot contain NUL (0x00) characters."))


def test_mentions_with_nul_and_lone_surrogates_in_every_field_are_stored(engine):
    hostile = "a\x00b\ud800c\x1b"
    payload = {
        "source": "tickets",
        "external_id": f"nul-{hostile}",
        "text": f"checkout {hostile} broken",
        "event_time": T0.isoformat(),
        "product": hostile,
        "priority": hostile,
        "network": hostile,
        "url": f"https://example.com/{hostile}",
        "lang": "en\x00",
        "tags": [hostile, "ok"],
        "author": hostile,
        "attributes": {"region": hostile},
    }
    raw = json.dumps(payload).encode()  # \u0000 and \ud800 escapes, as a sender would send
    outcome = ingest_raw_batch(
        engine,
        SCORER,
        [(0, raw)],
        window_seconds=WINDOW,
        now=LATER,
        privacy=Privacy.from_key(TEST_PSEUDONYM_KEY),
    )
    assert not outcome.rejected
    [stored] = mentions_by_id(engine).values()
    for value in (stored.external_id, stored.text, stored.product, stored.priority, stored.url):
        assert "\x00" not in value and "\ud800" not in value and "\x1b" not in value
    assert stored.product == "ab\ufffdc" and stored.tags == "ab\ufffdc ok"
    assert stored.external_id == "nul-ab\ufffdc"


@pytest.mark.parametrize("days_ahead", [1, 365 * 74])
def test_a_mention_from_the_future_is_rejected_and_never_moves_the_watermark(engine, days_ahead):
    now = datetime(2026, 3, 1, 12, tzinfo=UTC)
    present = mention("now-1", at=now - timedelta(minutes=5))
    future = mention("future-1", at=now + timedelta(days=days_ahead))
    outcome = ingest_raw_batch(
        engine,
        SCORER,
        [(0, present.to_bytes()), (0, future.to_bytes())],
        window_seconds=WINDOW,
        now=now,
        not_after=now + timedelta(minutes=15),
    )
    [rejected] = outcome.rejected
    assert "in the future" in rejected.reason
    assert outcome.stored.watermark == present.event_time
    assert set(mentions_by_id(engine)) == {present.mention_id}


def test_a_very_old_mention_is_stored_and_counted_but_does_not_move_the_watermark_back(engine):
    now = datetime(2026, 3, 1, 12, tzinfo=UTC)
    recent = mention("recent", at=now - timedelta(minutes=1))
    ingest_raw_batch(engine, SCORER, [(0, recent.to_bytes())], window_seconds=WINDOW, now=now)
    old = mention("old", at=datetime(1999, 1, 1, tzinfo=UTC))
    outcome = ingest_raw_batch(
        engine, SCORER, [(0, old.to_bytes())], window_seconds=WINDOW, now=now
    )
    assert outcome.stored.new_mention_ids == {old.mention_id}
    assert outcome.stored.watermark == recent.event_time


def test_a_dead_letter_keeps_nul_and_surrogates_storable(engine):
    row = dead_letter_row(
        topic="webhooks/x\x00",
        reason="bad \x00 \ud800",
        payload='{"text": "a\x00b\ud800"}',
        source="x\x00",
        received_at=T0,
        retention_days=3,
    )
    with Session(engine) as session:
        session.add(row)
        session.commit()
        [stored] = session.execute(select(DeadLetter)).scalars().all()
    assert stored.payload == '{"text": "a\ufffdb\ufffd"}' and stored.reason == "bad \ufffd \ufffd"


def test_a_dead_letter_the_database_refuses_is_stored_escaped(engine):
    from streams.dead_letters import store_dead_letter

    with engine.begin() as conn:  # a database that refuses this source, however it is written
        if engine.dialect.name == "postgresql":
            conn.execute(
                text("ALTER TABLE dead_letters ADD CONSTRAINT no_bad CHECK (source <> 'bad')")
            )
        else:
            conn.execute(
                text(
                    "CREATE TRIGGER no_bad BEFORE INSERT ON dead_letters WHEN NEW.source = 'bad' "
                    "BEGIN SELECT RAISE(ABORT, 'bad source'); END"
                )
            )
    row = dead_letter_row(
        topic="mentions.raw",
        reason="unusable",
        payload='{"text": "é"}',
        source="bad",
        received_at=T0,
        retention_days=3,
    )
    assert store_dead_letter(engine, row)
    with Session(engine) as session:
        [stored] = session.execute(select(DeadLetter)).scalars().all()
    assert stored.payload == '\'{"text": "\\xe9"}\''
    assert stored.reason.startswith("'unusable' (stored escaped: the database refused it: ")
