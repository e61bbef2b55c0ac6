"""Feedback moves a series' alert score within bounds, and the closing step obeys it."""

from __future__ import annotations

from datetime import timedelta

import pytest

from detectors.closing import SeriesDetectors
from detectors.config import DetectionConfig, DetectorSettings
from detectors.feedback import FeedbackError, record_feedback, threshold_history
from monitor.incidents.service import correlate
from tests.unit.factories import LATER, STEP, T0, add_anomaly, anomalies, store_windows

SETTINGS = DetectorSettings(warmup_windows=10)
GAP = timedelta(minutes=30)


def incident(engine, *series: str) -> int:
    change = None
    for k, name in enumerate(series):
        add_anomaly(engine, f"a{k}", series=name, start=T0 + k * STEP)
        change = correlate(engine, anomaly_id=f"a{k}", merge_gap=GAP, now=LATER) or change
    assert change is not None
    return change.incident_id


def feedback(engine, incident_id: int, verdict: str):
    return record_feedback(
        engine,
        incident_id=incident_id,
        verdict=verdict,
        given_by="lead",
        note=None,
        settings=SETTINGS,
        now=LATER,
    )


def test_a_false_alarm_raises_every_series_of_the_incident_and_is_audited(engine):
    incident_id = incident(engine, "global", "source:social")
    recorded = feedback(engine, incident_id, "false-alarm")
    assert {(c.series, c.old_score, c.new_score) for c in recorded.changes} == {
        ("global", 5.0, 6.0),
        ("source:social", 5.0, 6.0),
    }
    history = threshold_history(engine)
    assert {h.reason for h in history} == {f"false-alarm on incident #{incident_id} by lead"}


def test_thresholds_stay_within_bounds(engine):
    incident_id = incident(engine, "global")
    for _ in range(10):
        feedback(engine, incident_id, "false-alarm")
    assert threshold_history(engine)[0].new_score == 10.0  # default 5 + 5
    for _ in range(20):
        feedback(engine, incident_id, "missed")
    assert threshold_history(engine)[0].new_score == 4.0  # default 5 - 1
    assert feedback(engine, incident_id, "missed").changes == []


def test_confirmed_changes_nothing_and_bad_input_is_refused(engine):
    incident_id = incident(engine, "global")
    assert feedback(engine, incident_id, "confirmed").changes == []
    with pytest.raises(FeedbackError, match="verdict must be one of"):
        feedback(engine, incident_id, "meh")
    with pytest.raises(FeedbackError, match="no incident #999"):
        feedback(engine, 999, "false-alarm")


def test_after_a_false_alarm_a_window_of_the_same_rarity_no_longer_alerts(engine):
    # Baseline about 10 a minute, then a window of 28: rare enough for the default 5, not 6.
    baseline = [(10, 1), (12, 1), (9, 1), (11, 1), (10, 1), (8, 1)] * 3
    config = DetectionConfig(detector=SETTINGS.model_copy(update={"spike_span_windows": 1}))
    store_windows(engine, [*baseline, (28, 2)])
    first = SeriesDetectors(engine, config).on_touch("global", T0, T0 + 19 * STEP, LATER, 0)
    assert [a.metric for a in first] == ["volume"]
    assert 5.0 <= first[0].score < 6.0

    incident_id = incident(engine, "global")
    feedback(engine, incident_id, "false-alarm")
    store_windows(engine, [*baseline, (28, 2)], first=19)
    again = SeriesDetectors(engine, config).on_touch("global", T0, T0 + 38 * STEP, LATER, 0)
    assert again == []  # without the feedback this window scores about 5.8 and alerts
    assert len([a for a in anomalies(engine) if a.window_start > T0 + 19 * STEP]) == 0
