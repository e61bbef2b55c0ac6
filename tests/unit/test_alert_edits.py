"""One alert per incident: an incident raised after its alert edits that alert (chat.update)
and threads a note under it, never a second top-level alert. Slack is the local fake reached
by the real AsyncWebClient; incidents are made by the real correlator on SQLite and PostgreSQL."""

from __future__ import annotations

import io
from datetime import timedelta

from pydantic import SecretStr
from sqlmodel import Session

from detectors.config import DetectorSettings
from detectors.feedback import record_feedback
from monitor.incidents.alerting import post_alert_once, refresh_alert
from monitor.incidents.alerts import headline_of, posted_headline, render_alert
from monitor.incidents.feedback_buttons import GIVEN_BLOCK
from monitor.incidents.notifiers.console import ConsoleNotifier
from monitor.incidents.notifiers.slack import SlackNotifier
from monitor.incidents.service import correlate, get_detail
from monitor.storage.models import Incident
from tests.unit.factories import LATER, NEGATIVE, STEP, T0, add_anomaly, mention, store

GAP = timedelta(minutes=30)
STALE = timedelta(minutes=2)


def _slack(fake_slack, token: str = "xoxb-test-token") -> SlackNotifier:
    return SlackNotifier(token=SecretStr(token), channel="#crisis", base_url=fake_slack.url)


def _merge(engine, anomaly_id: str, *, series: str, severity: str, window: int) -> str:
    """An anomaly on ``series`` correlated into the open incident; the incident's severity."""
    add_anomaly(engine, anomaly_id, series=series, severity=severity, start=T0 + window * STEP)
    change = correlate(engine, anomaly_id=anomaly_id, merge_gap=GAP, now=LATER)
    assert change is not None and change.change == "merged"
    return change.severity


def _warning_incident(engine) -> int:
    angry = mention("t-1", at=T0, text=NEGATIVE)
    store(engine, [angry])
    add_anomaly(
        engine, "a-global", severity="warning", start=T0, example_mention_ids=[angry.mention_id]
    )
    change = correlate(engine, anomaly_id="a-global", merge_gap=GAP, now=LATER)
    assert change is not None and change.severity == "warning" and change.paged_now
    return change.incident_id


def _top_level(fake_slack) -> list[dict]:
    return [p for p in fake_slack.posts if not p.get("thread_ts")]


def _replies(fake_slack) -> list[dict]:
    return [p for p in fake_slack.posts if p.get("thread_ts")]


async def test_a_raised_incident_edits_its_alert_and_threads_a_note(engine, fake_slack):
    incident = _warning_incident(engine)
    slack = _slack(fake_slack)
    ref = await post_alert_once(engine, incident_id=incident, notifier=slack, stale_after=STALE)
    assert ref is not None
    channel, _, ts = ref.rpartition("/")  # the channel as Slack answered it, and the ts
    assert channel == "#crisis" and ts
    (posted,) = _top_level(fake_slack)
    assert "[WARNING]" in posted["text"]

    # Two more sources agree a minute later: the incident is raised to critical.
    assert _merge(engine, "a-social", series="source:social", severity="warning", window=1)
    severity = _merge(engine, "a-tickets", series="source:tickets", severity="critical", window=1)
    assert severity == "critical"
    done = await refresh_alert(engine, incident_id=incident, notifier=slack)
    # Asked again (the follow-up timer, another worker), nothing more is sent.
    again = await refresh_alert(engine, incident_id=incident, notifier=slack)
    await slack.close()

    assert done.outcome == "updated" and again.outcome == "unchanged"
    assert len(_top_level(fake_slack)) == 1  # never a second alert for the same incident
    (update,) = fake_slack.updates
    assert (update["channel"], update["ts"]) == ("#crisis", ts)
    assert "[CRITICAL]" in update["text"]
    assert "series: global, source:social, source:tickets" in update["text"]
    assert update["blocks"][0]["text"]["text"].endswith("[CRITICAL]")
    (note,) = _replies(fake_slack)
    assert (note["channel"], note["thread_ts"]) == ("#crisis", ts)
    assert note["text"] == (
        "Raised to critical: Mention volume spike on source:tickets "
        "(now also on source:social, source:tickets)"
    )
    with Session(engine) as session:
        row = session.get(Incident, incident)
        assert row is not None and row.alert_text is not None
        assert "[CRITICAL]" in row.alert_text  # what Slack shows now


async def test_a_new_series_alone_edits_the_alert_without_a_note(engine, fake_slack):
    incident = _warning_incident(engine)
    slack = _slack(fake_slack)
    await post_alert_once(engine, incident_id=incident, notifier=slack, stale_after=STALE)
    assert _merge(engine, "a-topic", series="topic:login", severity="warning", window=1)
    done = await refresh_alert(engine, incident_id=incident, notifier=slack)
    await slack.close()
    assert done.outcome == "updated" and done.note is None
    assert len(fake_slack.updates) == 1 and "topic:login" in fake_slack.updates[0]["text"]
    assert _replies(fake_slack) == [] and len(_top_level(fake_slack)) == 1


async def test_a_refused_edit_is_tried_again_later(engine, fake_slack):
    incident = _warning_incident(engine)
    good = _slack(fake_slack)
    await post_alert_once(engine, incident_id=incident, notifier=good, stale_after=STALE)
    _merge(engine, "a-social", series="source:social", severity="warning", window=1)
    _merge(engine, "a-tickets", series="source:tickets", severity="critical", window=1)
    revoked = _slack(fake_slack, token="xoxb-revoked")
    assert (await refresh_alert(engine, incident_id=incident, notifier=revoked)).outcome == (
        "failed"
    )
    # The stored text is still the posted one, so the next pass edits it.
    assert (await refresh_alert(engine, incident_id=incident, notifier=good)).outcome == "updated"
    await revoked.close()
    await good.close()
    assert len(fake_slack.updates) == 1 and len(_replies(fake_slack)) == 1


async def test_the_console_prints_the_edit_and_the_note(engine):
    incident = _warning_incident(engine)
    out = io.StringIO()
    console = ConsoleNotifier(out)
    await post_alert_once(engine, incident_id=incident, notifier=console, stale_after=STALE)
    _merge(engine, "a-social", series="source:social", severity="warning", window=1)
    _merge(engine, "a-tickets", series="source:tickets", severity="critical", window=1)
    await refresh_alert(engine, incident_id=incident, notifier=console)
    printed = out.getvalue()
    assert "(updated alert console:1)" in printed
    assert "↳ (on alert console:1) Raised to critical: Mention volume spike on source:" in printed


def test_the_stored_alert_text_gives_back_its_headline(engine):
    incident = _warning_incident(engine)
    _merge(engine, "a-topic", series="topic:billing", severity="warning", window=1)
    detail = get_detail(engine, incident_id=incident)
    assert detail is not None
    assert posted_headline(render_alert(detail).text) == headline_of(detail)


async def test_feedback_given_on_the_alert_stays_shown_after_the_edit(engine, fake_slack):
    incident = _warning_incident(engine)
    slack = _slack(fake_slack)
    await post_alert_once(engine, incident_id=incident, notifier=slack, stale_after=STALE)
    record_feedback(
        engine,
        incident_id=incident,
        verdict="confirmed",
        given_by="slack:W111",
        note="from the Slack alert",
        settings=DetectorSettings(),
        now=LATER,
    )
    _merge(engine, "a-social", series="source:social", severity="warning", window=1)
    _merge(engine, "a-tickets", series="source:tickets", severity="critical", window=1)
    await refresh_alert(engine, incident_id=incident, notifier=slack)
    await slack.close()
    (update,) = fake_slack.updates
    given = [b for b in update["blocks"] if b.get("block_id") == GIVEN_BLOCK]
    assert len(given) == 1 and "*confirmed*" in given[0]["elements"][0]["text"]
