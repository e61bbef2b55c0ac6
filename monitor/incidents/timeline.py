"""An incident's timeline as the web page shows it: detected, opened, alerted, each
acknowledgement, verdict and resolution, from the incident's columns, its anomalies, the
feedback rows and the audit log. `playbooks.incident_timeline` adds drafts and sends."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session, col, select

from detectors.explain import METRIC_TITLES
from detectors.feedback import feedback_on
from monitor.incidents.service import IncidentDetail
from monitor.storage.models import AuditEntry


@dataclass(frozen=True, slots=True)
class TimelineEvent:
    at: datetime
    kind: str  # detected, opened, alerted, acknowledged, feedback, approved, sent, resolved…
    text: str
    by: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {"at": self.at.isoformat(), "kind": self.kind, "text": self.text, "by": self.by}


def incident_timeline(engine: Engine, detail: IncidentDetail) -> list[TimelineEvent]:
    """What happened to the incident itself, oldest first: detected, opened, alerted, each
    acknowledgement, verdict and resolution. Playbooks add drafts and sends."""
    incident = detail.incident
    assert incident.id is not None
    events: list[TimelineEvent] = []
    if detail.anomalies:
        first = min(detail.anomalies, key=lambda a: a.detected_at)
        title = METRIC_TITLES.get(first.metric, first.metric).lower()
        events.append(
            TimelineEvent(
                first.detected_at, "detected", f"First anomaly: {title} on {first.series}"
            )
        )
    events.append(TimelineEvent(incident.opened_at, "opened", f"Incident #{incident.id} opened"))
    if incident.alerted_at is not None:
        events.append(TimelineEvent(incident.alerted_at, "alerted", "Alert posted"))
    audited = {"acknowledge": 0, "resolve": 0}
    for entry in _audited(engine, f"incident:{incident.id}"):
        if entry.action == "acknowledge":
            audited["acknowledge"] += 1
            first_ack = '"first": true' in entry.detail
            text = "Acknowledged" if first_ack else "Acknowledged again (the first one counts)"
            events.append(TimelineEvent(entry.at, "acknowledged", text, entry.actor))
        elif entry.action == "resolve" and '"first": true' in entry.detail:
            audited["resolve"] += 1
            events.append(TimelineEvent(entry.at, "resolved", "Resolved by hand", entry.actor))
    if incident.acknowledged_at is not None and not audited["acknowledge"]:
        events.append(
            TimelineEvent(
                incident.acknowledged_at, "acknowledged", "Acknowledged", incident.acknowledged_by
            )
        )
    for row in feedback_on(engine, incident_id=incident.id):
        verdict = row.verdict.replace("-", " ")
        events.append(TimelineEvent(row.created_at, "feedback", f"Marked {verdict}", row.given_by))
    if incident.resolved_at is not None and not audited["resolve"]:
        events.append(
            TimelineEvent(incident.resolved_at, "resolved", "Resolved: quiet for long enough")
        )
    return sorted(events, key=lambda e: e.at)


def _audited(engine: Engine, subject: str) -> list[AuditEntry]:
    """The audit entries about one subject, oldest first: an equality the index on
    (subject, id) answers, where a prefix match would scan a log with a row per message sent."""
    with Session(engine) as session:
        query = select(AuditEntry).where(AuditEntry.subject == subject)
        return list(session.exec(query.order_by(col(AuditEntry.id))).all())
