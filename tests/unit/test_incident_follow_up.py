"""Incidents that go quiet resolve, and an alert is claimed by exactly one sender."""

from __future__ import annotations

from datetime import timedelta

from monitor.incidents.service import (
    claim_alert,
    correlate,
    ingest_watermark,
    mark_alerted,
    release_alert,
    resolve_quiet,
    unalerted_incidents,
)
from monitor.storage.db import session_scope
from monitor.storage.models import SeriesWindow
from tests.unit.factories import LATER, T0, add_anomaly, mention, store

GAP = timedelta(minutes=30)
HORIZON = timedelta(minutes=15)
STALE = timedelta(minutes=2)


def open_incident(engine, *, opened_at=LATER) -> int:
    add_anomaly(engine, "a1")
    change = correlate(engine, anomaly_id="a1", merge_gap=GAP, now=opened_at)
    assert change is not None
    return change.incident_id


def detected_through(engine, end) -> None:
    """Detection has closed ``global``'s windows up to ``end``."""
    with session_scope(engine) as session:
        session.add(
            SeriesWindow(
                series="global",
                window_start=end - timedelta(minutes=1),
                window_seconds=60,
                closed=True,
            )
        )


def test_a_replayed_incident_resolves_when_event_time_moves_past_the_gap(engine):
    incident_id = open_incident(engine)  # opened a day after its window: a replay
    end = T0 + timedelta(minutes=1)
    detected_through(engine, end + 2 * GAP)
    assert (
        resolve_quiet(engine, watermark=end + GAP, merge_gap=GAP, live_horizon=HORIZON, now=LATER)
        == []
    )
    assert resolve_quiet(
        engine,
        watermark=end + GAP + timedelta(seconds=1),
        merge_gap=GAP,
        live_horizon=HORIZON,
        now=LATER,
    ) == [incident_id]
    # Already resolved: nothing more to do.
    assert (
        resolve_quiet(
            engine, watermark=end + 2 * GAP, merge_gap=GAP, live_horizon=HORIZON, now=LATER
        )
        == []
    )


def test_a_replayed_incident_stays_open_while_detection_lags_behind_ingest(engine):
    # A fast replay: ingest is hours ahead, detection has closed windows only just past the
    # incident. Anomalies still on their way must find it open, as the backtest would.
    incident_id = open_incident(engine)
    end = T0 + timedelta(minutes=1)
    ahead = end + 4 * GAP
    detected_through(engine, end + GAP // 2)
    assert (
        resolve_quiet(engine, watermark=ahead, merge_gap=GAP, live_horizon=HORIZON, now=LATER) == []
    )
    detected_through(engine, end + 2 * GAP)
    assert resolve_quiet(
        engine, watermark=ahead, merge_gap=GAP, live_horizon=HORIZON, now=LATER
    ) == [incident_id]


def test_a_live_incident_resolves_by_wall_clock_even_when_traffic_stopped(engine):
    opened = T0 + timedelta(minutes=2)  # opened right after its window closed: live
    incident_id = open_incident(engine, opened_at=opened)
    stalled = T0  # no mention arrived since: the watermark stays put
    assert (
        resolve_quiet(
            engine,
            watermark=stalled,
            merge_gap=GAP,
            live_horizon=HORIZON,
            now=opened + timedelta(minutes=10),
        )
        == []
    )
    assert resolve_quiet(
        engine,
        watermark=stalled,
        merge_gap=GAP,
        live_horizon=HORIZON,
        now=opened + GAP + timedelta(minutes=1),
    ) == [incident_id]


def test_only_one_sender_may_post_an_alert_until_its_claim_goes_stale(engine):
    incident_id = open_incident(engine)
    assert claim_alert(engine, incident_id=incident_id, now=LATER, stale_after=STALE)
    assert not claim_alert(
        engine, incident_id=incident_id, now=LATER + timedelta(seconds=5), stale_after=STALE
    )
    # The first sender died mid-post: after the stale period another may take over.
    assert claim_alert(
        engine, incident_id=incident_id, now=LATER + STALE + timedelta(seconds=1), stale_after=STALE
    )


def test_a_failed_post_releases_the_claim_and_the_incident_is_retried(engine):
    incident_id = open_incident(engine)
    cutoff = LATER + timedelta(minutes=1)
    assert unalerted_incidents(engine, opened_before=cutoff) == [incident_id]
    assert claim_alert(engine, incident_id=incident_id, now=LATER, stale_after=STALE)
    release_alert(engine, incident_id=incident_id)
    assert claim_alert(engine, incident_id=incident_id, now=LATER, stale_after=STALE)
    assert mark_alerted(engine, incident_id=incident_id, text="alert", ref="ts", now=LATER)
    assert unalerted_incidents(engine, opened_before=cutoff) == []
    # Once delivered, nobody can claim it again, however old the claim.
    assert not claim_alert(
        engine, incident_id=incident_id, now=LATER + timedelta(days=1), stale_after=STALE
    )


def test_the_ingest_watermark_is_the_slowest_partition_of_that_topic(engine):
    assert ingest_watermark(engine, topic="mentions.raw") is None
    store(engine, [mention(1)], progress={0: T0 + timedelta(minutes=5), 1: T0})
    assert ingest_watermark(engine, topic="mentions.raw") == T0
    assert ingest_watermark(engine, topic="other.mentions.raw") is None
