"""Any header text, as aiohttp hands it over (bytes that are not UTF-8 arrive as surrogate
escapes), gets every webhook source a clear 401, never an exception."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.privacy import Privacy
from streams.sources import RateLimit
from streams.sources.freshdesk import FreshdeskSource
from streams.sources.intercom import IntercomSource
from streams.sources.reviews import ReviewWebhookSource
from streams.sources.social import SocialWebhookSource
from streams.sources.webhook import TokenBucket, handle
from streams.sources.zendesk import ZendeskSource

NOW = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)
SECRET = b"fuzz-secret-0123456789"
SOURCES = [
    ZendeskSource("zendesk", SECRET),
    FreshdeskSource("freshdesk", SECRET),
    IntercomSource("intercom", SECRET),
    ReviewWebhookSource("reviews", SECRET),
    SocialWebhookSource("social", SECRET),
]
NAMES = [
    "X-Zendesk-Webhook-Signature",
    "X-Zendesk-Webhook-Signature-Timestamp",
    "X-Crisismon-Secret",
    "Authorization",
    "X-Hub-Signature",
    "X-Crisismon-Signature",
]
# Every character, lone surrogates included; and what aiohttp makes of bytes that are not UTF-8.
header_text = st.text(st.characters(exclude_categories=()), max_size=40) | st.binary(
    max_size=40
).map(lambda raw: raw.decode("utf-8", "surrogateescape"))
EDGE = ["²", "9" * 5000, "9999-12-31T23:59:59-01:00", "0001-01-01T00:00:00+01:00", "Basic é"]


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from(SOURCES),
    st.dictionaries(st.sampled_from(NAMES), header_text | st.sampled_from(EDGE), max_size=4),
    st.binary(max_size=50),
)
def test_any_header_text_is_a_clear_401_for_every_source(source, headers, body):
    decision = handle(
        source,
        TokenBucket(RateLimit(10_000, 10_000)),
        headers=headers,
        body=body,
        received=NOW,
        privacy=Privacy.from_key("fuzz-test-key-0123456789"),
    )
    assert decision.status == 401 and decision.body["error"]
