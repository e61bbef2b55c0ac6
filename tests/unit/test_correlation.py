"""The correlation rules on plain values: what live correlation and the backtest both apply."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from detectors.backtest import BacktestAlert
from detectors.findings import Finding
from monitor.incidents.backtest import correlate_alerts
from monitor.incidents.correlation import AnomalyFacts, Correlator
from monitor.incidents.service import correlate, list_incidents
from tests.unit.factories import LATER, add_anomaly

T0 = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)
STEP = timedelta(minutes=1)
GAP = timedelta(minutes=30)


def fact(
    name: str,
    *,
    at: timedelta,
    series: str = "global",
    severity: str = "warning",
    metric: str = "volume",
    score: float = 6.0,
) -> AnomalyFacts:
    start = T0 + at
    return AnomalyFacts(name, series, start, start + STEP, metric, severity, score)


def test_an_anomaly_joins_an_open_incident_only_within_the_gap_on_either_side():
    correlator = Correlator(GAP)
    outage = correlator.add(fact("outage", at=timedelta(hours=5)))
    # Just within the gap before the incident's first window: a lead-in that arrived late.
    lead_in = correlator.add(fact("lead-in", at=timedelta(hours=5) - GAP, series="source:tickets"))
    assert lead_in is outage
    assert outage.first_window_start == T0 + timedelta(hours=5) - GAP
    # Just beyond the gap before it: its own incident, and the outage stays open.
    earlier = correlator.add(fact("earlier", at=timedelta(hours=5) - 2 * GAP - 2 * STEP))
    assert earlier is not outage and outage.status == "open"
    # Just within the gap after its last window.
    tail = correlator.add(fact("tail", at=timedelta(hours=5) + STEP + GAP))
    assert tail is outage and outage.last_window_end == T0 + timedelta(hours=5) + 2 * STEP + GAP


def test_a_late_anomaly_from_days_before_does_not_join_the_open_incident():
    correlator = Correlator(GAP)
    outage = correlator.add(fact("outage", at=timedelta(days=5), severity="critical"))
    decoy = correlator.add(fact("decoy", at=timedelta(0), series="topic:billing"))
    assert decoy is not outage
    assert outage.series == ["global"] and outage.status == "open"
    assert len(correlator.incidents) == 2


def test_an_anomaly_past_the_gap_resolves_the_quiet_incident_and_opens_another():
    correlator = Correlator(GAP)
    morning = correlator.add(fact("morning", at=timedelta(0)))
    afternoon = correlator.add(fact("afternoon", at=timedelta(hours=5)))
    assert afternoon is not morning
    assert (morning.status, afternoon.status) == ("resolved", "open")


def test_an_anomaly_near_an_incident_resolved_too_early_reopens_it():
    # A fast replay: one detect partition ran an hour ahead, and its anomaly resolved the
    # outage before another partition's anomalies of the outage's last minutes arrived.
    correlator = Correlator(GAP)
    outage = correlator.add(fact("outage", at=timedelta(0), severity="critical"))
    wave = correlator.add(fact("wave", at=timedelta(hours=2), series="topic:billing"))
    assert outage.status == "resolved"
    straggler = correlator.add(fact("straggler", at=10 * STEP, series="source:tickets"))
    assert straggler is outage and outage.status == "open"
    assert outage.last_window_end == T0 + 11 * STEP
    assert wave.status == "open" and len(correlator.incidents) == 2


def test_severity_rises_and_pages_at_the_end_of_the_window_that_raised_it():
    correlator = Correlator(GAP)
    blip = correlator.add(
        fact("r1", at=timedelta(0), series="source:reviews", metric="negative_share")
    )
    assert blip.severity == "info" and blip.paged_at is None  # a lone blip pages nobody
    correlator.add(fact("r2", at=3 * STEP, series="source:reviews", metric="negative_share"))
    assert blip.severity == "warning" and blip.paged_at == T0 + 4 * STEP
    correlator.add(fact("g1", at=5 * STEP, severity="critical", score=30.0))
    assert blip.severity == "critical"
    assert blip.paged_at == T0 + 4 * STEP  # paged once, when it first became worth it
    # Renamed after what made it critical, not after the blip that opened it.
    assert blip.title == "Mention volume spike on global"
    correlator.add(fact("s1", at=6 * STEP, series="source:social", severity="warning"))
    assert blip.title == "Mention volume spike on global"
    correlator.add(fact("r3", at=6 * STEP, series="source:reviews", severity="warning"))
    assert blip.severity == "critical"  # never lowered


def alert(
    series: str, at: timedelta, *, severity: str = "warning", metric: str = "volume", score=5.0
):
    finding = Finding(metric, 40, 8, 2, 17, score, 40)
    return BacktestAlert(series, T0 + at, severity, finding)


def two_crises() -> list[BacktestAlert]:
    """An outage over twenty minutes on several series, then a billing wave three hours later."""
    alerts = []
    for minute in range(20):
        alerts.append(alert("global", timedelta(minutes=minute), severity="critical", score=9))
        alerts.append(alert("source:social", timedelta(minutes=minute)))
        if minute % 3 == 0:
            alerts.append(alert("source:tickets", timedelta(minutes=minute), score=4))
    for minute in range(180, 240, 4):
        alerts.append(alert("topic:billing", timedelta(minutes=minute), metric="volume_ramp"))
    return alerts


def test_one_incident_per_crisis_whatever_order_the_anomalies_arrive_in():
    # A fast replay hands over whole passes of windows at once, series by series; live traffic
    # hands them over minute by minute. Correlation merges by event time either way.
    alerts = two_crises()
    in_order = correlate_alerts(alerts, GAP)
    shuffled = list(alerts)
    random.Random(3).shuffle(shuffled)
    by_series = sorted(alerts, key=lambda a: (a.series, a.window_start))
    assert correlate_alerts(shuffled, GAP) == in_order
    assert correlate_alerts(by_series, GAP) == in_order
    outage, billing = in_order
    assert outage.series == ("global", "source:social", "source:tickets")
    assert (outage.severity, outage.metric, outage.anomalies) == ("critical", "volume", 47)
    assert outage.opened_at == T0 and outage.paged_at == T0 + STEP
    assert outage.closed_at == T0 + timedelta(minutes=20)
    assert billing.series == ("topic:billing",) and billing.severity == "warning"
    assert billing.opened_at == T0 + timedelta(hours=3)


def test_the_in_memory_correlator_and_the_sql_correlator_agree(engine):
    # The same anomalies, in the same order, through both: same incidents, severities, titles.
    facts = [
        fact("blip", at=timedelta(0), series="source:reviews", metric="negative_share"),
        fact("burst", at=10 * STEP, severity="critical", score=30.0),
        fact("topic", at=11 * STEP, series="topic:billing", severity="critical", score=30.0),
        fact("decoy", at=-timedelta(days=2), series="topic:billing"),
        fact("later", at=timedelta(hours=4), series="source:social"),
        fact("later2", at=timedelta(hours=4) + STEP, series="source:tickets"),
        fact("straggler", at=12 * STEP, series="source:tickets"),  # reopens the first
    ]
    correlator = Correlator(GAP)
    for f in facts:
        correlator.add(f)
        add_anomaly(
            engine,
            f.anomaly_id,
            series=f.series,
            start=f.window_start,
            severity=f.severity,
            metric=f.metric,
            score=f.score,
        )
        correlate(engine, anomaly_id=f.anomaly_id, merge_gap=GAP, now=LATER)
    stored = sorted(list_incidents(engine), key=lambda i: i.id or 0)
    assert [(i.series.split(), i.severity, i.title, i.status) for i in stored] == [
        (i.series, i.severity, i.title, i.status) for i in correlator.incidents
    ]
    assert [(i.severity, i.status) for i in stored] == [
        ("critical", "open"),
        ("info", "resolved"),
        ("critical", "open"),
    ]
