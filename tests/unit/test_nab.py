"""NAB scoring on hand-made cases, and the evaluation harness on a tiny NAB-format corpus."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from detectors.nab import PROFILES, STANDARD, score_corpus, score_file
from detectors.nab_eval import NabDataError, NabSettings, load_corpus, run, write_results

ROWS = 2000
WINDOWS = [(900, 999), (1500, 1599)]


def normalised(detections: list[int], profile=STANDARD) -> float:
    return score_corpus([(detections, WINDOWS, ROWS)], profile).normalised


@pytest.mark.parametrize("profile", PROFILES, ids=lambda p: p.name)
def test_a_perfect_detector_scores_100_and_a_silent_one_0(profile):
    assert normalised([900, 1500], profile) == pytest.approx(100.0)
    assert normalised([], profile) == pytest.approx(0.0)


def test_an_early_hit_inside_a_window_beats_a_late_one():
    assert normalised([910]) > normalised([990]) > normalised([])


def test_only_the_first_hit_in_a_window_counts():
    assert normalised([910]) == pytest.approx(normalised([910, 950, 990]))


def test_a_false_positive_costs_less_just_after_a_window_than_far_from_it():
    just_after = score_file([1000], WINDOWS, ROWS, STANDARD).raw
    later = score_file([1030], WINDOWS, ROWS, STANDARD).raw
    before_any = score_file([500], WINDOWS, ROWS, STANDARD).raw
    assert just_after > later > before_any
    assert before_any == pytest.approx(-2.0 - 0.11)  # two misses and a full-weight FP


def test_detections_in_the_probationary_period_are_ignored():
    # 15 % of 2,000 rows = 300 rows of probation.
    assert score_file([10, 299], WINDOWS, ROWS, STANDARD).false_positives == 0
    assert score_file([300], WINDOWS, ROWS, STANDARD).false_positives == 1


def test_the_low_fp_profile_punishes_false_positives_harder():
    noisy = [400, 600, 900, 1500]
    assert normalised(noisy, PROFILES[1]) < normalised(noisy, STANDARD)


def write_corpus(root: Path) -> Path:
    """A two-file NAB-format corpus: steady counts with one spike inside each labelled window."""
    folder = root / "realTweets"
    folder.mkdir(parents=True)
    windows = {}
    for name, spike_at in (("Twitter_volume_A.csv", 1200), ("Twitter_volume_B.csv", 1600)):
        lines = ["timestamp,value"]
        for row in range(2000):
            minutes = row * 5
            day, hour, minute = 1 + minutes // 1440, minutes % 1440 // 60, minutes % 60
            stamp = f"2015-03-{day:02d} {hour:02d}:{minute:02d}:00"
            value = 300 if spike_at <= row < spike_at + 6 else 20 + (row * 7919) % 9
            lines.append(f"{stamp},{value}")
        (folder / name).write_text("\n".join(lines) + "\n")
        first, last = lines[spike_at - 20 + 1].split(",")[0], lines[spike_at + 40 + 1].split(",")[0]
        windows[f"realTweets/{name}"] = [[f"{first}.000000", f"{last}.000000"]]
    (root / "labels").mkdir()
    (root / "labels" / "combined_windows_realTweets.json").write_text(json.dumps(windows))
    return root


def test_the_harness_detects_each_labelled_spike_once_and_writes_nab_results(tmp_path: Path):
    files = load_corpus(write_corpus(tmp_path / "nab"))
    assert [f.windows for f in files] == [[(1180, 1240)], [(1580, 1640)]]
    result = run(files, NabSettings(spans_minutes=(5, 30), memory_days=4, warmup_days=0.5))
    assert result.alerts == {
        "realTweets/Twitter_volume_A.csv": [1200],
        "realTweets/Twitter_volume_B.csv": [1600],
    }
    [standard] = [s for s in result.corpus_scores(PROFILES) if s.profile == STANDARD]
    assert (standard.true_positives, standard.false_positives, standard.false_negatives) == (
        2,
        0,
        0,
    )
    written = list(write_results(result, tmp_path / "results"))
    header, *rows = written[0].read_text().splitlines()
    assert header == "timestamp,value,anomaly_score,label"
    assert sum(int(r.split(",")[2]) for r in rows) == 1
    assert sum(int(r.split(",")[3]) for r in rows) == 61


def test_a_folder_without_labels_is_a_clear_error(tmp_path: Path):
    (tmp_path / "a.csv").write_text("timestamp,value\n2015-03-01 00:00:00,1\n")
    with pytest.raises(NabDataError, match=r"no labels file \(combined_windows\*\.json\)"):
        load_corpus(tmp_path)
