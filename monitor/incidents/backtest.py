"""Incidents from a backtest: the live detectors, then the live correlation rules, offline.

`backtest_mentions` counts a mentions file into windows per series and runs each through the
detectors as `detectors.backtest` does; then it feeds every anomaly, in the order a live worker
closes their windows, to the same `Correlator` rules the live service applies in SQL. What
comes out is what `crisismon run` would have opened for the same file.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from detectors.anomaly_rows import anomaly_id
from detectors.backtest import BacktestAlert, SeriesResult, histories_from_mentions, run_histories
from detectors.config import DetectionConfig
from detectors.sentiment import Scorer
from detectors.series import FanOut
from monitor.incidents.correlation import (
    AnomalyFacts,
    Correlator,
    MemoryIncident,
    series_strongest_first,
    strongest_first,
)
from streams.mentions import MentionIn


@dataclass(frozen=True, slots=True)
class BacktestIncident:
    """One incident as the live correlator would have opened it, in event time."""

    opened_at: datetime  # start of its first anomalous window
    paged_at: datetime | None  # end of the window that made it warning+ (None: never paged)
    closed_at: datetime  # end of its last anomalous window
    series: tuple[str, ...]  # all series involved, strongest first
    severity: str  # final: info / warning / critical
    metric: str  # metric of the anomaly the incident is named after (what made it page)
    top_terms: tuple[str, ...]
    anomalies: int

    def to_json(self) -> dict[str, Any]:
        return {
            "opened_at": self.opened_at.isoformat(),
            "paged_at": self.paged_at.isoformat() if self.paged_at else None,
            "closed_at": self.closed_at.isoformat(),
            "series": list(self.series),
            "severity": self.severity,
            "metric": self.metric,
            "top_terms": list(self.top_terms),
            "anomalies": self.anomalies,
        }


@dataclass(slots=True)
class BacktestRun:
    results: list[SeriesResult]
    incidents: list[BacktestIncident] = field(default_factory=list)


def backtest_mentions(
    mentions: list[MentionIn],
    *,
    config: DetectionConfig,
    scorer: Scorer,
    fan_out: FanOut,
    on_progress: Callable[[int], None] = lambda _n: None,
    on_total: Callable[[int], None] = lambda _n: None,
    plot_points: int = 0,
) -> BacktestRun:
    """Detect and correlate a mentions file as live would. ``on_total`` hears how many windows
    there are before ``on_progress`` counts them; ``plot_points`` keeps about that many samples
    of each series' volume band for a plot (0: none)."""
    histories = histories_from_mentions(mentions, scorer, config.window_seconds, fan_out)
    on_total(sum(len(h.rows) for h in histories))
    longest = max(len(history.rows) for history in histories)
    stride = max(1, longest // plot_points) if plot_points else 0
    # Every series at once: slices are judged by their share of their parent (global).
    results = run_histories(histories, config, on_progress, band_stride=stride)
    gap = timedelta(seconds=config.incidents.merge_gap_seconds)
    return BacktestRun(results, correlate_alerts([a for r in results for a in r.alerts], gap))


def correlate_alerts(alerts: list[BacktestAlert], merge_gap: timedelta) -> list[BacktestIncident]:
    """The incidents live correlation makes of these alerts, fed in closing order."""
    terms: dict[str, tuple[str, ...]] = {}
    facts = []
    for alert in alerts:
        fact = AnomalyFacts(
            anomaly_id=anomaly_id(alert.series, alert.window_start, alert.finding.metric),
            series=alert.series,
            window_start=alert.window_start,
            window_end=alert.window_start + timedelta(seconds=alert.window_seconds),
            metric=alert.finding.metric,
            severity=alert.severity,
            score=alert.finding.score,
        )
        facts.append(fact)
        terms[fact.anomaly_id] = tuple(t.term for t in alert.top_terms)
    # Live closes windows as event time passes their end, so anomalies reach the correlator by
    # window end; within one window, the order of series does not change what merges.
    facts.sort(key=lambda a: a.window_end)
    correlator = Correlator(merge_gap)
    for fact in facts:
        correlator.add(fact)
    return [_incident(i, terms) for i in correlator.incidents]


def _incident(incident: MemoryIncident, terms: dict[str, tuple[str, ...]]) -> BacktestIncident:
    ranked = strongest_first(incident.members)
    return BacktestIncident(
        opened_at=incident.first_window_start,
        paged_at=incident.paged_at,
        closed_at=incident.last_window_end,
        series=tuple(series_strongest_first(incident.members)),
        severity=incident.severity,
        metric=incident.named.metric,
        # Those of the anomaly it is named after (what made it worth a page), else of the
        # strongest that has any: late windows of a long incident often score as high.
        top_terms=next((t for a in (incident.named, *ranked) if (t := terms[a.anomaly_id])), ()),
        anomalies=len(incident.members),
    )
