"""The alert a support lead reads, rendered from real incident rows."""

from __future__ import annotations

from datetime import timedelta

from detectors.closing import SeriesDetectors
from detectors.config import DetectionConfig, DetectorSettings
from detectors.count_spike import NEGATIVE_SHARE, VOLUME, Finding
from detectors.explain import describe
from monitor.incidents.alerts import render_alert
from monitor.incidents.service import IncidentDetail, correlate, get_detail
from tests.unit.factories import (
    LATER,
    NEGATIVE,
    STEP,
    T0,
    add_anomaly,
    mention,
    store,
    store_windows,
)

GAP = timedelta(minutes=30)
VOLUME_FINDING = Finding(VOLUME, 58, 11.2, 4, 20, 9.1, 58)
SHARE_FINDING = Finding(NEGATIVE_SHARE, 0.6, 0.1, 0.0, 0.24, 7.3, 50)


def incident_of(engine, *anomaly_ids: str) -> IncidentDetail:
    changes = [correlate(engine, anomaly_id=a, merge_gap=GAP, now=LATER) for a in anomaly_ids]
    assert changes[0] is not None
    detail = get_detail(engine, incident_id=changes[0].incident_id)
    assert detail is not None
    return detail


def mrkdwn(blocks: list[dict]) -> str:
    """All the text Slack will parse as mrkdwn."""
    texts = [b["text"]["text"] for b in blocks if b.get("text", {}).get("type") == "mrkdwn"]
    for block in blocks:
        texts += [e["text"] for e in block.get("elements", []) if e.get("type") == "mrkdwn"]
    return "\n".join(texts)


def test_alert_says_what_happened_how_unusual_it_is_and_quotes_a_customer(engine):
    angry = mention("t-1", at=T0 + timedelta(seconds=12), source="zendesk", text=NEGATIVE)
    store(engine, [angry])
    add_anomaly(
        engine,
        "a1",
        series="global",
        start=T0,
        severity="critical",
        score=VOLUME_FINDING.score,
        summary=describe(VOLUME_FINDING),
        example_mention_ids=[angry.mention_id],
    )
    detail = incident_of(engine, "a1")

    alert = render_alert(detail)

    assert "global" in alert.text
    assert "58 mentions vs 11.2 expected (usual range 4–20)" in alert.text
    assert "about 1 in 1.3 billion windows" in alert.text
    assert f"“{NEGATIVE}” (zendesk, 10:00 UTC)" in alert.text
    assert f"Incident #{detail.incident.id}" in alert.text
    assert "2026-01-05 10:00–10:01 UTC" in alert.text
    header = alert.blocks[0]
    assert header["type"] == "header"
    assert header["text"] == {
        "type": "plain_text",
        "text": "Mention volume spike on global [CRITICAL]",
    }
    assert NEGATIVE in mrkdwn(alert.blocks)
    assert "58 mentions vs 11.2 expected" in mrkdwn(alert.blocks)


def test_alert_names_every_series_of_a_merged_incident(engine):
    add_anomaly(engine, "a1", series="global", summary=describe(VOLUME_FINDING), score=9.1)
    add_anomaly(
        engine,
        "a2",
        series="source:zendesk",
        metric=NEGATIVE_SHARE,
        start=T0 + STEP,
        summary=describe(SHARE_FINDING),
        score=7.3,
    )
    alert = render_alert(incident_of(engine, "a1", "a2"))
    assert "series: global, source:zendesk" in alert.text
    assert "• global · mention volume spike: 58 mentions vs 11.2 expected" in alert.text
    assert "• source:zendesk · negative mentions spike: 60% negative (30 of 50 mentions)" in (
        alert.text
    )
    assert "Example mentions" not in alert.text  # none were stored: no empty section


def test_alert_counts_further_windows_of_a_series_instead_of_listing_them(engine):
    for k in range(4):
        add_anomaly(engine, f"a{k}", start=T0 + k * STEP, score=6.0 + k)
    alert = render_alert(incident_of(engine, "a0", "a1", "a2", "a3"))
    assert alert.text.count("• global ·") == 1
    assert "window 10:03 UTC" in alert.text  # the strongest window tells the story
    assert "• plus 3 more anomalous windows in this incident" in alert.text


def test_quotes_are_distinct_at_most_three_and_shortened(engine):
    same = [mention(f"same-{k}", text=NEGATIVE) for k in range(3)]
    others = [
        mention("long", text="Still down. " * 40),
        mention("fourth", text="Also broken for me"),
        mention("fifth", text="Cannot log in either"),
    ]
    store(engine, [*same, *others])
    add_anomaly(engine, "a1", example_mention_ids=[m.mention_id for m in [*same, *others]])
    alert = render_alert(incident_of(engine, "a1"))
    quotes = [line for line in alert.text.splitlines() if line.startswith("> ")]
    assert len(quotes) == 3
    assert sum(NEGATIVE in q for q in quotes) == 1
    assert "Also broken for me" in quotes[2]
    assert "Cannot log in either" not in alert.text
    quoted_long = quotes[1].removeprefix("> “").split("”")[0]
    assert len(quoted_long) == 240 and quoted_long.endswith("…")


def test_dashboard_link_is_included_when_given(engine):
    add_anomaly(engine, "a1")
    alert = render_alert(incident_of(engine, "a1"), dashboard_url="http://127.0.0.1:6066/i/1")
    assert alert.text.endswith("Open: http://127.0.0.1:6066/i/1")


def test_customer_text_cannot_ping_the_channel_or_inject_links(engine):
    # Slack parses mrkdwn: a raw "<!channel>" notifies everyone and "<url|label>" is a link.
    # A customer's words are quoted, so &, < and > must reach Slack escaped.
    hostile = mention("h-1", text="<!channel> refund me & visit <https://evil.example|your bank>")
    store(engine, [hostile])
    add_anomaly(engine, "a1", example_mention_ids=[hostile.mention_id])
    parsed = mrkdwn(render_alert(incident_of(engine, "a1")).blocks)
    assert "<!channel>" not in parsed
    assert "<https://evil.example" not in parsed
    assert "&lt;!channel&gt; refund me &amp; visit" in parsed


def test_a_detected_spike_renders_into_an_alert_quoting_the_angriest_mentions(engine):
    baseline = [(10, 1), (12, 1), (9, 1), (11, 2), (10, 1), (8, 0)] * 2
    store_windows(engine, [*baseline, (60, 45)])
    detectors = SeriesDetectors(
        engine, DetectionConfig(detector=DetectorSettings(warmup_windows=10))
    )
    found = detectors.on_touch("global", T0, T0 + 13 * STEP, LATER, 0)
    assert found
    alert = render_alert(incident_of(engine, *(a.anomaly_id for a in found)))
    assert alert.text.startswith(":rotating_light: ")
    assert "60 mentions vs" in alert.text
    assert f"“{NEGATIVE}” (tickets, 10:12 UTC)" in alert.text
    assert alert.blocks[0]["type"] == "header"


def test_a_quoted_mention_says_which_words_made_it_negative(engine):
    from streams.ingest import score_batch, store_batch
    from tests.unit.factories import WINDOW
    from tests.unit.sentiment_helpers import shared_scorer

    sarcastic = mention("t-9", at=T0, source="zendesk", text="2 hours on hold, great")
    store_batch(engine, score_batch([sarcastic], shared_scorer()), window_seconds=WINDOW, now=LATER)
    add_anomaly(engine, "a9", series="source:zendesk", example_mention_ids=[sarcastic.mention_id])
    text = render_alert(incident_of(engine, "a9")).text
    assert '> “2 hours on hold, great” (zendesk, 10:00 UTC) · negative: "great" (sarcastic)' in text
    assert "on hold" in text.splitlines()[-1]
