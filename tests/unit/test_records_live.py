"""Records in the live pipeline: they explain alerts, may page, and survive a restart.

The record memory is three weeks, far longer than the 500 windows a restart replays, so the
busiest totals are stored with the windows that set them (`record_baselines`).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
from sqlalchemy import delete, select
from sqlmodel import Session

from detectors.closing import SeriesDetectors
from detectors.config import DetectionConfig, RecordSettings
from monitor.storage.models import Anomaly, RecordBaseline, SeriesWindow

START = datetime(2026, 3, 2, tzinfo=UTC)
WINDOW = timedelta(minutes=5)
OBSERVED = START + timedelta(days=60)  # closed long after the event times: a replay
DAY = 288


def config(*, alert: bool, warmup: int = DAY) -> DetectionConfig:
    records = RecordSettings(
        alert=alert,
        spans_windows=(1, 6, 24, 96),
        memory_windows=21 * DAY,
        bucket_windows=72,
        min_count=5,
        warmup_windows=warmup,
    )
    return DetectionConfig(window_seconds=300, records=records)


def store(engine, counts: list[int], first: int = 0) -> datetime:
    """Windows ``first``, ``first + 1``, … of the global series; returns the end of the last."""
    rows = [
        SeriesWindow(series="global", window_start=START + k * WINDOW, window_seconds=300, n=n)
        for k, n in enumerate(counts, start=first)
    ]
    with Session(engine) as session:
        session.add_all(rows)
        session.commit()
    return START + (first + len(counts)) * WINDOW


def record_anomalies(engine) -> list[Anomaly]:
    with Session(engine) as session:
        return list(
            session.exec(select(Anomaly).where(Anomaly.metric == "volume_record")).scalars()  # type: ignore[call-overload]
        )


def quiet(days: float, seed: int) -> list[int]:
    return [int(n) for n in np.random.default_rng(seed).poisson(20, int(days * DAY))]


def test_a_spike_that_is_also_a_record_says_so_in_plain_words(engine):
    counts = quiet(3, seed=1)
    end = store(engine, [*counts, 400])
    SeriesDetectors(engine, config(alert=False)).on_touch("global", START, end, OBSERVED, 0)
    [record] = record_anomalies(engine)
    assert record.severity == "info"  # an explanation; the volume spike is what pages
    assert record.detector == "record"
    assert record.window_start == START + len(counts) * WINDOW
    # The series is three days old: the record reaches back over all of it, not 21 days.
    assert record.summary == (
        f"400 mentions in 5 minutes, the most of any 5 minutes in 3 days "
        f"(previous high {max(counts)})"
    )


def test_a_restarted_worker_remembers_last_weeks_burst(engine):
    # A burst on day 2, then a steady week: far more than the 500 windows a restart replays.
    end = store(engine, [*quiet(2, seed=2), 500, *[20] * (7 * DAY)])
    SeriesDetectors(engine, config(alert=True, warmup=480)).on_touch(
        "global", START, end, OBSERVED, 0
    )
    assert len(record_anomalies(engine)) == 1  # the burst itself pages when records alert

    # A smaller burst after the restart is not the busiest five minutes in three weeks.
    later = store(engine, [300], first=9 * DAY + 1)
    SeriesDetectors(engine, config(alert=True, warmup=480)).on_touch(
        "global", end, later, OBSERVED, 0
    )
    assert len(record_anomalies(engine)) == 1

    # Without the stored totals the restarted worker would have forgotten the first burst.
    with Session(engine) as session:
        session.execute(delete(RecordBaseline))
        session.execute(delete(Anomaly))
        session.execute(delete(SeriesWindow).where(SeriesWindow.window_start >= later - WINDOW))
        session.commit()
    again = store(engine, [300], first=9 * DAY + 1)
    SeriesDetectors(engine, config(alert=True, warmup=480)).on_touch(
        "global", end, again, OBSERVED, 0
    )
    assert len(record_anomalies(engine)) == 1


def test_a_restart_between_hourly_snapshots_continues_from_exactly_what_was_learnt(engine):
    # Closed in 20-minute ticks: the snapshot is at most an hour old, the windows after it are
    # replayed on restart, and neither side may count a window twice or miss one.
    end = store(engine, [*quiet(2, seed=4), 300, *quiet(1, seed=5)])
    live = SeriesDetectors(engine, config(alert=False))
    tick = START + 4 * WINDOW
    while tick < end:
        live.on_touch("global", START, tick, OBSERVED, 0)
        tick += 4 * WINDOW
    live.on_touch("global", START, end, OBSERVED, 0)
    restarted = SeriesDetectors(engine, config(alert=False))
    restarted.on_touch("global", START, end, OBSERVED, 0)
    learnt = live._states["global"].records.snapshot()  # what the running worker holds
    assert restarted._states["global"].records.snapshot() == learnt
    assert learnt["learned"] == 3 * DAY + 1
