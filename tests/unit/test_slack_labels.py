"""Posting the labelling queue to Slack through the real AsyncWebClient and the local fake
Slack: what the message holds, the cap, and a post Slack does not take is withdrawn."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import timedelta

from pydantic import SecretStr

from detectors.sentiment.label_queue import QueueSettings, offered_today, pending
from monitor.incidents.slack_labels import post_from_queue
from streams.ingest import store_batch
from tests.unit.factories import LATER, WINDOW, mention, scored

NOW = LATER + timedelta(hours=1)
TEXTS = {
    "Thanks for the two-hour delay and a room that smells": 0.38,
    "The parcel says delivered but it is not here": 0.41,
    "Great people but the service needs to change": 0.45,
}


def post(engine, fake_slack, settings: QueueSettings) -> int:
    return asyncio.run(
        post_from_queue(
            engine,
            token=SecretStr("xoxb-test-token"),
            channel="#crisis",
            settings=settings,
            now=NOW,
            base_url=fake_slack.url,
        )
    )


def test_posts_within_the_cap_and_withdraws_what_slack_refused(engine, fake_slack):
    items = [
        replace(item, confidence=TEXTS[item.mention.text])
        for item in scored(mention(f"p{i}", text=t) for i, t in enumerate(TEXTS))
    ]
    store_batch(engine, items, window_seconds=WINDOW, now=LATER)
    settings = QueueSettings(daily_cap=2, slack_batch=5)

    fake_slack.fail_next = [429, 429, 429]  # rate-limited: nothing posted, nothing counted
    assert post(engine, fake_slack, settings) == 0
    assert fake_slack.posts == [] and offered_today(engine, now=NOW) == 0

    fake_slack.fail_next = []
    assert post(engine, fake_slack, settings) == 2  # the cap, not the batch
    message = fake_slack.posts[0]
    assert message["channel"] == "#crisis"
    sections = [b["text"]["text"] for b in message["blocks"] if b["type"] == "section"]
    assert sections[0].startswith(">Thanks for the two-hour delay and a room that smells\n")
    assert sections[0].endswith("_least sure; scored " + items[0].label + " (0.38)_")
    waiting = pending(engine, settings=settings, now=NOW)
    assert [w.mention_id for w in waiting] == [i.mention.mention_id for i in items[:2]]
    assert post(engine, fake_slack, settings) == 0 and len(fake_slack.posts) == 1


def test_a_late_click_shows_when_the_first_label_was_given(engine, fake_slack):
    # Ana labels at NOW; Bo clicks an hour later: the message must keep Ana's time, not Bo's.
    from monitor.incidents.slack_labels import answer_label_click, parse_label_click

    items = list(scored([mention("late", text="The parcel says delivered but it is not here")]))
    store_batch(engine, items, window_seconds=WINDOW, now=LATER)
    assert post(engine, fake_slack, QueueSettings(slack_batch=1)) == 1
    message = fake_slack.posts[0]
    mention_id = items[0].mention.mention_id

    def click(user: str, at) -> None:  # type: ignore[no-untyped-def]
        payload = {
            "type": "block_actions",
            "user": {"id": user},
            "container": {"channel_id": "C1", "message_ts": "1.2"},
            "message": {"text": message["text"], "blocks": message["blocks"]},
            "actions": [{"action_id": "sentiment_label:negative", "value": mention_id}],
        }
        found = parse_label_click(payload)
        assert found is not None
        asyncio.run(
            answer_label_click(
                engine,
                found,
                token=SecretStr("xoxb-test-token"),
                allowed={"U-ana", "U-bo"},
                now=at,
                base_url=fake_slack.url,
            )
        )

    click("U-ana", NOW)
    click("U-bo", NOW + timedelta(hours=1))
    shown = [
        e["text"]
        for update in fake_slack.updates
        for b in update["blocks"]
        if b["type"] == "context"
        for e in b["elements"]
        if "Labelled" in e["text"]
    ]
    expected = f"Labelled *negative* by <@U-ana> at {NOW:%H:%M} UTC"
    assert shown == [expected, expected]
    assert "already labelled *negative* by <@U-ana>" in fake_slack.ephemerals[0]["text"]
