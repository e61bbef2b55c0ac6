"""Backtests run the live detector offline: same alerts as live, quiet on ordinary history."""

from __future__ import annotations

import itertools
import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from detectors.backtest import (
    BacktestError,
    histories_from_mentions,
    incidents_of,
    load_value_csv,
    run_series,
)
from detectors.config import DetectionConfig
from detectors.plot import plot_series
from detectors.sentiment import VaderScorer
from monitor.privacy import Privacy
from streams.mentions import parse_mention
from streams.scenario import outage_scenario

END = datetime(2026, 1, 5, 12, tzinfo=UTC)
REPO = Path(__file__).resolve().parents[2]


def scenario_histories():
    items = outage_scenario(end=END, run_id="bt")
    privacy = Privacy.from_key("backtest-test-key")  # the scenario's authors need pseudonyms
    mentions = [parse_mention(item, privacy=privacy) for item in items]
    return histories_from_mentions(mentions, VaderScorer(), 60)


def test_mentions_become_one_gapless_history_per_series():
    histories = {h.series: h for h in scenario_histories()}
    assert set(histories) == {"global", "source:social", "source:reviews", "source:tickets"}
    rows = histories["global"].rows
    steps = {(b[0] - a[0]).total_seconds() for a, b in itertools.pairwise(rows)}
    assert steps == {60.0}
    total = sum(row[1] for row in rows)
    assert total == len(outage_scenario(end=END, run_id="bt"))


def test_the_outage_burst_alerts_and_the_ordinary_hours_do_not():
    histories = {h.series: h for h in scenario_histories()}
    result = run_series(histories["global"], DetectionConfig())
    burst_start = END - timedelta(minutes=11)
    assert result.alerts, "the burst went unnoticed"
    assert all(a.window_start >= burst_start for a in result.alerts)
    assert incidents_of(result.alerts, timedelta(minutes=30)) == 1
    assert any(a.severity == "critical" for a in result.alerts)
    assert "expected" in result.alerts[0].describe()


def write_values(path: Path, values: list[int], step_minutes: int = 5) -> Path:
    start = datetime(2015, 3, 1, tzinfo=UTC)
    lines = ["timestamp,value"] + [
        f"{(start + timedelta(minutes=step_minutes * i)):%Y-%m-%d %H:%M:%S},{v}"
        for i, v in enumerate(values)
    ]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_a_value_csv_is_one_series_with_its_own_window_length(tmp_path: Path):
    values = [20 + (i * 37) % 7 for i in range(600)]
    values[500] = 400
    history = load_value_csv(write_values(tmp_path / "volume.csv", values))
    assert history.window_seconds == 300 and len(history.rows) == 600
    result = run_series(history, DetectionConfig(), band_stride=10)
    assert [a.window_start for a in result.alerts] == [history.rows[500][0]]
    assert result.bands and all(lo <= hi for _i, lo, hi in result.bands)
    png = plot_series(result, tmp_path / "plot.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_unusable_value_csvs_are_clear_errors(tmp_path: Path):
    bad = tmp_path / "bad.csv"
    bad.write_text("timestamp,value\n2015-03-01 00:00:00,1\nyesterday,2\n")
    with pytest.raises(BacktestError, match="line 3"):
        load_value_csv(bad)
    with pytest.raises(BacktestError, match="no such file"):
        load_value_csv(tmp_path / "missing.csv")


def crisismon(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The real command line, with the shipped config and a throwaway home."""
    result = subprocess.run(
        [sys.executable, "-m", "monitor", *args],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=120,
        env={
            "PATH": "/usr/bin:/bin",
            "HOME": str(home),
            "CRISISMON_CONFIG_DIR": str(REPO / "config"),
        },
    )
    assert result.returncode == 0, result.stderr
    return result


def test_the_cli_prints_alerts_and_writes_the_plot(tmp_path: Path):
    values = [30 + (i * 13) % 5 for i in range(400)]
    values[350] = 500
    csv_path = write_values(tmp_path / "Twitter_volume_X.csv", values)
    result = crisismon(tmp_path, "backtest", str(csv_path), "--plot", str(tmp_path / "out.png"))
    assert "Twitter_volume_X: 400 windows of 300s, 1 anomalous windows in 1 incidents" in (
        " ".join(result.stdout.split())
    )
    assert (tmp_path / "out.png").stat().st_size > 10_000


def test_simulate_then_backtest_finds_the_one_segment_crisis(tmp_path: Path):
    out = tmp_path / "segment.jsonl"
    made = crisismon(
        tmp_path,
        *("simulate", "--scenario", "segment-crisis", "--days", "2"),
        *("--start", "2026-03-02T00:00:00Z", "--out", str(out)),
    )
    assert "detectable from 2026-03-03 14:00 UTC" in " ".join(made.stderr.split())
    tested = crisismon(tmp_path, "backtest", str(out), "--show", "1")
    text = " ".join(tested.stdout.split())
    # Offline there are no customers to evaluate segments on: the VIPs' angry tickets show in
    # their source (and in topic:outage) as one incident; global's volume and negativity stay
    # quiet (only the word "outage" rising may show there), and the other sources stay quiet.
    assert re.search(
        r"source:tickets: 2,879 windows of 60s, \d+ anomalous windows in 1 incidents", text
    )
    global_alerts = re.findall(r"UTC (?:warning|critical|info) global · ([a-z ]+):", text)
    assert set(global_alerts) <= {"term burst"}
    # Each series begins with its own first mention, as live detection starts it.
    assert re.search(r"source:social: 2,8\d\d windows of 60s, 0 anomalous windows", text)
    assert re.search(r"source:reviews: 2,8\d\d windows of 60s, 0 anomalous windows", text)
    assert "segment:" not in text


def test_a_backtest_of_a_mentions_file_names_the_phrase_that_burst(tmp_path: Path):
    out = tmp_path / "billing.jsonl"
    crisismon(
        tmp_path,
        *("simulate", "--scenario", "charged-twice", "--days", "2"),
        *("--start", "2026-03-02T00:00:00Z", "--out", str(out)),
    )
    tested = crisismon(tmp_path, "backtest", str(out), "--show", "1")
    text = " ".join(tested.stdout.split())
    assert 'global · term burst: "charged twice" in ' in text
    assert 'top terms: "charged twice" ' in text
