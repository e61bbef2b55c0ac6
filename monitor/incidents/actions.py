"""What a responder can do to an incident from the web app or its API: the Slack alert's buttons
(Acknowledge, Confirmed, False alarm) through the same functions, and resolving it by hand.

Every action is written to the audit log with the person's name.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine

from detectors.config import DetectorSettings
from detectors.feedback import FeedbackError, record_feedback
from monitor import audit
from monitor.incidents.acknowledge import UnknownIncident, acknowledge
from monitor.storage.db import session_scope
from monitor.storage.models import Incident

ACTIONS = ("ack", "resolve", "false-alarm", "confirm")
# The verdict `crisismon feedback` and the Slack buttons record for each feedback action.
VERDICTS = {"false-alarm": "false-alarm", "confirm": "confirmed"}
WEB_NOTE = "from the web app"


class ActionError(ValueError):
    """The action cannot be done; ``status`` is the HTTP status to answer with."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True, slots=True)
class ActionDone:
    incident_id: int
    action: str
    by: str
    at: datetime
    first: bool  # False when it changed nothing (acknowledged or resolved already)
    detail: dict[str, Any]

    def as_json(self) -> dict[str, Any]:
        return {
            "incident": self.incident_id,
            "action": self.action,
            "by": self.by,
            "at": self.at.isoformat(),
            "already": not self.first,
            **self.detail,
        }


def act(
    engine: Engine,
    *,
    incident_id: int,
    action: str,
    who: str,
    settings: DetectorSettings,
    now: datetime,
) -> ActionDone:
    """Do ``action`` (one of ACTIONS) on the incident as ``who``; `ActionError` when it cannot."""
    if action not in ACTIONS:
        raise ActionError(f"action must be one of {', '.join(ACTIONS)}, got {action!r}", 404)
    try:
        if action == "ack":
            done = acknowledge(engine, incident_id=incident_id, who=who, now=now)
            taken = {"acknowledged_by": done.by, "acknowledged_at": done.at.isoformat()}
            return ActionDone(incident_id, action, who, now, done.first, taken)
        if action == "resolve":
            return resolve(engine, incident_id=incident_id, who=who, now=now)
        recorded = record_feedback(
            engine,
            incident_id=incident_id,
            verdict=VERDICTS[action],
            given_by=who,
            note=WEB_NOTE,
            settings=settings,
            now=now,
            once_per_person=True,
        )
    except UnknownIncident as exc:
        raise ActionError(str(exc), 404) from exc
    except FeedbackError as exc:
        status = 404 if str(exc).startswith("no incident") else 400
        raise ActionError(str(exc), status) from exc
    moved = [
        {"series": c.series, "old_score": c.old_score, "new_score": c.new_score}
        for c in recorded.changes
    ]
    with session_scope(engine) as session:
        audit.append(
            session,
            actor=who,
            action="feedback",
            subject=f"incident:{incident_id}",
            detail={
                "verdict": VERDICTS[action],
                "feedback_id": recorded.feedback_id,
                "moved": moved,
                "first": not recorded.repeated,
            },
            now=now,
        )
    detail: dict[str, Any] = {"verdict": VERDICTS[action], "thresholds_moved": moved}
    return ActionDone(incident_id, action, who, now, not recorded.repeated, detail)


def resolve(engine: Engine, *, incident_id: int, who: str, now: datetime) -> ActionDone:
    """Close the incident by hand (a later anomaly close to it may open it again, as after an
    automatic resolution); resolving a resolved incident changes nothing but is audited."""
    with session_scope(engine) as session:
        incident = session.get(Incident, incident_id, with_for_update=True)
        if incident is None:
            raise ActionError(f"no incident {incident_id}", 404)
        first = incident.status == "open"
        if first:
            incident.status, incident.resolved_at = "resolved", now
            session.add(incident)
        resolved_at = incident.resolved_at or now
        audit.append(
            session,
            actor=who,
            action="resolve",
            subject=f"incident:{incident_id}",
            detail={"first": first},
            now=now,
        )
    return ActionDone(
        incident_id, "resolve", who, now, first, {"resolved_at": resolved_at.isoformat()}
    )
