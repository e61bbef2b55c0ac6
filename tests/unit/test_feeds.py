"""RSS and Atom feeds fetched from a local server: parsing, conditional GET, limits, health."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import aiohttp
import pytest

from monitor.privacy import Privacy
from streams.mentions import parse_mention
from streams.replay import Unusable
from streams.sources.feeds import FeedSource
from streams.sources.polling import (
    FetchError,
    PollState,
    due,
    health_rows,
    load_state,
    record_failure,
    record_success,
)
from tests.fake_servers import feed_routes, serve

NOW = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)
PRIVACY = Privacy.from_key("unit-test-key-0123456789")


@pytest.fixture(scope="module")
def feeds():
    with serve(feed_routes) as (url, recorded):
        yield url, recorded


async def poll(source: FeedSource, state: PollState = PollState()):
    async with aiohttp.ClientSession() as http:
        return await source.poll(http, state, now=NOW)


async def test_rss_entries_become_mentions_with_guid_time_link_and_clean_text(feeds):
    url, _ = feeds
    result = await poll(FeedSource("news", f"{url}/feeds/news_synthetic.rss"))
    first, second = (parse_mention(item, privacy=PRIVACY) for item in result.items)
    assert first.external_id == "wire-2026-0105-0931"
    assert first.text == (
        "Example Cloud outage leaves shoppers unable to pay — Customers of Example Cloud "
        "reported failed card payments on Monday & long waits for support. Call [PHONE] for "
        "the press office."
    )
    assert first.event_time == datetime(2026, 1, 5, 9, 31, tzinfo=UTC)
    assert first.url == "https://news.example.com/tech/example-cloud-outage"
    assert first.tags == ("outages",) and first.lang == "en-gb"
    # No GUID: the id is a hash of link and title, the same on every poll.
    assert second.external_id.startswith("lt:")
    assert second.text.startswith("Café chain adopts Example Cloud’s new checkout")
    assert second.event_time == datetime(2026, 1, 4, 15, 0, tzinfo=UTC)


async def test_atom_with_cdata_and_non_ascii_and_the_status_page_history(feeds):
    url, _ = feeds
    cdata = await poll(FeedSource("status-de", f"{url}/feeds/updates_cdata.atom"))
    (entry,) = (parse_mention(item) for item in cdata.items)
    assert entry.text == (
        "Störung: Zahlungen schlagen fehl — Seit 08:00 Uhr schlagen Kartenzahlungen fehl. "
        "Wir arbeiten daran."
    )
    history = await poll(FeedSource("status", f"{url}/feeds/statuspage_history_synthetic.atom"))
    assert [item["external_id"] for item in history.items] == [
        "tag:status.example.com,2005:Incident/1003",
        "tag:status.example.com,2005:Incident/1002",
        "tag:status.example.com,2005:Incident/1001",
    ]


async def test_second_poll_is_a_conditional_get_answered_304(feeds):
    url, recorded = feeds
    source = FeedSource("news", f"{url}/feeds/news_synthetic.rss")
    first = await poll(source)
    assert first.state.etag and first.state.last_modified == "Mon, 05 Jan 2026 10:00:00 GMT"
    again = await poll(source, first.state)
    assert again.not_modified and again.items == []
    sent = recorded.to("/feeds/news_synthetic.rss")[-1]["headers"]
    assert sent["If-None-Match"] == first.state.etag
    assert sent["If-Modified-Since"] == first.state.last_modified


async def test_html_page_instead_of_a_feed_is_an_error_that_keeps_the_body(feeds):
    url, _ = feeds
    with pytest.raises(FetchError, match="not an RSS or Atom feed") as caught:
        await poll(FeedSource("moved", f"{url}/feeds/malformed_html_redirect_page.rss"))
    assert caught.value.payload is not None and b"Document Moved" in caught.value.payload


async def test_truncated_feed_is_read_with_a_warning_and_its_empty_entry_is_unusable(feeds):
    url, _ = feeds
    result = await poll(FeedSource("cut", f"{url}/feeds/malformed_incomplete_cdata.rss"))
    assert result.warning is not None and result.warning.startswith("malformed feed")
    (item,) = result.items
    assert isinstance(item, Unusable) and item.reason == "feed entry has no title or text"


@pytest.mark.parametrize(
    ("path", "source_kwargs", "reason"),
    [
        ("/slow", {"timeout_seconds": 0.5}, "no answer from"),
        ("/huge", {"max_body_bytes": 1024 * 1024}, "over the 1048576 byte limit"),
        ("/broken", {}, "HTTP 500"),
        ("/feeds/absent.rss", {}, "HTTP 404"),
    ],
)
async def test_slow_huge_and_failing_feeds_are_errors_with_a_reason(
    feeds, path, source_kwargs, reason
):
    url, _ = feeds
    with pytest.raises(FetchError, match=reason):
        await poll(FeedSource("bad", url + path, **source_kwargs))


async def test_unreachable_host_is_an_error_not_a_crash():
    with pytest.raises(FetchError, match="cannot fetch"):
        await poll(FeedSource("gone", "http://127.0.0.1:9/feed.xml", timeout_seconds=2))


def test_health_records_successes_failures_and_backs_off_with_jitter(engine):
    source = FeedSource("news", "http://x.example/feed", interval_seconds=60)
    assert due([source], engine, now=NOW) == [source]  # never polled: due now
    record_success(engine, source, now=NOW, state=PollState(etag='"e1"'), new_items=3, warning=None)
    assert due([source], engine, now=NOW + timedelta(seconds=59)) == []
    assert due([source], engine, now=NOW + timedelta(seconds=60)) == [source]
    assert load_state(engine, "news").etag == '"e1"'

    rng = random.Random(7)
    delays = []
    for failures in range(1, 5):
        assert record_failure(engine, source, now=NOW, reason="HTTP 500", rng=rng) == failures
        delays.append((health_rows(engine)["news"].next_attempt_at - NOW).total_seconds())
    # Each delay is between half and all of interval × 2^failures.
    assert [60 * 2**f / 2 <= d <= 60 * 2**f for f, d in enumerate(delays, 1)] == [True] * 4
    row = health_rows(engine)["news"]
    assert (row.consecutive_failures, row.last_error, row.items_seen) == (4, "HTTP 500", 3)
    assert row.etag == '"e1"'  # validators survive failures
    record_success(engine, source, now=NOW, state=PollState(), new_items=2, warning=None)
    assert health_rows(engine)["news"].consecutive_failures == 0
    assert health_rows(engine)["news"].items_seen == 5
