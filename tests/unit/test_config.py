"""Detection settings from YAML: the shipped file loads, and mistakes name the file and the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from detectors.config import ConfigError, DetectionConfig, DetectorSettings, load_detection_config

SHIPPED = Path(__file__).resolve().parents[2] / "config" / "detection.yaml"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "detection.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_shipped_file_loads_with_its_documented_values():
    config = load_detection_config(SHIPPED)
    assert config.window_seconds == 60
    assert config.detector.warmup_windows == 30
    assert config.detector.alert_score == 5.0
    assert config.detector.critical_score == 10.0
    assert config.incidents.merge_gap_seconds == 1800


def test_an_empty_file_means_all_defaults(tmp_path):
    assert load_detection_config(write(tmp_path, "")) == DetectionConfig()


def test_built_detector_uses_the_configured_sensitivity(tmp_path):
    path = write(
        tmp_path,
        "detector:\n  half_life_windows: 12\n  warmup_windows: 3\n  min_count: 2\n"
        "  alert_score: 7.5\n",
    )
    detector = load_detection_config(path).detector.build()
    assert detector.half_life == 12
    assert detector.warmup == 3
    assert detector.min_count == 2
    assert detector.learn_clip_score == 7.5


def test_missing_file_is_named(tmp_path):
    missing = tmp_path / "nope.yaml"
    with pytest.raises(ConfigError, match=r"nope\.yaml: file not found"):
        load_detection_config(missing)


def test_invalid_yaml_is_reported_with_the_file(tmp_path):
    path = write(tmp_path, "detector: [unclosed\n")
    with pytest.raises(ConfigError, match=r"detection\.yaml:\d+: not valid YAML"):
        load_detection_config(path)


@pytest.mark.parametrize(
    ("text", "line", "key"),
    [
        ("detector:\n  warmup_windows: 0\n", 2, "detector.warmup_windows"),
        ("window_seconds: soon\n", 1, "window_seconds"),
        ("incidents:\n  alert_gather_seconds: 90\n", 2, "incidents.alert_gather_seconds"),
        ("detector:\n  alert_scor: 4\n", 2, "detector.alert_scor"),  # a typo is not ignored
        ("- just\n- a list\n", 1, "(top level)"),
    ],
)
def test_invalid_value_names_the_file_line_and_dotted_key(tmp_path, text, line, key):
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as raised:
        load_detection_config(path)
    assert str(raised.value).startswith(f"{path}:{line}: {key}: ")


@pytest.mark.parametrize(
    ("score", "severity"),
    [(4.99, None), (5.0, "warning"), (9.99, "warning"), (10.0, "critical"), (50.0, "critical")],
)
def test_severity_grades_scores_against_alert_and_critical_thresholds(score, severity):
    assert DetectorSettings().severity(score) == severity


def test_defaults_match_the_shipped_file():
    assert load_detection_config(SHIPPED) == DetectionConfig()
