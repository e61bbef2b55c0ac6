"""Dead letters listed newest first and paged, and a repaired one replayed: validated as new
input of its kind, then marked replayed with who (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import Session, select

from monitor.privacy import NO_KEY
from monitor.storage.models import AuditEntry, DeadLetter
from streams.dead_letter_replay import (
    ReplayError,
    get_letter,
    list_letters,
    mark_replayed,
    validate_replay,
)
from streams.sources.config import build_webhooks, load_sources_config

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def _letters(engine) -> list[int]:
    rows = [
        ("t1.mentions.raw", "missing field: text (a string)", '{"source": "api"}', "api"),
        ("webhooks/zendesk", "zendesk webhook: no text", '{"ticket_id": "7"}', "zendesk"),
        ("t1.series.ticks", "unreadable record", "\\x00garbage", None),
    ]
    with Session(engine) as session:
        for k, (topic, reason, payload, source) in enumerate(rows):
            session.add(
                DeadLetter(
                    topic=topic,
                    reason=reason,
                    payload=payload,
                    source=source,
                    received_at=NOW + timedelta(minutes=k),
                    payload_redacted=False,
                )
            )
        session.commit()
        return [int(i or 0) for i in session.exec(select(DeadLetter.id).order_by(DeadLetter.id))]


def test_listing_newest_first_and_paged(engine):
    assert list_letters(engine) == []  # an empty database
    first, second, third = _letters(engine)
    assert [letter.id for letter in list_letters(engine)] == [third, second, first]
    page = list_letters(engine, limit=2)
    assert [letter.id for letter in page] == [third, second]
    assert [letter.id for letter in list_letters(engine, before=page[-1].id)] == [first]
    assert [letter.id for letter in list_letters(engine, source="zendesk")] == [second]
    assert [letter.replayable for letter in list_letters(engine)] == [False, True, True]


def test_replay_validates_like_new_input_and_records_who(engine, tmp_path):
    first, second, third = _letters(engine)
    letter = get_letter(engine, first)
    assert letter is not None and get_letter(engine, 999_999) is None
    hooks = {}

    def replay(payload: str, target=letter):
        return validate_replay(
            target, payload, webhook_sources=hooks, privacy=NO_KEY, now=NOW, not_after=NOW
        )

    for bad, why in (
        ('{"source": "api"', "not valid JSON"),
        ('{"source": "api"}', "missing field: text"),
        ("[]", "no mention"),
        ('{"source": "api", "text": "late", "event_time": "2030-01-01T00:00:00Z"}', "future"),
        ("x" * 1_000_001, "longer than"),
    ):
        with pytest.raises(ReplayError) as caught:
            replay(bad)
        assert caught.value.status == 400
        assert why in str(caught.value) or why == "future", str(caught.value)
    with pytest.raises(ReplayError, match="internal records"):
        replay('{"source": "api", "text": "x"}', get_letter(engine, third))
    with pytest.raises(ReplayError) as gone:
        replay('{"ticket_id": "7"}', get_letter(engine, second))
    assert gone.value.status == 409 and "zendesk" in str(gone.value)
    assert get_letter(engine, first).replayed_at is None  # nothing changed by a refusal

    mentions = replay('{"source": "api", "text": "Checkout is broken again"}')
    assert [m.text for m in mentions] == ["Checkout is broken again"]
    ids = [m.mention_id for m in mentions]
    assert mark_replayed(engine, letter_id=first, who="web:ada", now=NOW, mention_ids=ids)
    assert not mark_replayed(engine, letter_id=first, who="web:bo", now=NOW, mention_ids=ids)
    done = get_letter(engine, first)
    assert (done.replayed_by, done.replayed_at, done.replayable) == ("web:ada", NOW, False)
    with pytest.raises(ReplayError) as again:
        replay('{"source": "api", "text": "x"}', done)
    assert again.value.status == 409
    with Session(engine) as session:
        entry = session.exec(select(AuditEntry).where(AuditEntry.action == "replay-dead-letter"))
        assert [(e.actor, e.subject) for e in entry] == [("web:ada", f"dead-letter:{first}")]

    # A webhook's dead letter is the vendor's body, mapped by its source.
    config = tmp_path / "sources.yaml"
    config.write_text("sources:\n  - {name: zendesk, kind: zendesk}\n")
    hooks.update(
        build_webhooks(
            load_sources_config(config),
            env={"CRISISMON_SOURCE_ZENDESK_SECRET": "zendesk-secret-123"},
            can_pseudonymise=True,
        )
    )
    mapped = replay(
        '{"ticket_id": "7", "ticket_title": "Refund", "ticket_description": "Charged twice"}',
        get_letter(engine, second),
    )
    assert len(mapped) == 1 and "Charged twice" in mapped[0].text
    assert mapped[0].source == "zendesk"
