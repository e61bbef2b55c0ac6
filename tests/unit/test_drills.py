"""Preparing a drill: the twins get the real history from before the drill, and nothing after.

The real series keep their traffic while the drill's burst is injected into the past few
minutes, so the real series have closed windows over the drill's own time range. Copied into the
twins as closed, those windows would never be scored with the drill's mentions in them.
"""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import Session

from detectors.closing import SeriesDetectors
from detectors.config import DetectionConfig, DetectorSettings
from monitor.storage.models import Drill, RecordBaseline, SeasonalBaseline, TermBaseline
from streams.drills import prepare_drill
from streams.mentions import MentionIn
from tests.unit.factories import (
    NEGATIVE,
    NEUTRAL,
    STEP,
    T0,
    WINDOW,
    anomalies,
    store,
    store_windows,
    windows,
)

BASELINE = [(10, 1), (12, 1), (9, 1), (11, 2), (10, 1), (8, 0)]
FIRST = 20  # the drill's first window: windows 20-25 hold its burst
LAST = 25
NOW = T0 + (LAST + 1) * STEP + timedelta(seconds=5)  # the burst ends now
TWINS = ("drill:global", "drill:source:tickets")


def config() -> DetectionConfig:
    return DetectionConfig(window_seconds=WINDOW, detector=DetectorSettings(warmup_windows=10))


def drill_mentions(first: int, last: int, *, tag: str, n: int = 60) -> list[MentionIn]:
    return [
        MentionIn(
            source="tickets",
            external_id=f"{tag}-{index}-{k}",
            text=NEGATIVE if k < n * 3 // 4 else NEUTRAL,
            event_time=T0 + index * STEP + timedelta(seconds=2 + k % 55),
            drill=True,
        )
        for index in range(first, last + 1)
        for k in range(n)
    ]


def real_traffic_closed_through_the_drill(engine) -> None:
    """Ordinary traffic in windows 0-25, closed by the real detectors: the drill's range too."""
    store_windows(engine, (BASELINE * 5)[: LAST + 1])
    real = SeriesDetectors(engine, config())
    for series in ("global", "source:tickets"):
        real.on_touch(series, T0, T0 + (LAST + 1) * STEP, NOW, 0)
    assert all(row.closed for row in windows(engine, "global").values())


def prepare(engine):
    return prepare_drill(
        engine,
        scenario="outage",
        drill_id="d1",
        now=NOW,
        first_event=T0 + FIRST * STEP + timedelta(seconds=2),
        window_seconds=WINDOW,
    )


def drill_windows(engine, series="drill:global"):
    return {s: row for s, row in windows(engine, series).items() if s >= T0 + FIRST * STEP}


def test_twins_copy_only_the_windows_before_the_drill_and_score_each_drill_window(engine):
    real_traffic_closed_through_the_drill(engine)
    real_before = windows(engine, "global")

    prepared = prepare(engine)

    # Windows 0-19 of both real series with traffic, as closed; nothing from the drill's start.
    assert prepared.copied == 2 * FIRST and prepared.held == ()
    for twin in TWINS:
        copied = windows(engine, twin)
        assert list(copied) == [T0 + k * STEP for k in range(FIRST)]
        assert all(row.closed for row in copied.values())
    assert [row.n for row in windows(engine, "drill:global").values()] == [
        real_before[T0 + k * STEP].n for k in range(FIRST)
    ]
    with Session(engine) as session:
        real_terms = session.get(TermBaseline, "global")
        twin_terms = session.get(TermBaseline, "drill:global")
        drill = session.get(Drill, "d1")
        assert real_terms is not None and twin_terms is not None and drill is not None
        # The real baseline has learnt the drill's minutes of real traffic; on the twin it is
        # saved through the window before the drill.
        assert real_terms.through_window == T0 + LAST * STEP
        assert twin_terms.through_window == T0 + (FIRST - 1) * STEP
        assert twin_terms.state == real_terms.state
        assert drill.first_event_time == T0 + FIRST * STEP + timedelta(seconds=2)

    store(engine, drill_mentions(FIRST, LAST, tag="d1"))
    opened = drill_windows(engine)
    assert list(opened) == [T0 + k * STEP for k in range(FIRST, LAST + 1)]
    assert all(row.n == 60 and not row.closed for row in opened.values())

    # A worker warms the twin from SQL when the drill's first batch touches it: it continues at
    # the drill's first window, so the watermark closes and scores every window of the drill.
    found = SeriesDetectors(engine, config()).on_touch(
        "drill:global", T0 + FIRST * STEP, T0 + (LAST + 1) * STEP, NOW, 0
    )

    scored = drill_windows(engine)
    assert all(row.closed and row.score is not None for row in scored.values())
    assert scored[T0 + FIRST * STEP].score >= config().detector.alert_score
    assert found and min(a.window_start for a in found) == T0 + FIRST * STEP
    assert {a.series for a in found} == {"drill:global"}
    # The real series are as they were: the drill counted only in its twins.
    assert windows(engine, "global") == real_before
    assert all(a.series.startswith("drill:") for a in anomalies(engine))


def test_what_an_earlier_drill_left_in_the_twins_is_replaced(engine):
    real_traffic_closed_through_the_drill(engine)
    # An earlier drill in windows 3-4, its twins then closed by a worker until after the new
    # drill's start (their windows, and profiles saved with them), and the worker restarted.
    store(engine, drill_mentions(3, 4, tag="d0"))
    earlier = SeriesDetectors(engine, config())
    for twin in TWINS:
        earlier.on_touch(twin, T0 + 3 * STEP, T0 + (LAST + 4) * STEP, NOW, 0)
    assert max(windows(engine, "drill:global")) == T0 + (LAST + 3) * STEP
    with Session(engine) as session:
        assert session.get(SeasonalBaseline, "drill:global") is not None
        assert session.get(RecordBaseline, "drill:global") is not None

    prepared = prepare(engine)

    assert prepared.held == TWINS  # closed after the new drill's first event: a warning
    real = windows(engine, "global")
    twin = windows(engine, "drill:global")
    assert list(twin) == [T0 + k * STEP for k in range(FIRST)]
    assert [row.n for row in twin.values()] == [real[start].n for start in twin]
    with Session(engine) as session:
        assert session.get(SeasonalBaseline, "drill:global") is None
        assert session.get(RecordBaseline, "drill:global") is None

    store(engine, drill_mentions(FIRST, LAST, tag="d1"))
    found = SeriesDetectors(engine, config()).on_touch(
        "drill:global", T0 + FIRST * STEP, T0 + (LAST + 1) * STEP, NOW, 0
    )
    assert all(row.closed and row.score is not None for row in drill_windows(engine).values())
    assert found and min(a.window_start for a in found) == T0 + FIRST * STEP


def test_a_running_worker_scores_a_second_drill_on_twins_it_still_remembers(engine):
    real_traffic_closed_through_the_drill(engine)
    store(engine, drill_mentions(3, 4, tag="d0"))
    running = SeriesDetectors(engine, config())
    for twin in TWINS:  # the first drill's twins, closed by this worker past the new drill
        running.on_touch(twin, T0 + 3 * STEP, T0 + (LAST + 4) * STEP, NOW, 0)

    prepare(engine)
    store(engine, drill_mentions(FIRST, LAST, tag="d1"))
    # No restart: the same worker gets the new drill's first batch.
    found = running.on_touch("drill:global", T0 + FIRST * STEP, T0 + (LAST + 1) * STEP, NOW, 0)

    assert all(row.closed and row.score is not None for row in drill_windows(engine).values())
    assert found and min(a.window_start for a in found) == T0 + FIRST * STEP
