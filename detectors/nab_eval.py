"""Run one fixed detector configuration over a NAB corpus and score it.

The detector is the busiest-stretch `RecordDetector`, the same class live series run, watching
record highs and record lows; the alert policy mirrors the live incident merge: after an alert,
a file stays quiet for a day (one incident, not one alert per window). The configuration is
declared in time (minutes, days) and turned into rows per file from its median time step, so
hourly files get the same 21-day memory as NAB's 5-minute ones.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Callable, Hashable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from detectors.nab import CorpusScore, Profile, score_corpus
from detectors.nab_corpus import NabDataError, NabFile, read_corpus
from detectors.records import RecordDetector

__all__ = ["NabDataError", "NabFile", "NabSettings", "load_corpus", "run", "write_results"]

# The five realTweets files the configuration was chosen on (README, "Evaluation"); every other
# file, in realTweets or any other corpus, is held out.
TUNING_TICKERS = ("AAPL", "AMZN", "CRM", "CVS", "FB")
TUNING_FILES = frozenset(f"Twitter_volume_{ticker}.csv" for ticker in TUNING_TICKERS)


def is_tuning_file(nab_file: NabFile) -> bool:
    return PurePosixPath(nab_file.key).name in TUNING_FILES


@dataclass(frozen=True, slots=True)
class NabSettings:
    """The one configuration `crisismon eval nab` runs, in time rather than rows.

    Chosen on the standard profile over the five tuning files of realTweets only (the tuning
    log is in README.md; bench/nab_study.py repeats the choice with the halves swapped). A row
    alerts when the total of one of its spans is higher, or clearly lower, than every total of
    that span in the memory; then the file stays quiet for ``cooldown_days``.
    """

    spans_minutes: tuple[float, ...] = (5, 30, 120, 480)
    memory_days: float = 21
    bucket_hours: float = 6  # old totals kept as 6-hour maxima and minima
    # A stretch of fewer than five (tweets) is never a record high; applies to counts only,
    # since a file of 0.37s or of negative values has no "fewer than five".
    min_count: float = 5
    warmup_days: float = 1  # nothing alerts in a file's first day
    cooldown_days: float = 1
    # A record low must clear the previous low by a tenth of the remembered range (previous
    # high - previous low): count series set marginal lows every quiet weekend night, a dip
    # worth a page falls well below them. Declared before it was scored on realTweets. Highs
    # of measurements (not counts) need the same margin: a CPU share beats its record by 0.001
    # now and then; highs of counts rise by whole mentions past ``min_count`` instead.
    margin: float = 0.1
    direction: str = "both"

    def rows(self, seconds: float, step_seconds: float) -> int:
        return max(1, round(seconds / step_seconds))

    def detector(self, nab_file: NabFile) -> RecordDetector:
        step = nab_file.step_seconds
        spans = sorted({self.rows(m * 60, step) for m in self.spans_minutes})
        return RecordDetector(
            spans=tuple(spans),
            memory=max(self.rows(self.memory_days * 86400, step), 2),
            bucket=self.rows(self.bucket_hours * 3600, step),
            min_count=self.min_count if nab_file.counts else -math.inf,
            warmup=self.rows(self.warmup_days * 86400, step),
            direction=self.direction,
            low_margin=self.margin,
            high_margin=0.0 if nab_file.counts else self.margin,
        )

    def cooldown_rows(self, nab_file: NabFile) -> int:
        return self.rows(self.cooldown_days * 86400, nab_file.step_seconds)


def load_corpus(data_dir: Path, labels: Path | None = None) -> list[NabFile]:
    """Every labelled CSV under ``data_dir`` (see `detectors.nab_corpus.read_corpus`)."""
    return read_corpus(data_dir, labels).files


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
    nab_file: NabFile, settings: NabSettings, threshold: float | None = None
) -> tuple[list[float], list[int]]:
    """Anomaly scores per row (score before learn) and the rows that alert.

    No threshold means a full record: a total beyond every one of its span remembered."""
    detector = settings.detector(nab_file)
    bar = detector.full_record_score if threshold is None else threshold
    scores: list[float] = []
    for value in nab_file.values:
        x: dict[Hashable, Any] = {"n": value}
        scores.append(detector.score_one(x))
        detector.learn_one(x)
    alerting = (row for row, score in enumerate(scores) if score >= bar)
    return scores, one_per_cooldown(alerting, settings.cooldown_rows(nab_file))


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
    settings: NabSettings = NabSettings(),
    on_file: Callable[[str], None] = lambda _key: None,
) -> NabRun:
    scores, alerts = {}, {}
    for nab_file in files:
        scores[nab_file.key], alerts[nab_file.key] = detect(nab_file, settings)
        on_file(nab_file.key)
    return NabRun(files, scores, alerts)


def write_results(
    result: NabRun, out_dir: Path, detector_name: str = "crisismon"
) -> Iterator[Path]:
    """Files in NAB's results layout: timestamp, value, anomaly_score (0..1), label (0/1)."""
    for nab_file in result.files:
        key = PurePosixPath(nab_file.key)
        path = out_dir / detector_name / key.parent / f"{detector_name}_{key.name}"
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
                    [stamp, f"{value:.15g}", 1 if row in alerted else 0, 1 if row in inside else 0]
                )
        yield path
