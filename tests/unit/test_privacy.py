"""PII never reaches the mentions table in clear: redaction, pseudonyms, dead-letter retention."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import Session, select

from monitor.privacy import Privacy, Pseudonymiser, Redactor, redact_text
from monitor.settings import Settings
from monitor.storage.db import session_scope
from monitor.storage.models import DeadLetter
from streams.dead_letters import dead_letter_row, expire_raw_payloads
from streams.mentions import InvalidMention, parse_mention
from tests.unit.factories import mentions_by_id, store

KEY = "unit-test-key-0123456789"
PRIVACY = Privacy.from_key(KEY)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # Emails: plus tags, sub-domains, capitals, next to punctuation.
        ("write to Ana.B+refunds@Mail.Example.co.uk.", "write to [EMAIL]."),
        ("(bob_99@example.org)", "([EMAIL])"),
        ("two: a@x.io,b@y.io", "two: [EMAIL],[EMAIL]"),
        # Not emails: a handle, a bare @, a version pin.
        ("thanks @support!", "thanks @support!"),
        ("pip install x@1.2", "pip install x@1.2"),
        # Cards: Luhn-valid numbers, spaced, dashed or plain; Amex's 15 digits.
        ("card 4111 1111 1111 1111 declined", "card [CARD] declined"),
        ("card 5500-0000-0000-0004", "card [CARD]"),
        ("amex 378282246310005 ok", "amex [CARD] ok"),
        # 16 digits that fail Luhn are an order or tracking number, and stay.
        ("order 4111 1111 1111 1112", "order 4111 1111 1111 1112"),
        # IBANs: grouped or not, any case; a wrong check digit stays.
        ("IBAN DE89 3704 0044 0532 0130 00 please", "IBAN [IBAN] please"),
        ("iban gb82west12345698765432", "iban [IBAN]"),
        ("ref GB82 WEST 1234 5698 7654 33", "ref GB82 WEST 1234 5698 7654 33"),
        # IP addresses: v4 and v6; not out-of-range quads, times or dates.
        ("from 192.168.0.12, then 2001:db8::8a2e:370:7334", "from [IP], then [IP]"),
        ("link-local fe80::1ff:fe23:4567:890a here", "link-local [IP] here"),
        ("999.1.1.1 is not an address", "999.1.1.1 is not an address"),
        ("at 10:42:07 on 2024-03-14", "at 10:42:07 on 2024-03-14"),
        # Phones: national and international formats.
        ("call (415) 555-2671 now", "call [PHONE] now"),
        ("ring +44 20 7946 0958", "ring [PHONE]"),
        ("WhatsApp +49 30 901820", "WhatsApp [PHONE]"),
        # Numbers that are not phones: prices, years, short ids, timestamps.
        ("paid $1,299.99 in 2024 for #12345", "paid $1,299.99 in 2024 for #12345"),
        ("since 1553290198", "since 1553290198"),
    ],
)
def test_pii_is_replaced_by_a_typed_placeholder_and_nothing_else_is(text, expected):
    assert redact_text(text) == expected


def test_redaction_is_idempotent_so_reparsing_at_ingest_changes_nothing():
    text = "mail a@b.io, card 4111111111111111, call +44 20 7946 0958, ip 10.0.0.1"
    once = redact_text(text)
    assert redact_text(once) == once
    assert once == "mail [EMAIL], card [CARD], call [PHONE], ip [IP]"


def test_phone_region_decides_which_national_formats_are_phones():
    german = "Hotline 030 901820"
    assert redact_text(german) == german  # not a US number
    assert Redactor(phone_region="DE").redact(german) == "Hotline [PHONE]"


def test_stored_text_is_redacted_after_html_is_stripped_and_before_it_is_capped():
    mention = parse_mention(
        {
            "source": "tickets",
            "text": "<p>Refund to <b>ana@example.com</b></p>" + " word" * 2000,
            "event_time": "2026-01-05T10:00:00Z",
        }
    )
    assert mention.text.startswith("Refund to [EMAIL] word")
    assert mention.text_truncated


def test_authors_and_customers_are_stored_as_keyed_pseudonyms(engine):
    mention = parse_mention(
        {
            "source": "tickets",
            "external_id": "T-9",
            "text": "still waiting",
            "author": "Ana García",
            "customer_id": "cust-42",
            "event_time": "2026-01-05T10:00:00Z",
        },
        privacy=PRIVACY,
    )
    store(engine, [mention])
    row = mentions_by_id(engine)[mention.mention_id]
    assert row.author is not None and row.author.startswith("psn:")
    assert row.customer_id is not None and row.customer_id.startswith("psn:")
    assert "Ana" not in row.author and "42" not in row.customer_id
    # Same key, same pseudonym: one customer's tickets can still be grouped.
    assert row.customer_id == PRIVACY.pseudonymiser.pseudonym("customer_id", "cust-42")
    # Another key gives another pseudonym: nothing links them without the key.
    other = Pseudonymiser(b"another-key-0123456789")
    assert other.pseudonym("customer_id", "cust-42") != row.customer_id


def test_an_identity_without_a_key_is_refused_with_the_setting_to_fix_it():
    with pytest.raises(InvalidMention, match="CRISISMON_PSEUDONYM_KEY is not set") as caught:
        parse_mention(
            {"source": "social", "text": "down?", "author": "ana", "event_time": 1767600000}
        )
    assert "ana" not in str(caught.value)  # the reason never echoes the identity


def test_a_short_pseudonym_key_is_a_setting_error():
    with pytest.raises(ValueError, match="at least 16 characters"):
        Settings(pseudonym_key="short")


T = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)
PAYLOAD = '{"requester_email": "ana@example.com", "text": 42}'


def test_without_retention_a_dead_letter_keeps_only_a_redacted_payload():
    row = dead_letter_row(
        topic="webhooks", reason="r", payload=PAYLOAD, source="z", received_at=T, retention_days=0
    )
    assert row.payload == '{"requester_email": "[EMAIL]", "text": 42}'
    assert row.payload_redacted and row.raw_expires_at is None


def test_with_retention_the_original_is_kept_until_it_expires_then_redacted(engine):
    row = dead_letter_row(
        topic="webhooks", reason="r", payload=PAYLOAD, source="z", received_at=T, retention_days=7
    )
    with session_scope(engine) as session:
        session.add(row)
    assert expire_raw_payloads(engine, now=T + timedelta(days=6)) == 0
    with Session(engine) as session:
        assert session.exec(select(DeadLetter)).one().payload == PAYLOAD
    assert expire_raw_payloads(engine, now=T + timedelta(days=7, seconds=1)) == 1
    with Session(engine) as session:
        stored = session.exec(select(DeadLetter)).one()
    assert stored.payload == '{"requester_email": "[EMAIL]", "text": 42}'
    assert stored.payload_redacted and stored.raw_expires_at is None
