"""What the web app shows of incidents: the list, one incident's page (alert, charts, example
mentions, timeline). Plain queries, keyword-only; the shell renders them as HTML or JSON.

The words are the alert's own (`monitor.incidents.alerts`): the list's "why it fired" lines and
the detail's alert text are what Slack and the console show for the same incident.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session, col, select

from detectors.explain import METRIC_TITLES
from detectors.tails import count_band
from monitor.incidents.alerts import render_alert, why_it_fired
from monitor.incidents.service import IncidentDetail, get_detail, strongest_first
from monitor.incidents.timeline import TimelineEvent, incident_timeline
from monitor.storage.models import Anomaly, Incident, SeriesWindow
from streams.near_duplicates import NOT_COPIED

# The chart of a series shows this many windows before the incident and after it, at most
# MAX_CHART_WINDOWS in all (a long incident shows its first hours).
WINDOWS_BEFORE = 60
WINDOWS_AFTER = 15
MAX_CHART_WINDOWS = 720
# Two-sided mass of the band drawn around the expected count (the count detector's default).
BAND = 0.99
RECENT = 50
MAX_EXAMPLES = 8


@dataclass(frozen=True, slots=True)
class IncidentSummary:
    """One line of the incident list."""

    id: int
    status: str
    severity: str
    title: str
    series: list[str]
    anomaly_count: int
    opened_at: datetime
    first_window_start: datetime
    last_window_end: datetime
    acknowledged_by: str | None
    resolved_at: datetime | None
    drill: bool
    why: list[str]  # the alert's "Why it fired" lines

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "status": self.status,
            "severity": self.severity,
            "title": self.title,
            "series": self.series,
            "anomaly_count": self.anomaly_count,
            "opened_at": self.opened_at.isoformat(),
            "first_window_start": self.first_window_start.isoformat(),
            "last_window_end": self.last_window_end.isoformat(),
            "acknowledged_by": self.acknowledged_by,
            "resolved_at": self.resolved_at.isoformat() if self.resolved_at else None,
            "drill": self.drill,
            "why": self.why,
        }


def summary_of(detail: IncidentDetail) -> IncidentSummary:
    incident = detail.incident
    assert incident.id is not None
    return IncidentSummary(
        id=incident.id,
        status=incident.status,
        severity=incident.severity,
        title=incident.title,
        series=incident.series.split(),
        anomaly_count=incident.anomaly_count,
        opened_at=incident.opened_at,
        first_window_start=incident.first_window_start,
        last_window_end=incident.last_window_end,
        acknowledged_by=incident.acknowledged_by,
        resolved_at=incident.resolved_at,
        drill=incident.drill,
        why=why_it_fired(detail),
    )


def list_summaries(engine: Engine, *, limit: int = RECENT) -> list[IncidentSummary]:
    """Every open incident, then the most recent resolved ones, newest first.

    Two reads, however many incidents: the "why" lines need each incident's anomalies
    (in `get_detail`'s order) but not its example mentions, which only the alert's quotes use.
    """
    with Session(engine, expire_on_commit=False) as session:
        newest_first = col(Incident.id).desc()
        shown = [
            *session.exec(select(Incident).where(Incident.status == "open").order_by(newest_first)),
            *session.exec(
                select(Incident)
                .where(Incident.status != "open")
                .order_by(newest_first)
                .limit(limit)
            ),
        ]
        members: dict[int, list[Anomaly]] = {}
        ids = [incident.id for incident in shown]
        for chunk in (ids[i : i + 500] for i in range(0, len(ids), 500)):
            for anomaly in session.exec(select(Anomaly).where(col(Anomaly.incident_id).in_(chunk))):
                members.setdefault(int(anomaly.incident_id or 0), []).append(anomaly)
    return [
        summary_of(IncidentDetail(i, strongest_first(members.get(int(i.id or 0), [])), []))
        for i in shown
    ]


@dataclass(frozen=True, slots=True)
class ChartPoint:
    """One closed window of a series, as the incident's chart draws it."""

    start: datetime
    n: int
    expected: float | None
    lower: float | None  # the band around the expected count (None before the baseline)
    upper: float | None
    negative_share: float | None
    anomalous: list[str]  # metrics of this incident's anomalies in this window

    def as_json(self) -> dict[str, Any]:
        return {
            "start": self.start.isoformat(),
            "n": self.n,
            "expected": self.expected,
            "lower": self.lower,
            "upper": self.upper,
            "negative_share": self.negative_share,
            "anomalous": self.anomalous,
        }


@dataclass(frozen=True, slots=True)
class AnomalyFigure:
    """One anomaly with the figures its detector judged it on (its own usual range)."""

    series: str
    window_start: datetime
    metric: str
    title: str
    detector: str
    severity: str
    observed: float
    expected: float
    lower: float
    upper: float
    score: float
    summary: str

    def as_json(self) -> dict[str, Any]:
        return {
            "series": self.series,
            "window_start": self.window_start.isoformat(),
            "metric": self.metric,
            "title": self.title,
            "detector": self.detector,
            "severity": self.severity,
            "observed": self.observed,
            "expected": self.expected,
            "lower": _finite(self.lower),
            "upper": _finite(self.upper),
            "score": self.score,
            "summary": self.summary,
        }


@dataclass(frozen=True, slots=True)
class SeriesChart:
    series: str
    window_seconds: int
    points: list[ChartPoint]
    anomalies: list[AnomalyFigure]

    def as_json(self) -> dict[str, Any]:
        return {
            "series": self.series,
            "window_seconds": self.window_seconds,
            "points": [p.as_json() for p in self.points],
            "anomalies": [a.as_json() for a in self.anomalies],
        }


@dataclass(frozen=True, slots=True)
class ExampleMention:
    text: str
    source: str
    event_time: datetime
    label: str
    confidence: float | None
    drivers: list[str]  # the words or phrases that drove the label, strongest first
    spread: str  # " (copied 14 times, 12 outlets)" or ""
    also: int = 0  # other example mentions of the incident with the very same text

    def as_json(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "source": self.source,
            "event_time": self.event_time.isoformat(),
            "label": self.label,
            "confidence": self.confidence,
            "drivers": self.drivers,
            "spread": self.spread.strip(" ()"),
            "also": self.also,
        }


@dataclass(frozen=True, slots=True)
class IncidentPage:
    summary: IncidentSummary
    alert_text: str  # the alert as rendered now, word for word what Slack gets
    charts: list[SeriesChart]
    examples: list[ExampleMention]
    timeline: list[TimelineEvent] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {
            **self.summary.as_json(),
            "alert_text": self.alert_text,
            "charts": [c.as_json() for c in self.charts],
            "examples": [e.as_json() for e in self.examples],
            "timeline": [t.as_json() for t in self.timeline],
        }


def incident_page(engine: Engine, *, incident_id: int) -> IncidentPage | None:
    """Everything the incident's page shows except what playbooks add to the timeline (see
    `playbooks.incident_timeline`); None when there is no such incident."""
    detail = get_detail(engine, incident_id=incident_id)
    if detail is None:
        return None
    return IncidentPage(
        summary=summary_of(detail),
        alert_text=render_alert(detail).text,
        charts=series_charts(engine, detail),
        examples=examples_of(detail),
        timeline=incident_timeline(engine, detail),
    )


def examples_of(detail: IncidentDetail, *, limit: int = MAX_EXAMPLES) -> list[ExampleMention]:
    """The incident's example mentions, strongest anomaly's first, each text once (a complaint
    pasted many times is one example that says how often it came)."""
    by_text: dict[str, ExampleMention] = {}
    for m in detail.examples:
        seen = by_text.get(m.text)
        if seen is not None:
            by_text[m.text] = replace(seen, also=seen.also + 1)
            continue
        by_text[m.text] = ExampleMention(
            text=m.text,
            source=m.source,
            event_time=m.event_time,
            label=m.label,
            confidence=m.sentiment_confidence,
            drivers=m.sentiment_drivers.split(" | ") if m.sentiment_drivers else [],
            spread=detail.spread.get(m.mention_id, NOT_COPIED).describe(),
        )
    return list(by_text.values())[:limit]


def series_charts(engine: Engine, detail: IncidentDetail) -> list[SeriesChart]:
    """Each involved series' windows around the incident, with the expected band (windows
    still open have no expected count yet)."""
    incident = detail.incident
    charts = []
    with Session(engine) as session:
        for series in incident.series.split():
            rows = _windows_around(session, series, incident)
            seconds = rows[0].window_seconds if rows else 60
            mine = [a for a in detail.anomalies if a.series == series]
            marks: dict[datetime, list[str]] = {}
            for anomaly in mine:
                marks.setdefault(anomaly.window_start, []).append(anomaly.metric)
            points = []
            for row in rows:
                lower, upper = _band(row.expected_n)
                points.append(
                    ChartPoint(
                        start=row.window_start,
                        n=row.n,
                        expected=row.expected_n,
                        lower=lower,
                        upper=upper,
                        negative_share=row.n_negative / row.n if row.n else None,
                        anomalous=marks.get(row.window_start, []),
                    )
                )
            figures = [
                AnomalyFigure(
                    series=a.series,
                    window_start=a.window_start,
                    metric=a.metric,
                    title=METRIC_TITLES.get(a.metric, a.metric),
                    detector=a.detector,
                    severity=a.severity,
                    observed=a.observed,
                    expected=a.expected,
                    lower=a.lower,
                    upper=a.upper,
                    score=a.score,
                    summary=a.summary,
                )
                for a in sorted(mine, key=lambda a: (a.window_start, a.metric))
            ]
            charts.append(SeriesChart(series, seconds, points, figures))
    return charts


def _windows_around(session: Session, series: str, incident: Incident) -> list[SeriesWindow]:
    sample = session.exec(
        select(SeriesWindow.window_seconds).where(SeriesWindow.series == series).limit(1)
    ).first()
    step = timedelta(seconds=sample or 60)
    first = incident.first_window_start - WINDOWS_BEFORE * step
    stop = min(incident.last_window_end + WINDOWS_AFTER * step, first + MAX_CHART_WINDOWS * step)
    return list(
        session.exec(
            select(SeriesWindow)
            .where(
                SeriesWindow.series == series,
                col(SeriesWindow.window_start) >= first,
                col(SeriesWindow.window_start) < stop,
            )
            .order_by(col(SeriesWindow.window_start))
        ).all()
    )


def _band(expected: float | None) -> tuple[float | None, float | None]:
    """The central ``BAND`` of a Poisson count around the expected one: the usual range as the
    chart draws it (the detector's own range for an anomalous window is in its figures)."""
    if expected is None:
        return None, None
    if expected <= 0:
        return 0.0, 0.0
    return count_band(expected, None, BAND)


def _finite(value: float) -> float | None:
    return value if value == value and abs(value) != float("inf") else None
