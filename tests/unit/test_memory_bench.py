"""bench.memory's pieces that need no service (bench/memory_*.py): the workload, the config it
writes, the slope and the SQL that decides when detection has caught up.
No timings or sizes are asserted."""

from __future__ import annotations

import os
from datetime import datetime, timedelta

from sqlmodel import Session

from bench import memory_process, memory_store, memory_workload
from detectors.series import Attribution, series_keys
from detectors.topics import load_topics
from monitor.storage.models import SeriesWindow
from streams.mentions import parse_mention

STEP = timedelta(minutes=1)
T0 = memory_workload.EVENT_START


def test_the_slope_is_fitted_after_the_warm_up():
    # The first point (before 20 % of the run) would make the line steeper; it is left out.
    points = [(10_000, 100), (50_000, 1_000), (100_000, 1_050), (150_000, 1_100)]
    assert memory_process.slope_kb_per_1k(points) == 1.0
    assert memory_process.slope_kb_per_1k([(10, None), (20, None)]) is None


def test_series_mentions_cover_every_product_in_event_time_order():
    items = memory_workload.series_mentions(50, 3, 10)
    assert len(items) == 150
    assert {item["product"] for item in items} == {
        memory_workload.product_name(i) for i in range(50)
    }
    times = [datetime.fromisoformat(str(item["event_time"])) for item in items]
    assert times == sorted(times)
    assert times[0] >= T0 and times[-1] < T0 + 10 * STEP
    assert len({item["external_id"] for item in items}) == 150


def test_soak_chunks_are_one_continuous_stream():
    chunks = list(memory_workload.soak_chunks(1_050, 20, 5, 500))
    assert [len(chunk) for chunk in chunks] == [500, 500, 50]
    times = [datetime.fromisoformat(str(m["event_time"])) for chunk in chunks for m in chunk]
    assert times == sorted(times) and times[-1] < T0 + 5 * STEP


def test_each_tagged_product_is_its_own_series(tmp_path):
    config = memory_workload.write_config(tmp_path / "config", 30)
    topics = load_topics(config / "topics.yaml")
    assert len(topics.product_names) == 30 and topics.topic_names  # shipped topics kept
    item = memory_workload.series_mentions(30, 1, 1)[0]
    keys = series_keys(parse_mention(item), Attribution(topics=topics))
    assert f"product:{item['product']}" in keys
    assert (config / "detection.yaml").exists()


def _windows(engine, rows):
    with Session(engine) as session:
        for series, minute, closed in rows:
            session.add(
                SeriesWindow(
                    series=series, window_start=T0 + minute * STEP, window_seconds=60, closed=closed
                )
            )
        session.commit()


def test_caught_up_means_every_series_closed_through_the_last_due_window(engine):
    last_due = T0 + 3 * STEP
    _windows(
        engine,
        [
            ("global", 0, True),
            ("global", 3, True),
            ("global", 4, False),  # ends after the watermark: not due
            ("product:a", 1, True),  # its empty windows 2-3 not written yet: behind
            ("product:b", 0, False),  # left open behind its last closed window
            ("product:b", 3, True),
            ("product:c", 5, False),  # nothing due yet
        ],
    )
    store = memory_store.Store(engine)
    assert store.lagging_series(last_due) == 1
    assert store.lagging(last_due) == [
        "product:a: windows 08:01-08:01 (1 rows, 0 open), last closed 08:01"
    ]
    _windows(engine, [("product:a", 2, True), ("product:a", 3, True)])
    assert store.lagging_series(last_due) == 0
    assert store.open_due(last_due) == 1
    assert store.stuck(last_due) == ["product:b: open from 08:00 (1 open), last closed 08:03"]
    assert store.live_series(T0) == 4
    assert store.closed_windows() == 6


def test_process_memory_is_read_from_proc():
    assert (memory_process.rss_kb(os.getpid()) or 0) > 0
    assert memory_process.rss_kb(None) is None
    assert isinstance(memory_process.descendants(os.getpid()), list)
