"""Validating and normalising one mention payload: what becomes a 400 or a dead letter, and why."""

from __future__ import annotations

import json
import unicodedata
from datetime import UTC, datetime

import pytest

from monitor.privacy import Privacy
from streams.mention_bundles import decode_mention
from streams.mention_text import MAX_TEXT_CHARS, normalise_text
from streams.mentions import InvalidMention, mention_id, parse_event_time, parse_mention

PRIVACY = Privacy.from_key("test-key-0123456789abcdef")

VALID = {
    "source": "zendesk",
    "text": "Checkout is broken",
    "external_id": "1001",
    "event_time": "2026-01-05T10:00:00Z",
}


def payload(**changes: object) -> dict[str, object]:
    """VALID with fields replaced; a value of ... removes the field."""
    data = {**VALID, **changes}
    return {k: v for k, v in data.items() if v is not ...}


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("source", ...),
        ("source", "   "),
        ("source", 42),
        ("text", ...),
        ("text", None),
        ("text", " \n\t "),
        ("text", "\x00\x07"),
        ("event_time", ...),
        ("event_time", "yesterday"),
        ("event_time", True),
        ("external_id", "   "),
        ("external_id", "x" * 301),
        ("external_id", ["1001"]),
        ("author", 12),
    ],
)
def test_missing_blank_or_wrong_field_is_rejected_naming_the_field(field, value):
    with pytest.raises(InvalidMention, match=field):
        parse_mention(payload(**{field: value}))


def test_source_with_forbidden_characters_is_rejected_with_the_allowed_alphabet():
    with pytest.raises(InvalidMention, match=r"source 'zen desk' must be 1-64 of a-z"):
        parse_mention(payload(source="Zen Desk"))


def test_source_is_trimmed_and_lowercased():
    assert parse_mention(payload(source="  ZenDesk ")).source == "zendesk"


def test_payload_that_is_not_an_object_names_its_type():
    with pytest.raises(InvalidMention, match="expected a JSON object, got list"):
        parse_mention([VALID])


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-01-05T10:00:00Z", datetime(2026, 1, 5, 10, 0, tzinfo=UTC)),
        ("2026-01-05T10:00:00", datetime(2026, 1, 5, 10, 0, tzinfo=UTC)),  # naive = UTC
        ("2026-01-05T12:00:00+02:00", datetime(2026, 1, 5, 10, 0, tzinfo=UTC)),
        (" 2026-01-05T10:00:00.250Z ", datetime(2026, 1, 5, 10, 0, 0, 250000, tzinfo=UTC)),
        (1767607200, datetime(2026, 1, 5, 10, 0, tzinfo=UTC)),  # Unix seconds
        (1767607200.5, datetime(2026, 1, 5, 10, 0, 0, 500000, tzinfo=UTC)),
    ],
)
def test_event_time_accepts_iso_and_unix_seconds_as_aware_utc(value, expected):
    parsed = parse_event_time(value)
    assert parsed == expected
    assert parsed.utcoffset() is not None and parsed.utcoffset().total_seconds() == 0


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("05/01/2026 10:00", "is not ISO 8601"),
        (1e20, "out of range"),
        (None, "ISO 8601 string or Unix seconds"),
        (False, "ISO 8601 string or Unix seconds"),
    ],
)
def test_unusable_event_time_says_why(value, message):
    with pytest.raises(InvalidMention, match=message):
        parse_event_time(value)


def test_missing_event_time_is_filled_from_now_when_the_caller_allows_it():
    now = datetime(2026, 2, 1, 9, 30, tzinfo=UTC)
    assert parse_mention(payload(event_time=...), now=now).event_time == now


def test_whitespace_and_control_characters_are_normalised():
    mention = parse_mention(payload(text="  Site\tis\r\n\n down\x00\x1b  again?!\x7f  "))
    assert mention.text == "Site is down again?!"


def test_html_markup_and_entities_become_plain_text():
    # Helpdesk webhooks (Zendesk, Freshdesk) and feeds deliver HTML bodies; the stored text is
    # what the alert quotes and what VADER scores, so tags and entities must not survive.
    mention = parse_mention(payload(text="<p>Checkout is <b>broken</b> &amp; slow</p>"))
    assert mention.text == "Checkout is broken & slow"


def test_text_is_nfc_so_equal_looking_text_is_equal():
    decomposed = parse_mention(payload(text="Cafe\u0301 closed", external_id=...))
    composed = parse_mention(payload(text="Caf\u00e9 closed", external_id=...))
    assert decomposed.text == composed.text == "Caf\u00e9 closed"
    assert decomposed.external_id == composed.external_id


def test_text_is_nfc_even_when_a_dropped_control_character_split_a_letter_from_its_accent():
    text, _ = normalise_text("Cafe\x00\u0301 closed")
    assert text == unicodedata.normalize("NFC", text)
    assert text == "Caf\u00e9 closed"


def test_long_text_is_truncated_with_an_ellipsis_and_the_truncation_is_recorded():
    mention = parse_mention(payload(text="word " * 2000))
    assert len(mention.text) == MAX_TEXT_CHARS
    assert mention.text.endswith("…")
    assert mention.text_truncated is True
    assert parse_mention(VALID).text_truncated is False


def test_text_that_fits_after_whitespace_collapse_is_not_truncated():
    text, truncated = normalise_text("a" + " " * 10 + "b", max_chars=3)
    assert (text, truncated) == ("a b", False)


def test_optional_strings_are_capped_to_their_column_sizes():
    mention = parse_mention(
        payload(product="p" * 500, url="https://x.example/" + "p" * 3000), privacy=PRIVACY
    )
    assert mention.product == "p" * 200
    assert mention.url is not None and len(mention.url) == 2000


def test_truncation_survives_the_trip_through_the_broker():
    # The HTTP endpoint and replay publish `to_bytes()`; the ingest agent reads it back with
    # `decode_mention`, so whatever is lost here is lost in the database too.
    truncated = parse_mention(payload(text="word " * 2000))
    assert truncated.text_truncated is True
    assert decode_mention(truncated.to_bytes()).text_truncated is True


def test_same_source_and_external_id_give_the_same_mention_id_whatever_the_text():
    first = parse_mention(payload(text="first wording"))
    second = parse_mention(payload(text="edited wording", event_time=1767610000))
    other_source = parse_mention(payload(source="intercom"))
    assert first.mention_id == second.mention_id == mention_id("zendesk", "1001")
    assert other_source.mention_id != first.mention_id
    assert len(first.mention_id) == 32


def test_integer_external_id_is_the_same_mention_as_its_string_form():
    assert parse_mention(payload(external_id=1001)).mention_id == parse_mention(VALID).mention_id


def test_mentions_without_external_id_are_identified_by_content_and_moment():
    a = parse_mention(payload(external_id=...))
    same = parse_mention(payload(external_id="", text="  Checkout   is broken "))
    later = parse_mention(payload(external_id=..., event_time="2026-01-05T10:00:01Z"))
    assert a.external_id.startswith("content:")
    assert a.mention_id == same.mention_id
    assert a.mention_id != later.mention_id


def test_payload_round_trips_through_bytes_unchanged():
    original = parse_mention(
        payload(
            text="Café “down” again 🔥",
            author="ana",
            customer_id=9001,
            url="https://t.example/1",
            lang="en",
            tags="billing, Outage",
            rating=2,
            priority="urgent",
            product="checkout",
            network="mastodon",
        ),
        privacy=PRIVACY,
    )
    assert decode_mention(original.to_bytes(), PRIVACY) == original


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (None, "empty message"),
        (b"\xff\xfe not utf-8", "not valid UTF-8 JSON"),
        (b'{"source": "x", "text": ', "not valid UTF-8 JSON"),
        (b'"just a string"', "expected a JSON object, got str"),
        (json.dumps(payload(text=...)).encode(), "missing field: text"),
    ],
)
def test_undecodable_bytes_are_rejected_with_a_reason(raw, message):
    with pytest.raises(InvalidMention, match=message):
        decode_mention(raw)
