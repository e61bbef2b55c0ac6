"""The queries behind the incident pages, the overview and the live stream, and the actions a
responder takes from the web, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta
from functools import cache

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select

from detectors.config import DetectorSettings
from detectors.feedback import threshold_history
from detectors.sentiment.scorer import CustomerServiceScorer, build_scorer
from monitor import audit
from monitor.incidents.actions import ActionError, act
from monitor.incidents.alerts import render_alert, why_it_fired
from monitor.incidents.live import changed_incidents, read_state, ticked
from monitor.incidents.overview import UnknownSeries, series_history, series_keys
from monitor.incidents.service import correlate, get_detail
from monitor.incidents.views import incident_page, list_summaries
from monitor.settings import shipped_config_dir
from monitor.storage.models import DetectorFeedback, Incident
from playbooks.incident_timeline import incident_page_with_messages
from streams.ingest import score_batch, store_batch
from tests.playbooks.test_explain import sent_to_vip
from tests.unit.factories import STEP, T0, WINDOW, add_anomaly, mention, store_windows

NOW = T0 + timedelta(hours=2)
SETTINGS = DetectorSettings()
OUTAGE = "Is the site down? Total outage again, can't log in"


@cache
def shipped_scorer() -> CustomerServiceScorer:
    return build_scorer(shipped_config_dir())


def outage_incident(engine: Engine, *, tag: str = "o", at=T0) -> int:
    """An incident opened by the real correlator, quoting one angry mention scored by the
    shipped scorer (which names the words that drove its label)."""
    scored = score_batch([mention(f"{tag}-1", text=OUTAGE, at=at)], shipped_scorer())
    stored = store_batch(engine, scored, window_seconds=WINDOW, now=at + timedelta(hours=1))
    add_anomaly(
        engine,
        f"anomaly-{tag}",
        severity="critical",
        start=at,
        example_mention_ids=sorted(stored.new_mention_ids),
    )
    change = correlate(
        engine, anomaly_id=f"anomaly-{tag}", merge_gap=timedelta(minutes=30), now=at + 2 * STEP
    )
    assert change is not None and change.change == "opened"
    return change.incident_id


def test_an_empty_database_shows_empty_pages(engine):
    assert list_summaries(engine) == []
    assert incident_page(engine, incident_id=1) is None
    assert series_keys(engine) == []
    history = series_history(engine, series="global", range_name="hour", now=NOW)
    assert len(history.points) == 60 and all(p.n == 0 for p in history.points)
    assert history.points[0].negative_share is None
    with pytest.raises(UnknownSeries):
        series_history(engine, series="source:nowhere", range_name="day", now=NOW)
    state = read_state(engine)
    assert state.incidents == {} and state.closed_through is None


def test_the_list_and_the_page_speak_the_alert_s_words(engine):
    incident_id = outage_incident(engine)
    detail = get_detail(engine, incident_id=incident_id)
    assert detail is not None
    alert = render_alert(detail).text

    (summary,) = list_summaries(engine)
    assert summary.id == incident_id and summary.severity == "critical"
    assert summary.why and all(line in alert for line in summary.why)
    assert "58 mentions vs 11.2 expected" in summary.why[0]

    page = incident_page(engine, incident_id=incident_id)
    assert page is not None and page.alert_text == alert
    (chart,) = page.charts
    assert chart.series == "global"
    (point,) = [p for p in chart.points if p.anomalous]
    assert point.start == T0 and point.anomalous == ["volume"] and point.n == 1
    assert chart.anomalies[0].lower == 4.0 and chart.anomalies[0].upper == 20.0
    (example,) = page.examples
    assert example.text == OUTAGE and example.label == "negative"
    assert example.drivers == ["site down", "outage", "can't log in"]
    assert [e.kind for e in page.timeline] == ["detected", "opened"]
    assert page.as_json()["charts"][0]["points"][0]["start"].startswith("2026-01-05T")


def test_web_actions_are_the_slack_actions_and_are_audited(engine):
    incident_id = outage_incident(engine)
    before = read_state(engine)

    done = act(engine, incident_id=incident_id, action="ack", who="ana", settings=SETTINGS, now=NOW)
    assert done.first and done.detail["acknowledged_by"] == "ana"
    again = act(engine, incident_id=incident_id, action="ack", who="bo", settings=SETTINGS, now=NOW)
    assert not again.first and again.detail["acknowledged_by"] == "ana"
    after_ack = read_state(engine)
    assert [m.id for m in changed_incidents(before, after_ack)] == [incident_id]
    assert not ticked(before, after_ack)

    later = NOW + timedelta(minutes=5)
    act(
        engine,
        incident_id=incident_id,
        action="false-alarm",
        who="ana",
        settings=SETTINGS,
        now=later,
    )
    with Session(engine) as session:
        (feedback,) = session.exec(select(DetectorFeedback)).all()
    assert (feedback.verdict, feedback.given_by) == ("false-alarm", "ana")
    resolved = act(
        engine,
        incident_id=incident_id,
        action="resolve",
        who="bo",
        settings=SETTINGS,
        now=later + STEP,
    )
    assert resolved.first
    with Session(engine) as session:
        incident = session.get(Incident, incident_id)
        assert incident is not None and incident.status == "resolved"

    rows = audit.entries(engine, subject_prefix=f"incident:{incident_id}")
    assert [(r.actor, r.action) for r in rows] == [
        ("ana", "acknowledge"),
        ("bo", "acknowledge"),
        ("ana", "feedback"),
        ("bo", "resolve"),
    ]
    page = incident_page(engine, incident_id=incident_id)
    assert page is not None
    assert [(e.kind, e.by) for e in page.timeline][2:] == [
        ("acknowledged", "ana"),
        ("acknowledged", "bo"),
        ("feedback", "ana"),
        ("resolved", "bo"),
    ]
    assert page.summary.status == "resolved" and page.summary.acknowledged_by == "ana"

    for action, incident, status in (("ack", 999, 404), ("shout", incident_id, 404)):
        with pytest.raises(ActionError) as refused:
            act(engine, incident_id=incident, action=action, who="x", settings=SETTINGS, now=NOW)
        assert refused.value.status == status


def test_the_timeline_shows_approvals_and_sends(engine):
    _, incident_id, _ = sent_to_vip(engine)
    page = incident_page_with_messages(engine, incident_id=incident_id)
    assert page is not None
    kinds = [e.kind for e in page.timeline]
    assert "approved" in kinds and "sent" in kinds
    approved = next(e for e in page.timeline if e.kind == "approved")
    assert approved.by == "web:ana" and "outage-email (email, vip, en)" in approved.text
    sent = next(e for e in page.timeline if e.kind == "sent")
    assert sent.text.startswith("1 message sent: outage-email (email, vip, en)")


def test_the_overview_sums_windows_into_buckets(engine):
    # Ten windows from T0: 10 mentions each, 3 of them angry.
    store_windows(engine, [(10, 3)] * 10)
    keys = series_keys(engine)
    assert keys[0] == "global" and "source:tickets" in keys
    hour = series_history(engine, series="source:tickets", range_name="hour", now=NOW)
    # The data is older than the hour before now: the range ends at its newest window.
    assert hour.end == T0 + timedelta(minutes=10)
    busy = [p for p in hour.points if p.n]
    assert len(busy) == 10 and busy[0].negative_share == pytest.approx(0.3)
    assert busy[0].mean_sentiment is not None and busy[0].mean_sentiment < 0
    day = series_history(engine, series="global", range_name="day", now=NOW)
    assert day.bucket_seconds == 600 and sum(p.n for p in day.points) == 100
    assert len(series_history(engine, series="global", range_name="week", now=NOW).points) >= 168


def test_the_list_puts_open_incidents_first_in_the_alert_s_words(engine):
    first = outage_incident(engine, tag="a")
    act(engine, incident_id=first, action="resolve", who="bo", settings=SETTINGS, now=NOW)
    third = outage_incident(engine, tag="c", at=T0 + timedelta(days=1))
    act(engine, incident_id=third, action="resolve", who="bo", settings=SETTINGS, now=NOW)
    # Opened last, so the correlator does not resolve it as stale when another one opens.
    second = outage_incident(engine, tag="b", at=T0 + timedelta(days=2))

    summaries = list_summaries(engine)
    assert [(s.id, s.status) for s in summaries] == [
        (second, "open"),
        (third, "resolved"),
        (first, "resolved"),
    ]
    for summary in summaries:
        detail = get_detail(engine, incident_id=summary.id)
        assert detail is not None and summary.why == why_it_fired(detail)
    assert [s.id for s in list_summaries(engine, limit=1)] == [second, third]


def test_pressing_false_alarm_twice_moves_the_thresholds_once(engine):
    # One person's verdict on one incident counts once from the web (a double click, a second
    # press on a slow page): each false alarm makes the series need ten times rarer windows.
    incident_id = outage_incident(engine)
    first = act(
        engine, incident_id=incident_id, action="false-alarm", who="web:ana", settings=SETTINGS,
        now=NOW,
    )  # fmt: skip
    assert first.first and first.detail["thresholds_moved"]
    again = act(
        engine, incident_id=incident_id, action="false-alarm", who="web:ana", settings=SETTINGS,
        now=NOW + STEP,
    )  # fmt: skip
    assert not again.first and again.detail["thresholds_moved"] == []
    assert again.as_json()["already"] is True
    with Session(engine) as session:
        assert len(session.exec(select(DetectorFeedback)).all()) == 1
    moved = [c.new_score for c in threshold_history(engine)]
    assert moved == [SETTINGS.alert_score + 1.0]
    # Someone else's verdict still counts, as in Slack and the CLI.
    other = act(
        engine, incident_id=incident_id, action="false-alarm", who="web:bo", settings=SETTINGS,
        now=NOW + 2 * STEP,
    )  # fmt: skip
    assert other.first and other.detail["thresholds_moved"]
