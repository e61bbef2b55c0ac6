"""`crisismon eval scenarios` as a user runs it: the real generator, backtest and correlation."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def crisismon(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "monitor", *args],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=240,
        env={
            "PATH": "/usr/bin:/bin",
            "HOME": str(home),
            "CRISISMON_CONFIG_DIR": str(REPO / "config"),
        },
    )


def test_a_short_run_scores_every_crisis_and_keeps_a_replayable_stream(tmp_path: Path):
    report = tmp_path / "report.json"
    result = crisismon(
        tmp_path,
        "eval",
        "scenarios",
        "--seed",
        "1",
        "--days",
        "4",
        "--format",
        "json",
        "--out",
        str(report),
        "--write",
        str(tmp_path / "streams"),
    )
    assert result.returncode == 0, result.stderr
    data = json.loads(report.read_text())
    (seed,) = data["seeds"]
    assert seed["seed"] == 1 and seed["tuning"] is True  # 1-3 are the tuning seeds
    assert seed["days_scored"] == 2.0
    assert len(seed["crises"]) == 2 and seed["decoys"] == 1
    for crisis in seed["crises"]:
        assert {"found", "right_series", "delay_minutes", "incidents"} <= crisis.keys()
        if crisis["right_series"]:
            assert crisis["found"] and crisis["delay_minutes"] >= 0
    assert set(data["groups"]) == {"tuning"}

    kept = tmp_path / "streams" / "seed-1"
    truth = json.loads((kept / "truth.json").read_text())
    assert [c["id"] for c in truth["crises"]] == [c["id"] for c in seed["crises"]]
    lines = (kept / "mentions.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(lines) == truth["mentions"] > 15_000
    first = json.loads(lines[0])
    assert {"source", "external_id", "text", "event_time", "region", "lang"} <= first.keys()
    incidents = [json.loads(line) for line in (kept / "incidents.jsonl").read_text().splitlines()]
    assert seed["incidents"] == len(incidents)


def test_conflicting_or_malformed_seed_options_are_one_readable_line(tmp_path: Path):
    both = crisismon(tmp_path, "eval", "scenarios", "--seeds", "2", "--seed", "1")
    assert both.returncode == 1
    assert both.stderr.strip() == "crisismon: error: give one of --seeds, --seed-list or --seed"
    bad = crisismon(tmp_path, "eval", "scenarios", "--seed-list", "1,two")
    assert bad.returncode == 2
    assert len(bad.stderr.strip().splitlines()) == 1 and "--seed-list" in bad.stderr


def test_the_written_file_reads_back_to_exactly_the_mentions_the_benchmark_backtests(tmp_path):
    # The backtest is deterministic, so equal mentions mean `crisismon backtest` of the file
    # opens the same incidents as the benchmark did.
    from datetime import UTC, datetime

    from monitor.privacy import NO_KEY
    from monitor.shell.evaluation.scenario_run import parse_stream, throwaway_privacy
    from streams.crisis_scenarios import generate_stream, write_stream
    from streams.replay import read_records, validate_one

    stream = generate_stream(3, 4)
    mentions_path, _truth = write_stream(stream, tmp_path)
    now = datetime.now(UTC)
    privacy = throwaway_privacy(NO_KEY)
    from_file = [
        validate_one(record, default_source=None, now=now, privacy=privacy)
        for _line, record in read_records(mentions_path)
    ]
    assert from_file == parse_stream(stream, privacy)
