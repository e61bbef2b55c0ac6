"""`crisismon backtest` and `replay` as a user runs them: incidents, files, and bad files."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

from streams.scenario import outage_scenario, write_jsonl

END = datetime(2026, 1, 5, 12, tzinfo=UTC)
REPO = Path(__file__).resolve().parents[2]


def crisismon(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The real command line, output piped (not a terminal), with the shipped config."""
    return subprocess.run(
        [sys.executable, "-m", "monitor", *args],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=120,
        env={
            "PATH": "/usr/bin:/bin",
            "HOME": str(home),
            "CRISISMON_CONFIG_DIR": str(REPO / "config"),
            # Replay refuses a bad file before it connects; nothing listens here.
            "CRISISMON_BROKER": "kafka://127.0.0.1:9",
        },
    )


def created_at_csv(path: Path) -> Path:
    """The outage scenario as an export whose times sit in a `created_at` column."""
    items = outage_scenario(end=END, run_id="csv")
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, ["source", "external_id", "created_at", "text"])
        writer.writeheader()
        for item in items:
            writer.writerow(
                {
                    "source": item["source"],
                    "external_id": item["external_id"],
                    "created_at": item["event_time"],
                    "text": item["text"],
                }
            )
    return path


def test_backtest_writes_one_incident_per_line_and_never_wraps_piped_output(tmp_path: Path):
    file = write_jsonl(outage_scenario(end=END, run_id="bt"), tmp_path / "outage.jsonl")
    out = tmp_path / "incidents.jsonl"
    result = crisismon(tmp_path, "backtest", str(file), "--incidents-out", str(out))
    assert result.returncode == 0, result.stderr
    # It says what it judged: the span, and that each series' first windows only trained.
    assert "the file spans" in result.stderr
    assert "judged: each series after its first 30 windows (30 min)" in result.stderr

    incidents = [json.loads(line) for line in out.read_text().splitlines()]
    paged = [i for i in incidents if i["paged_at"]]
    assert len(paged) == 1, incidents
    [outage] = paged
    assert outage["severity"] == "critical" and outage["series"][0] == "global"
    assert outage["opened_at"] == "2026-01-05T11:49:00+00:00"  # the burst's first minute
    assert outage["paged_at"] == "2026-01-05T11:50:00+00:00"  # paged as that window closed
    assert {"closed_at", "metric", "top_terms", "anomalies"} <= set(outage)
    assert "outage" in outage["top_terms"]

    lines = result.stdout.splitlines()
    # Piped: each incident and each anomalous window is one whole line, however long.
    [line] = [x for x in lines if x.startswith("  2026-01-05 11:49–")]
    assert "critical" in line and "paged 11:50" in line and "global" in line
    assert line.endswith(", ".join(outage["top_terms"][:5]))
    assert max(len(x) for x in lines) > 120
    assert all(not x.startswith("usual") for x in lines)  # no continuation lines
    # At most three anomalous windows listed per series by default.
    assert len([x for x in lines if x.startswith("  2026-01-05 11:") and "· volume:" in x]) <= 12
    assert "incidents written to" in result.stderr


def test_a_file_without_event_times_is_refused_and_names_its_time_column(tmp_path: Path):
    file = created_at_csv(tmp_path / "export.csv")
    rows = len(file.read_text().splitlines()) - 1
    for command in ("backtest", "replay"):
        result = crisismon(tmp_path, command, str(file))
        assert result.returncode == 1, result.stdout
        lines = result.stderr.strip().splitlines()
        assert lines[-1] == (
            f"crisismon: error: {rows:,} rows have no event_time and were stamped with the "
            "current time; the file has a `created_at` column, see --mapping (or pass "
            "--allow-now to keep the current time)"
        ), result.stderr


def test_allow_now_backtests_the_file_in_one_minute_and_mapping_reads_its_times(tmp_path: Path):
    file = created_at_csv(tmp_path / "export.csv")
    now = crisismon(tmp_path, "backtest", str(file), "--allow-now", "--show", "0")
    assert now.returncode == 0, now.stderr
    assert "global: 1 windows of 60s" in now.stdout  # everything stamped into this minute

    mapping = tmp_path / "mapping.yaml"
    mapping.write_text(
        "columns:\n  text: text\n  source: source\n  external_id: external_id\n"
        "  event_time: created_at\n"
    )
    out = tmp_path / "incidents.jsonl"
    mapped = crisismon(
        tmp_path, "backtest", str(file), "--mapping", str(mapping), "--incidents-out", str(out)
    )
    assert mapped.returncode == 0, mapped.stderr
    paged = [i for i in map(json.loads, out.read_text().splitlines()) if i["paged_at"]]
    assert [i["opened_at"] for i in paged] == ["2026-01-05T11:49:00+00:00"]


def test_incidents_out_needs_a_mentions_file(tmp_path: Path):
    values = tmp_path / "values.csv"
    values.write_text(
        "timestamp,value\n"
        + "".join(f"2026-01-05T10:{m:02d}:00Z,{30 + m % 3}\n" for m in range(40))
    )
    result = crisismon(tmp_path, "backtest", str(values), "--incidents-out", "x.jsonl")
    assert result.returncode == 2
    assert "--incidents-out" in result.stderr and "mentions file" in result.stderr


def test_backtest_of_a_file_too_short_to_judge_says_so_and_names_bad_records(tmp_path: Path):
    file = tmp_path / "short.jsonl"
    lines = [
        json.dumps(
            {
                "source": "social",
                "text": f"login broken {n}",
                "event_time": f"2026-01-05T12:0{n}:00Z",
            }
        )
        for n in range(5)
    ]
    file.write_text("\n".join([*lines, '{"source": "social"}']) + "\n")
    result = crisismon(tmp_path, "backtest", str(file))
    assert result.returncode == 0, result.stderr
    assert "1 of 6 records were not valid mentions and were left out; the first: line 6" in (
        result.stderr
    )
    assert "nothing was judged" in result.stderr
