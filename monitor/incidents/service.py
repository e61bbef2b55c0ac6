"""Correlating anomalies into incidents. Keyword-only data access; no Faust, no Slack."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine, update
from sqlmodel import Session, col, select

from monitor.storage.db import session_scope
from monitor.storage.models import Anomaly, Incident, Mention

SEVERITY_RANK = {"info": 0, "warning": 1, "critical": 2}


@dataclass(frozen=True, slots=True)
class IncidentChange:
    incident_id: int
    change: str  # "opened" or "merged"
    severity: str


def correlate(
    engine: Engine, *, anomaly_id: str, merge_gap: timedelta, now: datetime
) -> IncidentChange | None:
    """Attach an anomaly to the open incident it belongs to, or open a new one.

    Idempotent: an anomaly that already belongs to an incident changes nothing (None).
    Closeness is judged on event time, so a replay correlates exactly as live traffic would.
    """
    with session_scope(engine) as session:
        anomaly = session.get(Anomaly, anomaly_id)
        if anomaly is None or anomaly.incident_id is not None:
            return None
        open_incidents = session.exec(
            select(Incident).where(Incident.status == "open").order_by(col(Incident.id))
        ).all()
        target = None
        for incident in open_incidents:
            if anomaly.window_start - incident.last_window_end <= merge_gap:
                target = incident
            elif anomaly.window_start > incident.last_window_end:
                incident.status = "resolved"
                incident.resolved_at = now
                session.add(incident)
        if target is None:
            target = Incident(
                severity=anomaly.severity,
                title=f"{_metric_title(anomaly.metric)} on {anomaly.series}",
                series=anomaly.series,
                anomaly_count=1,
                first_window_start=anomaly.window_start,
                last_window_end=anomaly.window_end,
                opened_at=now,
            )
            change = "opened"
        else:
            change = "merged"
            target.anomaly_count += 1
            series = target.series.split()
            if anomaly.series not in series:
                target.series = " ".join([*series, anomaly.series])
            target.last_window_end = max(target.last_window_end, anomaly.window_end)
            target.first_window_start = min(target.first_window_start, anomaly.window_start)
            if SEVERITY_RANK[anomaly.severity] > SEVERITY_RANK[target.severity]:
                target.severity = anomaly.severity
        session.add(target)
        session.flush()
        assert target.id is not None
        anomaly.incident_id = target.id
        session.add(anomaly)
        return IncidentChange(target.id, change, target.severity)


def _metric_title(metric: str) -> str:
    from detectors.explain import METRIC_TITLES

    return METRIC_TITLES.get(metric, metric.replace("_", " "))


@dataclass(frozen=True, slots=True)
class IncidentDetail:
    incident: Incident
    anomalies: list[Anomaly]
    examples: list[Mention]


def get_detail(engine: Engine, *, incident_id: int) -> IncidentDetail | None:
    """An incident with its anomalies (strongest first) and their example mentions."""
    with Session(engine, expire_on_commit=False) as session:
        incident = session.get(Incident, incident_id)
        if incident is None:
            return None
        anomalies = list(
            session.exec(
                select(Anomaly)
                .where(Anomaly.incident_id == incident_id)
                .order_by(col(Anomaly.score).desc(), col(Anomaly.anomaly_id))
            ).all()
        )
        wanted: list[str] = []
        for anomaly in anomalies:
            for mid in anomaly.example_mention_ids.split():
                if mid not in wanted:
                    wanted.append(mid)
        by_id = {
            m.mention_id: m
            for m in session.exec(select(Mention).where(col(Mention.mention_id).in_(wanted)))
        }
        examples = [by_id[m] for m in wanted if m in by_id]
        return IncidentDetail(incident, anomalies, examples)


def mark_alerted(
    engine: Engine, *, incident_id: int, text: str, ref: str | None, now: datetime
) -> bool:
    """Record the alert as sent; False if another delivery recorded it first."""
    with session_scope(engine) as session:
        result = session.execute(
            update(Incident)
            .where(col(Incident.id) == incident_id, col(Incident.alerted_at).is_(None))
            .values(alert_text=text, alert_ref=ref, alerted_at=now)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]


def list_incidents(
    engine: Engine, *, limit: int = 50, status: str | None = None
) -> Sequence[Incident]:
    with Session(engine) as session:
        query = select(Incident).order_by(col(Incident.id).desc()).limit(limit)
        if status:
            query = query.where(Incident.status == status)
        return session.exec(query).all()
