"""Correlating anomalies into incidents: one incident per crisis, one alert per incident."""

from __future__ import annotations

from datetime import timedelta

from monitor.incidents.alerts import render_alert
from monitor.incidents.service import (
    correlate,
    get_detail,
    list_incidents,
    mark_alerted,
)
from tests.unit.factories import (
    LATER,
    NEGATIVE,
    STEP,
    T0,
    add_anomaly,
    mention,
    store,
)

GAP = timedelta(minutes=30)


def test_first_anomaly_opens_an_incident_titled_after_metric_and_series(engine):
    add_anomaly(engine, "a1", series="source:zendesk", metric="negative_share")
    change = correlate(engine, anomaly_id="a1", merge_gap=GAP, now=LATER)
    # One anomalous window on one source is a blip: recorded as info, nobody paged yet.
    assert change is not None and change.change == "opened" and change.severity == "info"
    detail = get_detail(engine, incident_id=change.incident_id)
    assert detail is not None
    incident = detail.incident
    assert incident.title == "Negative mentions spike on source:zendesk"
    assert incident.status == "open" and incident.anomaly_count == 1
    assert (incident.first_window_start, incident.last_window_end) == (T0, T0 + STEP)
    assert incident.opened_at == LATER
    assert [a.anomaly_id for a in detail.anomalies] == ["a1"]


def test_two_anomalies_within_the_merge_gap_are_one_incident_naming_both_series(engine):
    add_anomaly(engine, "a1", series="global")
    add_anomaly(engine, "a2", series="source:zendesk", start=T0 + 20 * STEP)
    first = correlate(engine, anomaly_id="a1", merge_gap=GAP, now=LATER)
    second = correlate(engine, anomaly_id="a2", merge_gap=GAP, now=LATER)
    assert first is not None and second is not None
    assert second.change == "merged" and second.incident_id == first.incident_id
    [incident] = list_incidents(engine)
    assert incident.series.split() == ["global", "source:zendesk"]
    assert incident.anomaly_count == 2
    assert incident.last_window_end == T0 + 21 * STEP


def test_a_critical_anomaly_raises_the_incidents_severity_and_never_lowers_it(engine):
    add_anomaly(engine, "a1", severity="warning")
    add_anomaly(engine, "a2", severity="critical", start=T0 + STEP)
    add_anomaly(engine, "a3", severity="warning", start=T0 + 2 * STEP)
    changes = [
        correlate(engine, anomaly_id=a, merge_gap=GAP, now=LATER) for a in ("a1", "a2", "a3")
    ]
    assert [c.severity for c in changes if c] == ["warning", "critical", "critical"]
    [incident] = list_incidents(engine)
    assert incident.severity == "critical" and incident.anomaly_count == 3


def test_an_anomaly_after_a_long_quiet_spell_resolves_the_old_incident_and_opens_a_new_one(engine):
    add_anomaly(engine, "morning")
    add_anomaly(engine, "afternoon", start=T0 + timedelta(hours=5))
    old = correlate(engine, anomaly_id="morning", merge_gap=GAP, now=LATER)
    new = correlate(engine, anomaly_id="afternoon", merge_gap=GAP, now=LATER + STEP)
    assert old is not None and new is not None
    assert new.change == "opened" and new.incident_id != old.incident_id
    resolved = get_detail(engine, incident_id=old.incident_id)
    assert resolved is not None
    assert resolved.incident.status == "resolved"
    assert resolved.incident.resolved_at == LATER + STEP
    assert [i.id for i in list_incidents(engine, status="open")] == [new.incident_id]
    assert [i.id for i in list_incidents(engine, status="resolved")] == [old.incident_id]


def test_merging_is_judged_on_event_time_not_on_when_correlate_runs(engine):
    # A replay correlates hours of history in seconds: closeness must come from the windows.
    add_anomaly(engine, "a1")
    add_anomaly(engine, "a2", start=T0 + 2 * GAP)
    correlate(engine, anomaly_id="a1", merge_gap=GAP, now=LATER)
    change = correlate(engine, anomaly_id="a2", merge_gap=GAP, now=LATER)
    assert change is not None and change.change == "opened"
    assert len(list_incidents(engine)) == 2


def test_correlating_the_same_anomaly_twice_changes_nothing_the_second_time(engine):
    add_anomaly(engine, "a1")
    assert correlate(engine, anomaly_id="a1", merge_gap=GAP, now=LATER) is not None
    assert correlate(engine, anomaly_id="a1", merge_gap=GAP, now=LATER) is None
    [incident] = list_incidents(engine)
    assert incident.anomaly_count == 1


def test_correlating_an_unknown_anomaly_does_nothing(engine):
    assert correlate(engine, anomaly_id="no-such-anomaly", merge_gap=GAP, now=LATER) is None
    assert list(list_incidents(engine)) == []


def test_an_incident_is_marked_alerted_only_once(engine):
    add_anomaly(engine, "a1")
    change = correlate(engine, anomaly_id="a1", merge_gap=GAP, now=LATER)
    assert change is not None
    incident_id = change.incident_id
    assert mark_alerted(engine, incident_id=incident_id, text="first", ref="ts-1", now=LATER)
    assert not mark_alerted(
        engine, incident_id=incident_id, text="second", ref="ts-2", now=LATER + STEP
    )
    detail = get_detail(engine, incident_id=incident_id)
    assert detail is not None
    assert (detail.incident.alert_text, detail.incident.alert_ref) == ("first", "ts-1")
    assert detail.incident.alerted_at == LATER


def test_detail_lists_anomalies_strongest_first_with_their_example_mentions(engine):
    angry = mention("angry", text=NEGATIVE)
    calm = mention("calm", at=T0 + STEP)
    store(engine, [angry, calm])
    add_anomaly(engine, "weak", score=5.5, example_mention_ids=[calm.mention_id])
    add_anomaly(
        engine,
        "strong",
        score=12.0,
        start=T0 + STEP,
        example_mention_ids=[angry.mention_id, "gone-from-the-db", calm.mention_id],
    )
    opened = correlate(engine, anomaly_id="weak", merge_gap=GAP, now=LATER)
    assert opened is not None
    correlate(engine, anomaly_id="strong", merge_gap=GAP, now=LATER)
    detail = get_detail(engine, incident_id=opened.incident_id)
    assert detail is not None
    assert [a.anomaly_id for a in detail.anomalies] == ["strong", "weak"]
    assert [m.mention_id for m in detail.examples] == [angry.mention_id, calm.mention_id]


def test_detail_of_an_unknown_incident_is_none(engine):
    assert get_detail(engine, incident_id=424242) is None


def test_incidents_are_listed_newest_first_and_limited(engine):
    for k in range(3):
        add_anomaly(engine, f"a{k}", start=T0 + k * timedelta(hours=3))
        correlate(engine, anomaly_id=f"a{k}", merge_gap=GAP, now=LATER)
    ids = [i.id for i in list_incidents(engine)]
    assert ids == sorted(ids, reverse=True) and len(ids) == 3
    assert [i.id for i in list_incidents(engine, limit=2)] == ids[:2]


def test_a_blip_that_persists_or_is_corroborated_becomes_worth_a_page(engine):
    add_anomaly(engine, "r1", series="source:reviews", start=T0)
    opened = correlate(engine, anomaly_id="r1", merge_gap=GAP, now=LATER)
    assert opened is not None and opened.severity == "info" and not opened.paged_now
    add_anomaly(engine, "r2", series="source:reviews", start=T0 + STEP)
    persisted = correlate(engine, anomaly_id="r2", merge_gap=GAP, now=LATER)
    # The moment it becomes worth a page: alert and playbooks start now, once.
    assert persisted is not None and persisted.severity == "warning" and persisted.paged_now
    add_anomaly(engine, "s1", series="source:social", start=T0 + STEP)
    corroborated = correlate(engine, anomaly_id="s1", merge_gap=GAP, now=LATER)
    assert corroborated is not None and corroborated.severity == "critical"
    assert not corroborated.paged_now  # already paged: no second alert
    assert corroborated.incident_id == opened.incident_id


def test_a_drill_anomaly_opens_its_own_drill_incident_and_alerts_as_a_drill(engine):
    add_anomaly(engine, "real", series="global")
    add_anomaly(engine, "drill", series="drill:global")
    real = correlate(engine, anomaly_id="real", merge_gap=GAP, now=LATER)
    drill = correlate(engine, anomaly_id="drill", merge_gap=GAP, now=LATER)
    assert real is not None and drill is not None
    assert (real.change, drill.change) == ("opened", "opened")
    assert real.incident_id != drill.incident_id
    real_detail = get_detail(engine, incident_id=real.incident_id)
    drill_detail = get_detail(engine, incident_id=drill.incident_id)
    assert real_detail is not None and drill_detail is not None
    assert not real_detail.incident.drill and drill_detail.incident.drill
    assert not render_alert(real_detail).text.startswith("[DRILL]")
    alert = render_alert(drill_detail)
    assert alert.text.startswith("[DRILL] ") and alert.slack_text.startswith("[DRILL] ")
    assert alert.blocks[0]["text"]["text"].startswith("[DRILL] ")


def test_an_incident_is_named_after_what_made_it_worth_a_page(engine):
    add_anomaly(engine, "blip", series="source:reviews", start=T0, metric="negative_share")
    blip = correlate(engine, anomaly_id="blip", merge_gap=GAP, now=LATER)
    assert blip is not None and blip.severity == "info"
    later = T0 + 20 * STEP
    add_anomaly(engine, "burst", series="global", start=later, severity="critical", score=30.0)
    burst = correlate(engine, anomaly_id="burst", merge_gap=GAP, now=LATER)
    assert burst is not None and burst.incident_id == blip.incident_id and burst.paged_now
    detail = get_detail(engine, incident_id=burst.incident_id)
    assert detail is not None
    assert detail.incident.title == "Mention volume spike on global"
    alert = render_alert(detail)
    assert alert.text.splitlines()[0].endswith("Mention volume spike on global [CRITICAL]")
    # The alert's window starts with the burst, not with the blip twenty minutes earlier.
    assert f"{later:%Y-%m-%d %H:%M}–" in alert.text


def test_among_equally_strong_anomalies_the_broadest_series_names_the_incident(engine):
    # Scores are capped, so an outage's topic series often score exactly as high as global.
    add_anomaly(engine, "topic", series="topic:billing", severity="critical", score=50.0)
    add_anomaly(engine, "global", series="global", severity="critical", score=50.0)
    first = correlate(engine, anomaly_id="topic", merge_gap=GAP, now=LATER)
    second = correlate(engine, anomaly_id="global", merge_gap=GAP, now=LATER)
    assert first is not None and second is not None
    assert second.incident_id == first.incident_id
    detail = get_detail(engine, incident_id=second.incident_id)
    assert detail is not None
    assert detail.incident.title == "Mention volume spike on global"


def test_an_anomaly_from_days_before_an_open_incident_does_not_join_it(engine):
    # A fast replay or a lagging partition delivers an old decoy's anomaly after the outage has
    # opened its incident: event time decides, on both sides of the incident.
    add_anomaly(engine, "outage", series="global", start=T0 + timedelta(days=5))
    add_anomaly(engine, "decoy", series="topic:billing", start=T0)
    add_anomaly(engine, "lead-in", series="source:tickets", start=T0 + timedelta(days=5) - GAP)
    outage = correlate(engine, anomaly_id="outage", merge_gap=GAP, now=LATER)
    decoy = correlate(engine, anomaly_id="decoy", merge_gap=GAP, now=LATER)
    lead_in = correlate(engine, anomaly_id="lead-in", merge_gap=GAP, now=LATER)
    assert outage is not None and decoy is not None and lead_in is not None
    assert decoy.change == "opened" and decoy.incident_id != outage.incident_id
    assert lead_in.change == "merged" and lead_in.incident_id == outage.incident_id
    incident = get_detail(engine, incident_id=outage.incident_id)
    assert incident is not None
    assert incident.incident.series.split() == ["global", "source:tickets"]
