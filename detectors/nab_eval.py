"""Run one fixed detector configuration over NAB's realTweets files and score it.

The detector is the busiest-stretch `RecordDetector` (`RecordSettings.build()`), the same class
live series run; the alert policy mirrors the live incident merge: after an alert, a series
stays quiet for ``cooldown`` rows (one incident, not one alert per window).
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Hashable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from detectors.config import RecordSettings
from detectors.nab import PROFILES, CorpusScore, Profile, score_corpus

_TIME_FORMATS = ("%Y-%m-%d %H:%M:%S.%f", "%Y-%m-%d %H:%M:%S")


class NabDataError(ValueError):
    """The NAB folder is missing something; the message names the file."""


@dataclass(frozen=True, slots=True)
class NabFile:
    key: str  # NAB's key, e.g. "realTweets/Twitter_volume_AAPL.csv"
    timestamps: list[str]
    values: list[float]
    windows: list[tuple[int, int]]  # inclusive row indices


@dataclass(frozen=True, slots=True)
class PolicySettings:
    """When a score becomes an alert: the fixed threshold and the incident cooldown.

    No threshold means a full record: a total busier than every one of its span remembered."""

    threshold: float | None = None
    cooldown_rows: int = 288  # one day of 5-minute rows


def _parse_time(text: str) -> datetime:
    for fmt in _TIME_FORMATS:
        try:
            return datetime.strptime(text, fmt)
        except ValueError:
            continue
    raise NabDataError(f"unreadable timestamp {text!r}")


def load_corpus(data_dir: Path) -> list[NabFile]:
    """Every realTweets CSV with its windows mapped to row indices."""
    windows_path = data_dir / "labels" / "combined_windows_realTweets.json"
    if not windows_path.is_file():
        raise NabDataError(f"{windows_path}: not found (is --data the NAB folder?)")
    labels = json.loads(windows_path.read_text(encoding="utf-8"))
    files = []
    for key in sorted(labels):
        path = data_dir / key
        if not path.is_file():
            raise NabDataError(f"{path}: listed in the labels but not found")
        with path.open(newline="", encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle))
        timestamps = [row["timestamp"] for row in rows]
        values = [float(row["value"]) for row in rows]
        times = [_parse_time(t) for t in timestamps]
        windows = []
        for start, end in labels[key]:
            lo, hi = _parse_time(start), _parse_time(end)
            inside = [i for i, t in enumerate(times) if lo <= t <= hi]
            if inside:
                windows.append((inside[0], inside[-1]))
        files.append(NabFile(key, timestamps, values, windows))
    if not files:
        raise NabDataError(f"{windows_path}: no files listed")
    return files


def load_profiles(data_dir: Path) -> tuple[Profile, ...]:
    path = data_dir / "profiles.json"
    if not path.is_file():
        return PROFILES
    data = json.loads(path.read_text(encoding="utf-8"))
    return tuple(
        Profile(
            name,
            float(p["CostMatrix"]["tpWeight"]),
            float(p["CostMatrix"]["fpWeight"]),
            float(p["CostMatrix"]["fnWeight"]),
        )
        for name, p in data.items()
    )


def one_per_cooldown(rows: Iterable[int], cooldown: int) -> list[int]:
    """The alerting rows that open an incident: after an alert a file stays quiet for
    ``cooldown`` rows.

    >>> one_per_cooldown([3, 4, 10, 20, 21], cooldown=10)
    [3, 20]
    """
    alerts: list[int] = []
    for row in rows:
        if not alerts or row > alerts[-1] + cooldown:
            alerts.append(row)
    return alerts


def detect(
    values: list[float], detector_settings: RecordSettings, policy: PolicySettings
) -> tuple[list[float], list[int]]:
    """Anomaly scores per row (score before learn) and the rows that alert under the policy."""
    detector = detector_settings.build()
    threshold = detector.full_record_score if policy.threshold is None else policy.threshold
    scores: list[float] = []
    for value in values:
        x: dict[Hashable, Any] = {"n": int(value)}
        scores.append(detector.score_one(x))
        detector.learn_one(x)
    alerting = (row for row, score in enumerate(scores) if score >= threshold)
    return scores, one_per_cooldown(alerting, policy.cooldown_rows)


@dataclass(frozen=True, slots=True)
class NabRun:
    files: list[NabFile]
    scores: dict[str, list[float]]
    alerts: dict[str, list[int]]

    def corpus_scores(self, profiles: tuple[Profile, ...]) -> list[CorpusScore]:
        return [
            score_corpus(
                ((self.alerts[f.key], f.windows, len(f.values)) for f in self.files), profile
            )
            for profile in profiles
        ]


def run(
    files: list[NabFile],
    detector_settings: RecordSettings,
    policy: PolicySettings,
    on_file: Callable[[str], None] = lambda _key: None,
) -> NabRun:
    scores, alerts = {}, {}
    for nab_file in files:
        scores[nab_file.key], alerts[nab_file.key] = detect(
            nab_file.values, detector_settings, policy
        )
        on_file(nab_file.key)
    return NabRun(files, scores, alerts)


def write_results(
    result: NabRun, out_dir: Path, detector_name: str = "crisismon"
) -> Iterator[Path]:
    """Files in NAB's results layout: timestamp, value, anomaly_score (0..1), label (0/1)."""
    for nab_file in result.files:
        folder, name = nab_file.key.split("/", 1)
        path = out_dir / detector_name / folder / f"{detector_name}_{name}"
        path.parent.mkdir(parents=True, exist_ok=True)
        alerted = set(result.alerts[nab_file.key])
        inside = {i for lo, hi in nab_file.windows for i in range(lo, hi + 1)}
        with path.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(["timestamp", "value", "anomaly_score", "label"])
            for row, (stamp, value) in enumerate(
                zip(nab_file.timestamps, nab_file.values, strict=True)
            ):
                writer.writerow(
                    [stamp, f"{value:g}", 1 if row in alerted else 0, 1 if row in inside else 0]
                )
        yield path
