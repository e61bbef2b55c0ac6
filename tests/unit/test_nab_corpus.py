"""`crisismon eval nab` on NAB corpora other than realTweets: other layouts, other labels file
names, measurements instead of counts, dips as well as spikes, and one line for what it cannot
read."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from detectors.nab_corpus import NabDataError, read_corpus
from detectors.nab_eval import NabSettings, run

SENSORS = Path(__file__).parents[1] / "data" / "nab_sensors"


def crisismon(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "monitor", "eval", "nab", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=120,
    )


def standard_row(stdout: str, files: str) -> list[str]:
    """The cells of the table row for the standard profile and one subset of files."""
    for line in stdout.splitlines():
        cells = [c.strip() for c in line.strip("│┃ ").split("│")]
        if cells[:2] == ["standard", files]:
            return cells
    raise AssertionError(f"no standard row for {files!r} in:\n{stdout}")


def test_a_corpus_with_its_own_labels_file_name_and_no_tuning_files_is_scored():
    result = crisismon("--data", SENSORS)

    assert result.returncode == 0, result.stderr
    assert "combined_windows_sensors.json (3 files scored)" in result.stderr
    assert "NAB standard profiles (built in)" in result.stderr
    assert "all 3 files are held out" in result.stderr
    *_, normalised, tp, fp, fn = standard_row(result.stdout, "all 3")
    # Both labelled anomalies (a dip in a CPU share, a rise in a negative temperature) are
    # found, and the steady pump raises nothing.
    assert (tp, fp, fn) == ("2", "0", "0")
    assert float(normalised) > 90
    assert "tuning" not in result.stdout and "held-out" not in result.stdout


def test_labels_given_with_labels_are_used_and_keys_match_a_flat_folder(tmp_path: Path):
    data = tmp_path / "flat"
    data.mkdir()
    for csv_file in (SENSORS / "sensors").glob("*.csv"):
        shutil.copy(csv_file, data / csv_file.name)
    labels = tmp_path / "elsewhere" / "my_windows.json"
    labels.parent.mkdir()
    shutil.copy(SENSORS / "labels" / "combined_windows_sensors.json", labels)

    result = crisismon("--data", data, "--labels", labels)

    assert result.returncode == 0, result.stderr
    assert "my_windows.json (3 files scored)" in result.stderr
    assert standard_row(result.stdout, "all 3")[4:] == ["2", "0", "0"]


def test_nabs_own_layout_finds_labels_and_profiles_above_the_data_folder(tmp_path: Path):
    nab = tmp_path / "NAB"
    shutil.copytree(SENSORS / "sensors", nab / "data" / "sensors")
    (nab / "labels").mkdir()
    table = json.loads((SENSORS / "labels" / "combined_windows_sensors.json").read_text())
    table["realTweets/Twitter_volume_AAPL.csv"] = []  # labelled, not downloaded
    (nab / "labels" / "combined_windows.json").write_text(json.dumps(table))
    (nab / "config").mkdir()
    weights = {"tpWeight": 1.0, "fpWeight": 0.5, "fnWeight": 1.0, "tnWeight": 1.0}
    (nab / "config" / "profiles.json").write_text(json.dumps({"strict": {"CostMatrix": weights}}))

    corpus = read_corpus(nab / "data")

    assert corpus.labels_path == nab / "labels" / "combined_windows.json"
    assert [p.name for p in corpus.profiles] == ["strict"]
    assert corpus.missing == ["realTweets/Twitter_volume_AAPL.csv"]
    assert {f.key for f in corpus.files} == {f"sensors/{n}" for n in ("cpu_share.csv",
        "freezer_temp.csv", "pump_flow.csv")}  # fmt: skip


def test_fractions_dips_and_negative_values_are_found_where_labelled():
    corpus = read_corpus(SENSORS)
    files = {f.key: f for f in corpus.files}
    alerts = run(corpus.files).alerts

    cpu = files["sensors/cpu_share.csv"]
    assert not cpu.counts and min(cpu.values) > 0 and max(cpu.values) < 1
    [(lo, hi)] = cpu.windows
    assert [row for row in alerts[cpu.key] if row >= 300] == [1400]  # the dip's first row
    assert lo <= 1400 <= hi

    freezer = files["sensors/freezer_temp.csv"]
    assert freezer.step_seconds == 3600 and max(freezer.values[:1400]) < 0
    # Hourly rows: the 21-day memory is 504 rows, the spans 1, 2 and 8 rows.
    detector = NabSettings().detector(freezer)
    assert (detector.spans, detector.memory) == ((1, 2, 8), 504)
    assert 1500 in alerts[freezer.key]

    assert alerts["sensors/pump_flow.csv"] == []


def test_files_without_any_window_score_n_a_instead_of_dividing_by_zero(tmp_path: Path):
    shutil.copytree(SENSORS / "sensors", tmp_path / "sensors")
    (tmp_path / "labels.json").write_text(json.dumps({"sensors/pump_flow.csv": []}))

    result = crisismon("--data", tmp_path, "--labels", tmp_path / "labels.json")

    assert result.returncode == 0, result.stderr
    assert standard_row(result.stdout, "all 1")[3] == "n/a"
    assert "no labelled window falls inside these files" in result.stderr


def _corpus(root: Path, csv_text: str = "", labels: object = None) -> Path:
    """A one-file corpus: ``x/a.csv`` (a good file unless given) and
    ``labels/combined_windows.json``."""
    (root / "x").mkdir(parents=True)
    good = "timestamp,value\n" + "".join(
        f"2021-03-01 {h:02d}:{m:02d}:00,{0.5 + (h * m) % 7 / 10}\n"
        for h in range(24)
        for m in range(0, 60, 5)
    )
    (root / "x" / "a.csv").write_text(csv_text or good)
    (root / "labels").mkdir()
    table = {"x/a.csv": []} if labels is None else labels
    text = table if isinstance(table, str) else json.dumps(table)
    (root / "labels" / "combined_windows.json").write_text(text)
    return root


ERROR_CASES = {
    "no folder": (lambda root: root / "missing", "no such folder"),
    "no CSV": (lambda root: root, "no CSV files in it or below it"),
    "no labels": (
        lambda root: (_corpus(root), (root / "labels" / "combined_windows.json").unlink())[0],
        "no labels file (combined_windows*.json)",
    ),
    "labels name no CSV": (
        lambda root: _corpus(root, labels={"realTweets/Twitter_volume_AAPL.csv": []}),
        "names none of the 1 CSV files",
    ),
    "malformed JSON": (lambda root: _corpus(root, labels='{"x/a.csv": [['), "not valid JSON"),
    "empty labels": (lambda root: _corpus(root, labels=""), "combined_windows.json: empty file"),
    "point labels": (
        lambda root: _corpus(root, labels={"x/a.csv": ["2021-03-01 10:00:00"]}),
        "these look like point labels",
    ),
    "bad window time": (
        lambda root: _corpus(root, labels={"x/a.csv": [["yesterday", "today"]]}),
        "unreadable timestamp 'yesterday'",
    ),
    "empty CSV": (lambda root: _corpus(root, csv_text=" "), "a.csv: empty file"),
    "header only": (lambda root: _corpus(root, csv_text="timestamp,value\n"), "no data rows"),
    "no value column": (
        lambda root: _corpus(root, csv_text="time,count\n2021-03-01 00:00:00,1\n"),
        "must name 'timestamp' and 'value'",
    ),
    "non-numeric value": (
        lambda root: _corpus(root, csv_text="timestamp,value\n2021-03-01 00:00:00,lots\n"),
        "a.csv, line 2: value 'lots' is not a number",
    ),
    "infinite value": (
        lambda root: _corpus(root, csv_text="timestamp,value\n2021-03-01 00:00:00,inf\n"),
        "is not a finite number",
    ),
    "bad row time": (
        lambda root: _corpus(root, csv_text="timestamp,value\nnoon,1\n"),
        "a.csv, line 2: unreadable timestamp 'noon'",
    ),
}


@pytest.mark.parametrize("case", ERROR_CASES, ids=str)
def test_what_cannot_be_read_is_one_line_and_a_non_zero_exit(tmp_path: Path, case: str):
    make, words = ERROR_CASES[case]
    data = make(tmp_path / "nab")
    if case == "no CSV":
        data.mkdir()

    result = crisismon("--data", data)

    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("crisismon: error: ")
    assert words in lines[0]


def test_a_missing_labels_or_profiles_file_given_by_name_is_one_line(tmp_path: Path):
    for option in ("--labels", "--profiles"):
        result = crisismon("--data", SENSORS, option, tmp_path / "nope.json")
        assert result.returncode == 1
        assert result.stderr.strip() == f"crisismon: error: {tmp_path / 'nope.json'}: " + (
            "labels file not found" if option == "--labels" else "profiles file not found"
        )


def test_profiles_that_are_not_nab_profiles_are_refused(tmp_path: Path):
    path = tmp_path / "profiles.json"
    path.write_text(json.dumps({"standard": {"weights": [1, 0.11, 1]}}))
    with pytest.raises(NabDataError, match="not NAB profiles"):
        read_corpus(SENSORS, profiles=path)


def test_results_are_written_in_nabs_layout_or_refused_in_one_line(tmp_path: Path):
    out = tmp_path / "results"
    result = crisismon("--data", SENSORS, "--out", out)
    assert result.returncode == 0, result.stderr
    written = out / "crisismon" / "sensors" / "crisismon_cpu_share.csv"
    header, first, *_ = written.read_text().splitlines()
    assert header == "timestamp,value,anomaly_score,label"
    assert first.split(",")[1] == "0.4865"  # as in the data, not rounded

    blocked = tmp_path / "a_file"
    blocked.write_text("")
    result = crisismon("--data", SENSORS, "--out", blocked)
    assert result.returncode == 1
    assert (
        result.stderr.strip()
        .splitlines()[-1]
        .startswith(f"crisismon: error: {blocked}: cannot write results")
    )
