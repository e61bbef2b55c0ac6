"""The Mastodon poller against a local server speaking Mastodon's API: since_id paging."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import aiohttp

from monitor.privacy import Privacy
from streams.mentions import parse_mention
from streams.sources.mastodon import MastodonSource
from streams.sources.polling import PollState
from tests.fake_servers import FakeMastodon, serve

NOW = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)
PRIVACY = Privacy.from_key("unit-test-key-0123456789")


async def poll(source: MastodonSource, state: PollState):
    async with aiohttp.ClientSession() as http:
        return await source.poll(http, state, now=NOW)


async def test_hashtag_and_keyword_posts_are_read_then_paged_with_since_id():
    fake = FakeMastodon()
    fake.post("Checkout broken again #examplecloud", tags=("examplecloud",))
    fake.post("Lovely weather today")
    fake.post("Is Example Cloud down for anyone else?")
    with serve(fake.routes) as (url, recorded):
        source = MastodonSource(
            "mastodon", url, hashtags=("examplecloud",), keywords=("example cloud",), page_limit=5
        )
        first = await poll(source, PollState())
        texts = sorted(parse_mention(i, privacy=PRIVACY).text for i in first.items)
        assert texts == [
            "Checkout broken again #examplecloud",
            "Is Example Cloud down for anyone else?",
        ]
        cursors = json.loads(first.state.cursor)
        assert set(cursors) == {"tag:examplecloud", "public"}

        # Twelve new tagged posts: more than one page of five. One boost of an old post.
        new = [
            fake.post(f"Outage update {k} #examplecloud", tags=("examplecloud",)) for k in range(12)
        ]
        fake.boost(new[0])
        second = await poll(source, first.state)
        tag_requests = [r for r in recorded.requests if r["path"].endswith("/examplecloud")]
        assert all(r["query"]["since_id"] == cursors["tag:examplecloud"] for r in tag_requests[1:])
        assert [r["query"].get("max_id") is not None for r in tag_requests[1:]] == [
            False,
            True,
            True,
        ]
        ids = [i["external_id"] for i in second.items]
        assert sorted(ids) == sorted(s["uri"] for s in new)  # all twelve, the boost once
        assert len(ids) == len(set(ids))

        # Nothing new: nothing returned, the cursor stays.
        third = await poll(source, second.state)
        assert third.items == [] and third.state.cursor == second.state.cursor


async def test_a_status_maps_to_a_mastodon_mention_with_a_pseudonymous_author():
    fake = FakeMastodon()
    fake.post("Payments failing &amp; no reply <br>from support", tags=("outage",), acct="bo@x.y")
    with serve(fake.routes) as (url, _):
        result = await poll(MastodonSource("mastodon", url, hashtags=("outage",)), PollState())
    (mention,) = (parse_mention(i, privacy=PRIVACY) for i in result.items)
    assert mention.text == "Payments failing & no reply from support"
    assert mention.network == "mastodon" and mention.tags == ("outage",) and mention.lang == "en"
    assert mention.author == PRIVACY.pseudonymiser.pseudonym("author", "bo@x.y")
    assert mention.event_time == datetime(2026, 1, 5, 10, 0, tzinfo=UTC)
