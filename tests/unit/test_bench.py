"""The benchmark harness: its reference runs with the worker's Faust settings, its stop condition
waits for scoring, and its report survives missing sections. No timings are asserted."""

from __future__ import annotations

import time
import warnings
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import Session

from bench import hotspots, passthrough, report, run_all
from bench.common import BenchError, Progress
from monitor.app import create_app, faust_broker_url
from monitor.settings import Settings
from monitor.storage.models import IngestProgress, Mention, SeriesWindow

T0 = datetime(2026, 1, 1, 10, 0, tzinfo=UTC)
MINUTE = timedelta(minutes=1)


def test_the_pass_through_reference_has_the_workers_faust_settings(tmp_path):
    settings = Settings(data_dir=tmp_path, web_port=6123)
    worker = create_app(settings)
    reference = passthrough.build_app(
        "passthrough-test",
        source="a",
        sink="b",
        marker=tmp_path / "first",
        settings=settings,
        broker_url=faust_broker_url(settings),
        web_port=settings.web_port,
        datadir=tmp_path / "ref",
    )
    # Only what the app id and the data dir name may differ.
    own = {"id", "name", "datadir", "appdir", "tabledir", "reply_to"}
    differ = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # deprecated settings warn when read
        for name in dir(type(worker.conf)):
            if name.startswith("_") or name in own:
                continue
            try:
                mine, theirs = getattr(worker.conf, name), getattr(reference.conf, name)
            except Exception:
                continue
            if not callable(mine) and mine != theirs:
                differ.append((name, mine, theirs))
    assert differ == []


def _mention(i: int, at: datetime) -> Mention:
    return Mention(
        mention_id=f"m{i}",
        source="bench",
        external_id=str(i),
        text="hello",
        compound=0.0,
        label="neutral",
        series_keys=" global ",
        event_time=at,
        ingest_time=at,
    )


def _window(start: datetime, closed: bool) -> SeriesWindow:
    return SeriesWindow(series="global", window_start=start, window_seconds=60, closed=closed)


def test_progress_waits_for_windows_the_engines_watermark_passed(engine):
    with Session(engine) as session:
        session.add_all([_mention(i, T0 + i * MINUTE + timedelta(seconds=30)) for i in range(5)])
        session.add_all([_window(T0 + i * MINUTE, closed=i < 1) for i in range(5)])
        # Partition 1 trails: the engine's event time is 10:02:30, not the newest 10:04:30.
        for partition, newest in ((0, 4), (1, 2)):
            session.add(
                IngestProgress(
                    topic="t",
                    partition=partition,
                    max_event_time=T0 + newest * MINUTE + timedelta(seconds=30),
                    updated_at=T0,
                )
            )
        session.commit()
    progress = Progress(engine, expected=5, lateness=timedelta(seconds=5))

    # 10:02:25 is the watermark: window 10:01 is due and still open.
    assert progress.due_open(T0 + 2 * MINUTE + timedelta(seconds=25)) == [("global", T0 + MINUTE)]
    with pytest.raises(BenchError, match="did not catch up"):
        progress.wait(time.monotonic(), timeout=5, poll=0.01, stall=0.05)

    with Session(engine) as session:
        window = session.get(SeriesWindow, ("global", T0 + MINUTE))
        assert window is not None
        window.closed = True
        session.commit()
    done = progress.wait(time.monotonic(), timeout=5, poll=0.01)
    assert done.watermark_lag_s == 120
    # 10:02 and 10:03 end by the newest event time − lateness but not by the engine's.
    assert done.tail_windows_open == 2
    with pytest.raises(BenchError, match="did not catch up"):
        Progress(engine, 5, timedelta(seconds=5), strict=True).wait(
            time.monotonic(), timeout=5, poll=0.01, stall=0.05
        )


def test_progress_gives_up_when_mentions_are_missing(engine):
    progress = Progress(engine, expected=1, lateness=timedelta(seconds=5))
    with pytest.raises(BenchError, match="0 of 1 mentions stored"):
        progress.wait(time.monotonic(), timeout=0.05, poll=0.01)


def test_profile_summary_leaves_out_idle_threads_and_plumbing():
    raw = "\n".join(
        [
            "_bootstrap (threading.py:1);_worker (concurrent/futures/thread.py:69) 50",
            "main (monitor/shell/worker.py:10);select (selectors.py:451) 30",
            "_bootstrap (threading.py:1);_worker (concurrent/futures/thread.py:69);"
            "ingest (streams/ingest.py:5);score (detectors/s.py:1);score (detectors/s.py:1) 6",
            "main (monitor/shell/worker.py:10);agent (monitor/shell/agents/streams.py:3) 4",
        ]
    )
    summary = hotspots.summarize(raw, top=5)
    assert summary["samples"] == 10
    assert summary["idle_samples_left_out"] == 80
    assert summary["shares"] == {
        "worker_event_loop": 0.4,
        "worker_thread_pool": 0.6,
        "child_processes": 0.0,
    }
    listed = {row["function"]: row["share"] for row in summary["top_cumulative"]}
    # Recursion counts once per sample; thread and worker plumbing is not listed.
    assert listed == {
        "ingest (streams/ingest.py:5)": 0.6,
        "score (detectors/s.py:1)": 0.6,
        "agent (monitor/shell/agents/streams.py:3)": 0.4,
    }
    assert summary["top_own"][0] == {
        "function": "score (detectors/s.py:1)",
        "samples": 6,
        "share": 0.6,
    }


def test_profile_lines_of_child_processes_are_told_apart():
    raw = (
        'process 1:"python -m monitor worker";process 2:"python -c a; b(fd=3)";'
        "<module> (<string>:1);score (detectors/s.py:1) 3\n"
        'process 1:"python -m monitor worker";agent (monitor/shell/agents/streams.py:3) 1\n'
    )
    assert hotspots.parse_line(raw.splitlines()[0]) == (
        2,
        ["<module> (<string>:1)", "score (detectors/s.py:1)"],
        3,
    )
    raw += "main (m.py:1);_find_and_load (<frozen importlib._bootstrap>:1165);<module> (x.py:1) 4\n"
    summary = hotspots.summarize(raw)
    assert summary["shares"]["child_processes"] == 0.375
    # importlib's frames are one entry; the module being imported is listed as it is.
    assert {row["function"]: row["samples"] for row in summary["top_cumulative"]} == {
        "main (m.py:1)": 4,
        hotspots.IMPORTING: 4,
        "score (detectors/s.py:1)": 3,
        "agent (monitor/shell/agents/streams.py:3)": 1,
    }


def test_results_always_carry_the_stable_keys():
    assert set(run_all.headline({})) == set(run_all.STABLE_KEYS)
    assert all(value is None for value in run_all.headline({}).values())
    figures = {
        "e2e_postgres": {"rate": 400.0, "ratio": 0.2},
        "e2e_postgres_2_workers": {"rate": 600.0, "ratio": 0.3},
        "cold_start": {"ready_s": 5.5, "first_mention_s": 6.0},
    }
    head = run_all.headline(figures)
    assert head["workers_2_vs_1_postgres"] == 1.5
    assert head["e2e_vs_passthrough_postgres"] == 0.2
    assert head["cold_start_s"] == 5.5


def test_the_report_renders_whatever_ran():
    assert "# Benchmarks" in report.render({})
    results = {
        "quick": True,
        "e2e_vs_passthrough_sqlite": 0.6,
        "e2e_vs_passthrough_postgres": 0.3,
        "targets": {k: {"op": op, "value": v} for k, (op, v) in run_all.TARGETS.items()},
        "figures": {
            "e2e_sqlite": {"rate": 3000.0, "ratio": 0.6, "reference": {"rate": 5000.0}},
            "e2e_postgres": {"rate": 1500.0, "ratio": 0.3, "reference": {"rate": 5000.0}},
        },
        "skipped": {"memory": "bench/memory.py does not exist yet"},
        "errors": {"intake": "BenchError: detection did not catch up"},
    }
    text = report.render(results)
    assert "| End to end, SQLite, 1 worker | 3,000 mentions/s" in text
    assert ">= 0.5: met" in text
    assert ">= 0.4: **missed**" in text
    assert "`memory`: bench/memory.py does not exist yet" in text
    assert "quick smoke run" in text
