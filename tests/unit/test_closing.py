"""Closing windows in SQL: quiet ones count as zero, none is scored twice, spikes are recorded."""

from __future__ import annotations

from datetime import timedelta

import pytest

from detectors.closing import SeriesDetectors
from detectors.config import DetectionConfig, DetectorSettings
from tests.unit.factories import (
    LATER,
    STEP,
    T0,
    anomalies,
    mentions_by_id,
    store_windows,
    windows,
)

# Twelve ordinary minutes: about ten mentions, one of them angry.
BASELINE = [(10, 1), (12, 1), (9, 1), (11, 2), (10, 1), (8, 0)] * 2
SPIKE = (60, 45)


def config(**overrides: object) -> DetectionConfig:
    return DetectionConfig(
        window_seconds=60, detector=DetectorSettings(warmup_windows=10), **overrides
    )


def closed_starts(engine, series="global"):
    return [start for start, row in windows(engine, series).items() if row.closed]


def test_windows_close_only_once_the_watermark_passes_their_end(engine):
    store_windows(engine, BASELINE[:6])
    detectors = SeriesDetectors(engine, config())

    detectors.on_touch("global", T0, T0 + 5 * STEP + timedelta(seconds=30), LATER, 0)
    assert closed_starts(engine) == [T0 + k * STEP for k in range(5)]

    detectors.on_watermark(0, T0 + 6 * STEP, LATER)
    assert closed_starts(engine) == [T0 + k * STEP for k in range(6)]


def test_a_quiet_gap_is_closed_as_zero_count_windows(engine):
    store_windows(engine, BASELINE)  # windows 0-11
    store_windows(engine, [(10, 1)], first=16)  # then four silent minutes, then traffic again
    detectors = SeriesDetectors(engine, config())

    found = detectors.on_touch("global", T0, T0 + 17 * STEP, LATER, 0)

    stored = windows(engine, "global")
    assert list(stored) == [T0 + k * STEP for k in range(17)]
    assert all(row.closed for row in stored.values())
    for k in range(12, 16):
        quiet = stored[T0 + k * STEP]
        assert (quiet.n, quiet.n_negative) == (0, 0)
        assert quiet.score < 5.0  # judged as a possible drop, but far from an alert
        # Scored against the baseline (about 10), which a young series lets the zeros pull down.
        assert 7 <= quiet.expected_n <= 11
    assert found == []  # four quiet minutes in a 10-a-minute series are not yet a crisis


def test_a_clear_spike_after_warm_up_is_recorded_as_an_explained_anomaly(engine):
    store_windows(engine, [*BASELINE, SPIKE])  # the spike is window 12
    detectors = SeriesDetectors(engine, config())

    found = detectors.on_touch("global", T0, T0 + 13 * STEP, LATER, 0)

    spike_start = T0 + 12 * STEP
    assert found, "a 6x spike with 75% angry mentions must be detected"
    assert {a.window_start for a in found} == {spike_start}
    rows = anomalies(engine)
    assert {r.anomaly_id for r in rows} == {a.anomaly_id for a in found}
    settings = config().detector
    by_metric = {r.metric: r for r in rows}
    volume = by_metric["volume"]
    assert volume.severity == settings.severity(volume.score) == "critical"
    assert volume.observed == 60
    assert volume.expected == pytest.approx(10, abs=1.5)
    assert volume.summary.startswith("60 mentions vs 1")
    assert "expected (usual range" in volume.summary and "windows" in volume.summary
    assert volume.window_end == spike_start + STEP
    assert windows(engine, "global")[spike_start].score == max(r.score for r in rows)
    # The examples quoted in the alert are angry mentions from that very window.
    stored = mentions_by_id(engine)
    examples = [stored[mid] for mid in volume.example_mention_ids.split()]
    assert len(examples) == 3
    assert all(m.label == "negative" for m in examples)
    assert all(spike_start <= m.event_time < spike_start + STEP for m in examples)


def test_no_anomaly_before_the_series_has_warmed_up(engine):
    store_windows(engine, [*BASELINE[:5], SPIKE])
    detectors = SeriesDetectors(engine, config())
    assert detectors.on_touch("global", T0, T0 + 6 * STEP, LATER, 0) == []
    assert anomalies(engine) == []
    assert len(closed_starts(engine)) == 6


def test_a_redelivered_tick_changes_nothing(engine):
    store_windows(engine, [*BASELINE, SPIKE])
    detectors = SeriesDetectors(engine, config())
    first = detectors.on_touch("global", T0, T0 + 13 * STEP, LATER, 0)
    again = detectors.on_touch("global", T0, T0 + 13 * STEP, LATER + STEP, 0)
    assert first and again == []
    assert len(anomalies(engine)) == len(first)
    assert {row.closed_at for row in windows(engine, "global").values()} == {LATER}


def test_after_a_restart_detection_continues_from_the_next_window_with_a_warm_baseline(engine):
    store_windows(engine, BASELINE + BASELINE[:8])  # windows 0-19
    store_windows(engine, [SPIKE], first=25)  # silence 20-24, then a spike
    before_restart, after_restart = LATER, LATER + timedelta(hours=1)

    SeriesDetectors(engine, config()).on_touch("global", T0, T0 + 20 * STEP, before_restart, 0)
    restarted = SeriesDetectors(engine, config())
    found = restarted.on_touch("global", T0 + 25 * STEP, T0 + 26 * STEP, after_restart, 0)

    stored = windows(engine, "global")
    assert list(stored) == [T0 + k * STEP for k in range(26)]
    assert all(row.closed for row in stored.values())
    # Nothing the first process closed was closed (or scored) again.
    assert [stored[T0 + k * STEP].closed_at for k in range(20)] == [before_restart] * 20
    # The restarted one picked up at window 20, including the silent minutes before the spike.
    assert [stored[T0 + k * STEP].closed_at for k in range(20, 26)] == [after_restart] * 6
    assert [stored[T0 + k * STEP].n for k in range(20, 25)] == [0] * 5
    # Its detector was warmed from the stored windows: the spike alerts without a new warm-up.
    assert {a.window_start for a in found} == {T0 + 25 * STEP}


def test_a_window_claimed_by_another_worker_is_never_scored_twice(engine):
    store_windows(engine, [*BASELINE, SPIKE, (10, 1), SPIKE])  # spikes at windows 12 and 14
    first, second = SeriesDetectors(engine, config()), SeriesDetectors(engine, config())
    second.on_touch("global", T0, T0, LATER, 0)  # the second worker knows the series already

    found_first = first.on_touch("global", T0, T0 + 13 * STEP, LATER, 0)
    late_copy = second.on_touch("global", T0, T0 + 13 * STEP, LATER + STEP, 0)
    assert {a.window_start for a in found_first} == {T0 + 12 * STEP}
    assert late_copy == []  # no second alert for the windows the first worker closed

    # It learnt those windows nonetheless, so it judges the next spike with a warm baseline.
    taken_over = second.on_touch("global", T0, T0 + 15 * STEP, LATER + 2 * STEP, 0)
    assert {a.window_start for a in taken_over} == {T0 + 14 * STEP}
    closed_at = {start: row.closed_at for start, row in windows(engine, "global").items()}
    assert all(closed_at[T0 + k * STEP] == LATER for k in range(13))
    assert closed_at[T0 + 13 * STEP] == closed_at[T0 + 14 * STEP] == LATER + 2 * STEP


def test_a_live_series_closes_its_quiet_windows_by_wall_clock(engine):
    store_windows(engine, BASELINE[:3])
    detectors = SeriesDetectors(engine, config(allowed_lateness_seconds=5))
    watermark = T0 + 3 * STEP
    detectors.on_touch("global", T0, watermark, watermark + timedelta(seconds=2), 0)
    assert len(closed_starts(engine)) == 3

    # No mention for three minutes: the wall clock (minus the lateness) still closes windows.
    detectors.advance_live(watermark + 3 * STEP + timedelta(seconds=10))
    stored = windows(engine, "global")
    assert closed_starts(engine) == [T0 + k * STEP for k in range(6)]
    assert [stored[T0 + k * STEP].n for k in range(3, 6)] == [0, 0, 0]


def test_a_replayed_series_is_not_closed_by_wall_clock(engine):
    store_windows(engine, BASELINE[:3])
    detectors = SeriesDetectors(engine, config())
    detectors.on_touch("global", T0, T0 + 3 * STEP, LATER, 0)  # event time a day behind
    detectors.advance_live(LATER + timedelta(hours=1))
    assert len(closed_starts(engine)) == 3


def test_a_long_silence_closes_at_most_max_gap_empty_windows(engine):
    store_windows(engine, BASELINE)
    detectors = SeriesDetectors(engine, config(max_gap_windows=5))
    for minute in (4, 8, 12):  # the baseline closes a few windows at a time
        detectors.on_touch("global", T0, T0 + minute * STEP, LATER, 0)
    assert len(closed_starts(engine)) == 12

    detectors.on_watermark(None, T0 + 200 * STEP, LATER)  # three silent hours
    closed = closed_starts(engine)
    assert len(closed) == 12 + 5
    assert closed[-5:] == [T0 + k * STEP for k in range(195, 200)]
    # And detection carries on from the window after.
    detectors.on_watermark(None, T0 + 201 * STEP, LATER)
    assert closed_starts(engine)[-1] == T0 + 200 * STEP


def test_windows_holding_mentions_are_scored_even_when_a_day_of_windows_closes_at_once(engine):
    # A replayed file of sparse history can put more than max_gap_windows (1440 by default) of
    # event time into one batch. The cap is meant for *empty* windows ("a series silent for a
    # month is re-baselined"); windows that hold mentions, here a clear spike, must still be
    # closed and scored.
    store_windows(engine, [*BASELINE, SPIKE])  # windows 0-12, the spike in 12
    store_windows(engine, [(1, 0)], first=1500)  # the next mention, a day later
    detectors = SeriesDetectors(engine, config())
    assert config().max_gap_windows == 1440

    found = detectors.on_touch("global", T0, T0 + 1501 * STEP, LATER, 0)

    stored = windows(engine, "global")
    assert all(stored[T0 + k * STEP].closed for k in range(13))
    assert T0 + 12 * STEP in {a.window_start for a in found}


def test_a_series_first_seen_at_a_later_window_still_closes_its_earlier_ones(engine):
    # Batches do not arrive in event-time order: one partition (or a second ingest worker)
    # brings minutes 6-8 before another brings minutes 0-5 of the same series.
    store_windows(engine, BASELINE[6:9], first=6)
    detectors = SeriesDetectors(engine, config())
    detectors.on_batch(0, [("global", T0 + 6 * STEP)], T0 + 2 * STEP, LATER)
    store_windows(engine, BASELINE[:6])
    detectors.on_batch(0, [("global", T0)], T0 + 9 * STEP, LATER)

    assert closed_starts(engine) == [T0 + k * STEP for k in range(9)]
    assert [row.n for row in windows(engine, "global").values()] == [n for n, _ in BASELINE[:9]]


def test_windows_a_second_ingest_worker_fills_after_the_series_closed_later_ones_are_scored(engine):
    # Two ingest workers: one ingests minutes 6-8 and the watermark (which knows only the
    # partitions seen so far) closes them; the other then brings minutes 0-5. Those are
    # judged late, once, instead of never; a late mention into a closed window changes nothing.
    store_windows(engine, BASELINE[6:9], first=6)
    detectors = SeriesDetectors(engine, config())
    detectors.on_batch(0, [("global", T0 + 6 * STEP)], T0 + 9 * STEP, LATER)
    assert closed_starts(engine) == [T0 + k * STEP for k in range(6, 9)]
    store_windows(engine, BASELINE[:6])
    detectors.on_batch(0, [("global", T0 + k * STEP) for k in range(6)], T0 + 9 * STEP, LATER)

    rows = windows(engine, "global")
    assert closed_starts(engine) == [T0 + k * STEP for k in range(9)]
    assert all(rows[T0 + k * STEP].score is not None for k in range(9))
    scored_at = {start: row.closed_at for start, row in rows.items()}
    detectors.on_batch(0, [("global", T0 + STEP)], T0 + 9 * STEP, LATER + STEP)
    assert {s: r.closed_at for s, r in windows(engine, "global").items()} == scored_at
