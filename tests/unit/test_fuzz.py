"""Fuzzing every parser: whatever arrives ends as a mention, a clear 4xx, or a dead-letter reason.

Nothing here may raise anything but the parser's own, documented error.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from monitor.privacy import Privacy, redact_text
from streams.mapping import ColumnMapping
from streams.mention_bundles import decode_mention
from streams.mentions import InvalidMention, MentionIn, parse_mention
from streams.replay import Unusable, validate_one
from streams.sources import RateLimit
from streams.sources.feeds import parse_feed
from streams.sources.freshdesk import FreshdeskSource
from streams.sources.intercom import IntercomSource
from streams.sources.mastodon import status_to_mention
from streams.sources.polling import FetchError
from streams.sources.reviews import ReviewWebhookSource
from streams.sources.social import SocialWebhookSource
from streams.sources.stores import app_store_review, google_play_review
from streams.sources.webhook import TokenBucket, handle
from streams.sources.zendesk import ZendeskSource
from tests.vendors import (
    crisismon_headers,
    freshdesk_headers,
    intercom_headers,
    zendesk_headers,
)

NOW = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)
PRIVACY = Privacy.from_key("fuzz-test-key-0123456789")
SECRET = "fuzz-secret-0123456789"
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=50),
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=20), children, max_size=6)
    ),
    max_leaves=25,
)
# Objects with the field names parsers look for, holding values of any type.
FIELDS = [
    "source", "text", "external_id", "event_time", "author", "customer_id", "url", "lang",
    "rating", "max_rating", "tags", "priority", "product", "network", "drill", "id", "title",
    "body", "ticket_id", "ticket_title", "ticket_description", "message", "comment_id",
    "freshdesk_webhook", "topic", "data", "item", "reviewId", "comments", "attributes", "type",
    "content", "uri", "reblog", "account", "created_at",
]  # fmt: skip
shaped = st.dictionaries(st.sampled_from(FIELDS), json_values, max_size=10)
payloads = shaped | json_values


@FUZZ
@given(payloads)
def test_parse_mention_accepts_or_explains(data):
    try:
        mention = parse_mention(data, now=NOW, privacy=PRIVACY)
    except InvalidMention as exc:
        assert str(exc)
        return
    assert isinstance(mention, MentionIn) and mention.text
    assert decode_mention(mention.to_bytes(), PRIVACY) == mention


@FUZZ
@given(st.binary(max_size=300) | st.text(max_size=300).map(str.encode))
def test_decode_mention_of_any_bytes_accepts_or_explains(raw):
    try:
        decode_mention(raw, PRIVACY)
    except InvalidMention as exc:
        assert str(exc)


@FUZZ
@given(st.text(max_size=300))
def test_redaction_never_fails_and_is_idempotent(text):
    once = redact_text(text)
    assert redact_text(once) == once


SOURCES = [
    (ZendeskSource("zendesk", SECRET.encode()), lambda b: zendesk_headers(SECRET, b, NOW)),
    (FreshdeskSource("freshdesk", SECRET.encode()), lambda b: freshdesk_headers(SECRET)),
    (IntercomSource("intercom", SECRET.encode()), lambda b: intercom_headers(SECRET, b)),
    (ReviewWebhookSource("reviews", SECRET.encode()), lambda b: crisismon_headers(SECRET, b)),
    (SocialWebhookSource("social", SECRET.encode()), lambda b: crisismon_headers(SECRET, b)),
]


@FUZZ
@given(
    st.sampled_from(range(len(SOURCES))),
    payloads.map(lambda v: json.dumps(v).encode()) | st.binary(max_size=200),
    st.booleans(),
)
def test_every_webhook_answers_2xx_or_a_clear_4xx_and_keeps_what_it_refuses(index, body, signed):
    source, sign = SOURCES[index]
    decision = handle(
        source,
        TokenBucket(RateLimit(1000, 1000)),
        headers=sign(body) if signed else {},
        body=body,
        received=NOW,
        privacy=PRIVACY,
    )
    assert decision.status in {200, 202, 400, 401}
    if decision.status >= 400:
        assert decision.body["error"] and not decision.mentions
    if decision.status == 400:
        assert decision.dead_letter  # a signed but unusable body is kept
    if not signed:
        assert decision.status == 401


@FUZZ
@given(st.binary(max_size=400) | st.text(max_size=400).map(str.encode))
def test_any_bytes_as_a_feed_are_entries_or_a_fetch_error(body):
    try:
        items, _warning = parse_feed(body, source="feed", received=NOW)
    except FetchError as exc:
        assert str(exc)
        return
    for item in items:
        _accept_or_explain(item)


@FUZZ
@given(
    st.sampled_from(
        [
            lambda e: status_to_mention(e, source="mastodon"),
            lambda e: _store_entry(app_store_review, e),
            lambda e: _store_entry(google_play_review, e),
            ColumnMapping.model_validate(
                {"columns": {"text": "body", "rating": "id", "event_time": "created_at"}}
            ).apply,
        ]
    ),
    shaped,
)
def test_store_mastodon_and_mapped_entries_become_mentions_or_reasons(read, entry):
    _accept_or_explain(read(entry))


def _store_entry(reader, entry):
    from streams.sources import InvalidPayload

    try:
        return reader(entry, source="store", product=None)
    except InvalidPayload as exc:
        return Unusable(str(exc), entry)


def _accept_or_explain(item) -> None:
    result = validate_one(item, default_source="fuzz", now=NOW, privacy=PRIVACY)
    assert isinstance(result, MentionIn) or (isinstance(result, str) and result)
