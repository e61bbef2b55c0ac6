"""Feedback from people on incidents, and the per-series thresholds it moves within bounds.

A false alarm raises the alert score of every series in the incident by one step (about ten
times rarer windows needed to alert), a missed crisis lowers it by half a step, a confirmed one
changes nothing. Scores stay within [default - 1, default + 5], and every move is recorded in
``threshold_changes`` with the feedback that caused it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, text
from sqlmodel import Session, col, select

from detectors.config import DetectorSettings
from monitor.storage.db import session_scope
from monitor.storage.models import DetectorFeedback, Incident, SeriesThreshold, ThresholdChange

STEPS = {"false-alarm": 1.0, "missed": -0.5, "confirmed": 0.0}
LOWEST_BELOW_DEFAULT = 1.0
HIGHEST_ABOVE_DEFAULT = 5.0


class FeedbackError(ValueError):
    """The feedback cannot be recorded; one readable line."""


@dataclass(frozen=True, slots=True)
class Recorded:
    feedback_id: int
    changes: list[ThresholdChange]
    repeated: bool = False  # the same person had given this verdict already: nothing moved


def bounds(settings: DetectorSettings) -> tuple[float, float]:
    return (
        max(settings.alert_score - LOWEST_BELOW_DEFAULT, 1.0),
        settings.alert_score + HIGHEST_ABOVE_DEFAULT,
    )


def record_feedback(
    engine: Engine,
    *,
    incident_id: int,
    verdict: str,
    given_by: str,
    note: str | None,
    settings: DetectorSettings,
    now: datetime,
    once_per_person: bool = False,
) -> Recorded:
    """Store the feedback and move the thresholds of the incident's series, in one transaction.

    With ``once_per_person`` (buttons, where a second press is an accident), a verdict that
    ``given_by`` already gave on the incident records nothing and moves nothing
    (``repeated``); the incident is locked meanwhile, so a double click counts once too.
    """
    if verdict not in STEPS:
        raise FeedbackError(f"verdict must be one of {', '.join(STEPS)}, got {verdict!r}")
    low, high = bounds(settings)
    with session_scope(engine) as session:
        if once_per_person and session.get_bind().dialect.name == "sqlite":
            # No row locks on SQLite: take its write lock before reading, as audit.append does.
            session.execute(text("UPDATE incidents SET id = id WHERE 1 = 0"))
        incident = session.get(Incident, incident_id, with_for_update=once_per_person)
        if incident is None:
            raise FeedbackError(f"no incident #{incident_id}")
        if once_per_person:
            given = session.exec(
                select(DetectorFeedback.id).where(
                    DetectorFeedback.incident_id == incident_id,
                    DetectorFeedback.given_by == given_by,
                    DetectorFeedback.verdict == verdict,
                )
            ).first()
            if given is not None:
                return Recorded(int(given), [], repeated=True)
        feedback = DetectorFeedback(
            incident_id=incident_id, verdict=verdict, given_by=given_by, note=note, created_at=now
        )
        session.add(feedback)
        session.flush()
        assert feedback.id is not None
        changes: list[ThresholdChange] = []
        for series in incident.series.split():
            row = session.get(SeriesThreshold, series)
            old = row.alert_score if row else settings.alert_score
            new = min(max(old + STEPS[verdict], low), high)
            if new == old:
                continue
            if row is None:
                row = SeriesThreshold(series=series, alert_score=new, updated_at=now)
            else:
                row.alert_score, row.updated_at = new, now
            session.add(row)
            change = ThresholdChange(
                series=series,
                old_score=old,
                new_score=new,
                feedback_id=feedback.id,
                reason=f"{verdict} on incident #{incident_id} by {given_by}"[:300],
                changed_at=now,
            )
            session.add(change)
            changes.append(change)
        return Recorded(feedback.id, changes)


def alert_score_for(session: Session, *, series: str, settings: DetectorSettings) -> float:
    row = session.get(SeriesThreshold, series)
    return row.alert_score if row else settings.alert_score


def threshold_history(engine: Engine, *, limit: int = 50) -> list[ThresholdChange]:
    with Session(engine) as session:
        return list(
            session.exec(
                select(ThresholdChange).order_by(col(ThresholdChange.id).desc()).limit(limit)
            ).all()
        )


def feedback_on(engine: Engine, *, incident_id: int) -> list[DetectorFeedback]:
    """Every verdict given on the incident, oldest first."""
    with Session(engine) as session:
        return list(
            session.exec(
                select(DetectorFeedback)
                .where(DetectorFeedback.incident_id == incident_id)
                .order_by(col(DetectorFeedback.id))
            ).all()
        )
