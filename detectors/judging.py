"""One closed window judged as live does: the count, term-burst and record detectors, each
finding graded against the series' alert score. Window closing and backtests both call this,
so a backtest reports exactly what production would."""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass, replace
from typing import Any

from detectors.config import DetectionConfig
from detectors.count_spike import CountSpikeDetector
from detectors.findings import Finding
from detectors.record_store import record_finding
from detectors.records import RecordDetector
from detectors.terms import TermBurstDetector, TermCount


@dataclass(frozen=True, slots=True)
class Judgement:
    counted: list[Finding]  # the count detector's findings; the first is the volume
    reported: list[tuple[Finding, str]]  # findings that alert (or explain), with their severity
    top_terms: list[TermCount]  # the window's risen terms, when something is reported
    score: float  # the highest count or term score, alerting or not

    @property
    def expected_volume(self) -> float | None:
        """Mentions expected per window, for the stored window row and plots."""
        volume = self.counted[0] if self.counted else None
        return volume.expected / volume.windows if volume else None


def judge_window(
    config: DetectionConfig,
    counts: CountSpikeDetector,
    terms: TermBurstDetector,
    records: RecordDetector,
    x: dict[Hashable, Any],
    alert_score: float | None = None,
) -> Judgement:
    """Score a window before it is learnt (see `learn_window`)."""
    counted = config.detector.judge(counts, x, alert_score)
    said = config.terms.judge(terms, x, config.detector, alert_score)
    if said and counts.warmed_up and counts.calm(x):
        # Words that burst while people are no angrier than usual (a launch, a campaign, a
        # story being syndicated) need the slow detectors' calm-rise margin more to alert.
        penalty = config.detector.slow.calm_rise_penalty
        said = [replace(f, score=max(f.score - penalty, 0.0)) for f in said]
    findings = counted + said
    graded = [(f, config.detector.severity(f.score, alert_score)) for f in findings]
    reported = [(f, severity) for f, severity in graded if severity is not None]
    record = record_finding(config.records, records, x, alerting=bool(reported))
    if record is not None:
        reported.append(record)
    top = terms.top_terms(x, config.terms.top_terms) if reported else []
    return Judgement(counted, reported, top, max((f.score for f in findings), default=0.0))


def learn_window(
    x: dict[Hashable, Any],
    counts: CountSpikeDetector,
    terms: TermBurstDetector,
    records: RecordDetector,
) -> None:
    """The window joins every detector's baseline, after it was judged."""
    counts.learn_one(x)
    terms.learn_one(x)
    records.learn_one(x)
