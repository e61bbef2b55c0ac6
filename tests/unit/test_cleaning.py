"""Hostile strings and times: every field of a mention comes out storable, or the mention is
refused with one readable reason, never an exception of another kind."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from monitor.privacy import Privacy
from monitor.settings import Settings
from streams.cleaning import BadJson, clean_field, parse_id, parse_json, same_secret
from streams.mention_bundles import decode_record
from streams.mentions import InvalidMention, parse_mention

NOW = datetime(2026, 3, 1, 12, tzinfo=UTC)
PRIVACY = Privacy.from_key("cleaning-test-key-0123456789")
HOSTILE = "x\x00y\ud800z\x1b\x85\u2028"


def storable(value: str) -> bool:
    value.encode("utf-8")  # raises on a lone surrogate
    return "\x00" not in value and not any(ord(c) < 32 or 0x7F <= ord(c) <= 0x9F for c in value)


def test_every_string_field_is_cleaned_before_anything_is_published():
    mention = parse_mention(
        {
            "source": "tickets",
            "external_id": HOSTILE,
            "text": HOSTILE,
            "event_time": NOW.isoformat(),
            "product": HOSTILE,
            "priority": HOSTILE,
            "network": HOSTILE,
            "url": HOSTILE,
            "lang": HOSTILE,
            "tags": [HOSTILE],
            "author": HOSTILE,
            "customer_id": HOSTILE,
            "attributes": {"region": HOSTILE},
            "plan": HOSTILE,
        },
        privacy=PRIVACY,
    )
    payload = mention.to_payload()
    for value in [*payload.values(), *payload["tags"], *payload["attributes"].values()]:
        if isinstance(value, str):
            assert storable(value), value
    assert mention.external_id == mention.product == "xy\ufffdz"
    # Bytes on the topic decode back to the same mention: ingest parses them again.
    [(_, again)] = decode_record(mention.to_bytes(), PRIVACY)
    assert again == mention


def test_lengths_are_capped_per_field():
    mention = parse_mention(
        {
            "source": "s",
            "text": "t",
            "event_time": NOW.isoformat(),
            "product": "p" * 5000,
            "url": "https://example.com/" + "a@b.co " * 400,  # redaction makes it longer
            "tags": ["t" * 500],
        }
    )
    assert len(mention.product or "") == 200
    assert len(mention.url or "") == 2000
    assert mention.tags == ("t" * 50,)
    with pytest.raises(InvalidMention, match="external_id must be 1-300 characters"):
        parse_mention({"source": "s", "text": "t", "external_id": "e" * 301, "event_time": 1})
    with pytest.raises(InvalidMention, match="external_id must be 1-300"):
        parse_mention({"source": "s", "text": "t", "external_id": "\x00\x01", "event_time": 1})


@pytest.mark.parametrize(
    ("event_time", "reason"),
    [
        ("9999-12-31T23:59:59-01:00", "out of range"),
        ("0001-01-01T00:00:00+01:00", "out of range"),
        ("0001-01-01T00:00:00Z", "before 1970"),
        ("1969-12-31T23:59:59Z", "before 1970"),
        (-1, "before 1970"),
        (1e300, "out of range"),
        (float("nan"), "out of range"),
        ("2026-03-01T12:16:00Z", "in the future"),
        ("2100-01-01T00:00:00Z", "in the future"),
        ("\ud800", "not ISO 8601"),
    ],
)
def test_event_times_out_of_bounds_are_refused_with_the_reason(event_time, reason):
    with pytest.raises(InvalidMention, match=reason) as caught:
        parse_mention(
            {"source": "s", "text": "t", "event_time": event_time},
            not_after=NOW + timedelta(minutes=15),
        )
    str(caught.value).encode()  # the reason itself is printable and encodable


def test_within_the_skew_and_long_ago_are_accepted():
    not_after = NOW + timedelta(minutes=15)
    for event_time in ("2026-03-01T12:14:59Z", "1970-01-01T00:00:00Z", "2001-09-09T01:46:40Z"):
        parse_mention({"source": "s", "text": "t", "event_time": event_time}, not_after=not_after)


def test_the_future_skew_is_a_setting():
    assert Settings().max_future_skew_seconds == 900
    settings = Settings(max_future_skew_seconds=60)
    assert settings.latest_event_time(NOW) == NOW + timedelta(seconds=60)


@pytest.mark.parametrize(
    "raw",
    [
        b"[" * 100_000 + b"]" * 100_000,
        b'{"a":' * 50_000 + b"1" + b"}" * 50_000,
        b"1" * 5000,
        b"\xff\xfe\x00",
        b"",
    ],
)
def test_any_body_is_json_or_one_reason(raw):
    with pytest.raises(BadJson) as caught:
        parse_json(raw)
    assert str(caught.value)
    [(_, reason)] = decode_record(raw)
    assert isinstance(reason, InvalidMention) and str(reason).startswith("not valid UTF-8 JSON")


@pytest.mark.parametrize(
    ("text", "expected"),
    [("17", 17), ("\u00b2", None), ("9" * 5000, None), ("", None), (" 1", None), ("١٢", None)],
)
def test_ids_from_urls_are_ascii_digits_that_fit_a_bigint(text, expected):
    assert parse_id(text) == expected


def test_secrets_compare_whatever_the_client_sends():
    assert same_secret("tok", "tok")
    assert not same_secret("tök", "tok")
    assert not same_secret("\udcff", "tok")
    assert not same_secret("", "")


def test_clean_field_keeps_a_valid_surrogate_pair_as_one_character():
    decoded = json.loads('"\\ud83d\\ude00"')
    assert clean_field(decoded, 10) == "\U0001f600"


def test_a_replayed_record_from_the_future_is_a_dead_letter_reason():
    from streams.replay import validate_one

    record = {"source": "s", "text": "t", "event_time": "2027-01-01T00:00:00Z"}
    reason = validate_one(
        record, default_source=None, now=NOW, not_after=NOW + timedelta(minutes=15)
    )
    assert isinstance(reason, str) and "in the future" in reason
    assert not isinstance(validate_one(record, default_source=None, now=NOW), str)
