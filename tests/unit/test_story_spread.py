"""When something else pages, the alert shows how far a copied story spread."""

from __future__ import annotations

from datetime import timedelta

from monitor.incidents.alerts import render_alert
from monitor.incidents.service import correlate, get_detail
from streams.mentions import MentionIn
from tests.unit.factories import LATER, NEGATIVE, T0, add_anomaly, mention, store

STORY = (
    "Example Cloud said on Tuesday that a configuration error caused an outage that left "
    "thousands of online shops unable to take card payments for nearly two hours."
)


def test_the_alert_quotes_a_copied_story_with_its_copies_and_outlets(engine):
    outlets = [f"outlet-{k}" for k in range(13)]
    # Feeds name no author: half the outlets are known only by the site their link points at.
    wire = [
        MentionIn(
            "news",
            f"w{k}",
            STORY,
            T0 + timedelta(minutes=k),
            author=who if k % 2 == 0 else None,
            url=f"https://www.{who}.example/2026/story",
        )
        for k, who in enumerate(outlets)
    ]
    wire.append(
        MentionIn(
            "news", "w-again", STORY + " Updated.", T0 + timedelta(minutes=20), author="outlet-0"
        )
    )
    angry = mention("t-1", at=T0 + timedelta(seconds=12), source="zendesk", text=NEGATIVE)
    store(engine, [angry, *wire[:5]])
    store(engine, wire[5:])
    add_anomaly(engine, "a1", example_mention_ids=[angry.mention_id, wire[0].mention_id])
    change = correlate(engine, anomaly_id="a1", merge_gap=timedelta(minutes=30), now=LATER)
    assert change is not None
    detail = get_detail(engine, incident_id=change.incident_id)
    assert detail is not None

    text = render_alert(detail).text

    assert "(news, 10:00 UTC)" in text
    assert "(copied 13 times, 13 outlets)" in text
    # The customer's own complaint was not copied and says nothing about spread.
    complaint = next(line for line in text.splitlines() if "zendesk" in line)
    assert "copied" not in complaint
