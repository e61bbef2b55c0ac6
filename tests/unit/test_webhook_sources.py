"""Ticket, review and social webhooks: each vendor's signature, and the mapping of real payloads."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from monitor.privacy import Privacy
from streams.mentions import parse_mention
from streams.sources import RateLimit
from streams.sources.freshdesk import FreshdeskSource
from streams.sources.intercom import IntercomSource
from streams.sources.reviews import ReviewWebhookSource
from streams.sources.social import SocialWebhookSource
from streams.sources.webhook import TokenBucket, handle
from streams.sources.zendesk import ZendeskSource
from tests.vendors import (
    crisismon_headers,
    fixture,
    freshdesk_basic_auth,
    freshdesk_headers,
    intercom_headers,
    zendesk_headers,
)

SECRET = "whsec-unit-0123456789"
NOW = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)
PRIVACY = Privacy.from_key("unit-test-key-0123456789")

ZENDESK = ZendeskSource("zendesk", SECRET.encode())
FRESHDESK = FreshdeskSource("freshdesk", SECRET.encode())
INTERCOM = IntercomSource("intercom", SECRET.encode())
REVIEWS = ReviewWebhookSource("reviews", SECRET.encode())
SOCIAL = SocialWebhookSource("social", SECRET.encode())


def decide(source, headers, body, *, bucket=None, now=NOW):
    bucket = bucket or TokenBucket(RateLimit(1000, 1000))
    return handle(source, bucket, headers=headers, body=body, received=now, privacy=PRIVACY)


def test_zendesk_ticket_maps_subject_body_priority_tags_and_a_pseudonymous_requester():
    body = fixture("zendesk", "ticket_create_update")
    decision = decide(ZENDESK, zendesk_headers(SECRET, body, NOW), body)
    assert decision.status == 202
    (mention,) = decision.mentions
    assert mention.source == "zendesk" and mention.external_id == "7"
    assert mention.text == (
        "Hello world — ---------------------------------------------- Apoorva Pendse, "
        "Feb 3, 2025, 19:59 I am writing this to create a ticket."
    )
    assert mention.priority == "Normal"
    assert mention.tags == ("change_address", "help", "order")
    assert mention.event_time.date().isoformat() == "2025-02-03"  # "February 3, 2025"
    assert mention.author == PRIVACY.pseudonymiser.pseudonym("author", "testerzulip")
    assert mention.url == "https://asdf1640.zendesk.com/agent/tickets/7"


def test_zendesk_message_without_a_ticket_id_is_identified_by_its_content():
    body = fixture("zendesk", "ticket_user_provided_message")
    (mention,) = decide(ZENDESK, zendesk_headers(SECRET, body, NOW), body).mentions
    assert mention.external_id.startswith("content:")
    assert mention.text.startswith("### Ticket #7 **Status:** Open")


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        ({}, "missing X-Zendesk-Webhook-Signature"),
        (zendesk_headers("another-secret-123", b"{}", NOW), "does not match"),
        (zendesk_headers(SECRET, b"{}", NOW - timedelta(minutes=6)), "more than 300s from now"),
    ],
)
def test_zendesk_refuses_unsigned_wrongly_signed_and_replayed_requests(headers, reason):
    decision = decide(ZENDESK, headers, b"{}")
    assert decision.status == 401 and reason in decision.body["error"]
    assert decision.dead_letter is None and decision.mentions == ()


def test_zendesk_signature_covers_the_body():
    body = fixture("zendesk", "ticket_create_update")
    tampered = body.replace(b"Hello world", b"Hello w0rld")
    assert decide(ZENDESK, zendesk_headers(SECRET, body, NOW), tampered).status == 401


@pytest.mark.parametrize(
    "name", ["ticket_created", "status_changed", "priority_changed", "public_note", "private_note"]
)
def test_every_freshdesk_event_about_a_ticket_is_that_ticket_once(name):
    body = fixture("freshdesk", name)
    (mention,) = decide(FRESHDESK, freshdesk_headers(SECRET), body).mentions
    assert (
        mention.mention_id
        == parse_mention(
            {"source": "freshdesk", "external_id": "11", "text": "x", "event_time": 0}
        ).mention_id
    )
    assert mention.text.startswith("Test ticket subject")
    assert mention.author == PRIVACY.pseudonymiser.pseudonym("author", "requester-bob@example.com")


def test_freshdesk_html_description_becomes_text_and_the_secret_may_come_as_basic_auth():
    body = fixture("freshdesk", "inline_images")
    (mention,) = decide(FRESHDESK, freshdesk_basic_auth(SECRET), body).mentions
    assert mention.text == (
        "Not enough ☃ guinea pigs — There are too many cat pictures on the internet ☃. "
        "We need more guinea pigs. Exhibit 1:"
    )
    assert mention.priority == "Urgent"
    assert decide(FRESHDESK, freshdesk_headers("wrong-secret-123"), body).status == 401
    assert decide(FRESHDESK, {}, body).status == 401


def test_intercom_new_conversation_and_customer_reply_are_two_mentions():
    created = fixture("intercom", "conversation_user_created")
    replied = fixture("intercom", "conversation_user_replied")
    (first,) = decide(INTERCOM, intercom_headers(SECRET, created), created).mentions
    (reply,) = decide(INTERCOM, intercom_headers(SECRET, replied), replied).mentions
    assert (first.external_id, first.text) == ("21321941764", "Hello everyone!")
    assert reply.external_id == "21322009097:2824391734"
    assert reply.text == "Well, I need some help getting access to a developer account."
    assert reply.event_time == datetime.fromtimestamp(1553291307, tz=UTC)
    assert reply.customer_id == PRIVACY.pseudonymiser.pseudonym(
        "customer_id", "75067020-1204-495c-8edc-abb7d88bdd43"
    )
    assert reply.url == "https://app.intercom.io/a/apps/i6wc9ipe/conversations/21322009097"


@pytest.mark.parametrize("name", ["ping", "conversation_admin_replied"])
def test_intercom_pings_and_admin_replies_are_acknowledged_but_not_mentions(name):
    body = fixture("intercom", name)
    decision = decide(INTERCOM, intercom_headers(SECRET, body), body)
    assert decision.status == 200 and decision.mentions == ()
    assert decision.body["accepted"] == 0 and decision.body["ignored"]


def test_intercom_signature_is_sha1_of_the_body_with_the_client_secret():
    body = fixture("intercom", "ping")
    assert decide(INTERCOM, intercom_headers("other-secret-1234", body), body).status == 401
    wrong_algorithm = {"X-Hub-Signature": crisismon_headers(SECRET, body)["X-Crisismon-Signature"]}
    assert decide(INTERCOM, wrong_algorithm, body).status == 401


def test_review_keeps_the_rating_as_stars():
    body = json.dumps(
        [
            {"id": "r1", "title": "Crashes", "text": "on launch", "rating": 1, "author": "kim"},
            {"id": "r2", "text": "fine", "rating": 8, "max_rating": 10},
        ]
    ).encode()
    decision = decide(REVIEWS, crisismon_headers(SECRET, body), body)
    assert decision.status == 202
    assert [(m.text, m.rating) for m in decision.mentions] == [
        ("Crashes — on launch", 1.0),
        ("fine", pytest.approx(1 + 7 * 4 / 9)),
    ]


@pytest.mark.parametrize(
    ("item", "reason"),
    [
        ({"id": "r1", "text": "no stars"}, "missing rating"),
        ({"id": "r1", "text": "x", "rating": 6}, "outside 1 to 5"),
        ({"id": "r1", "text": "x", "rating": "5"}, "rating must be a number"),
        ({"text": "x", "rating": 5}, "missing id"),
    ],
)
def test_unusable_review_is_a_400_with_the_reason_and_a_dead_letter(item, reason):
    body = json.dumps(item).encode()
    decision = decide(REVIEWS, crisismon_headers(SECRET, body), body)
    assert decision.status == 400 and reason in decision.body["error"]
    assert decision.dead_letter is not None and reason in decision.dead_letter


def test_social_post_keeps_network_and_is_unique_per_network():
    body = json.dumps(
        [
            {"id": 1, "text": "Is checkout down?", "network": "Bluesky", "author": "@ana"},
            {"id": 1, "text": "Is checkout down?", "network": "reddit", "url": "https://r.x/1"},
        ]
    ).encode()
    bsky, reddit = decide(SOCIAL, crisismon_headers(SECRET, body), body).mentions
    assert (bsky.network, reddit.network) == ("bluesky", "reddit")
    assert bsky.mention_id != reddit.mention_id
    assert bsky.author is not None and bsky.author.startswith("psn:")


def test_body_over_the_limit_is_413_before_anything_else():
    small = ReviewWebhookSource("reviews", SECRET.encode(), max_body_bytes=10)
    assert decide(small, {}, b"x" * 11).status == 413


def test_rate_limit_answers_429_with_retry_after_and_refills():
    clock = [0.0]
    bucket = TokenBucket(RateLimit(per_second=2, burst=2), clock=lambda: clock[0])
    body = fixture("intercom", "ping")
    headers = intercom_headers(SECRET, body)
    statuses = [decide(INTERCOM, headers, body, bucket=bucket).status for _ in range(3)]
    assert statuses == [200, 200, 429]
    limited = decide(INTERCOM, headers, body, bucket=bucket)
    assert limited.headers["Retry-After"] == "1"
    clock[0] = 0.5
    assert decide(INTERCOM, headers, body, bucket=bucket).status == 200


def test_malformed_json_from_a_verified_sender_is_a_400_and_a_dead_letter():
    body = b'{"ticket_id": 7, "ticket_title": '
    decision = decide(ZENDESK, zendesk_headers(SECRET, body, NOW), body)
    assert decision.status == 400 and "not valid JSON" in decision.body["error"]
    assert decision.dead_letter is not None
