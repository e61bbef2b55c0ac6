"""What changed since the last look: the live stream's view of the database.

The web server and the workers may be different processes (`crisismon web`), so the stream
learns of changes by reading the database every second or two: a small state of the recent
incidents and of the newest closed window, compared with the previous one.

>>> from datetime import UTC, datetime
>>> at = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)
>>> old = LiveState({1: IncidentMark(1, "open", "warning", "Spike on global", None, 1, False)}, at)
>>> new = LiveState({1: IncidentMark(1, "open", "critical", "Spike on global", None, 2, False),
...                  2: IncidentMark(2, "open", "warning", "Term burst", None, 1, False)}, at)
>>> [m.id for m in changed_incidents(old, new)], ticked(old, new)
([1, 2], False)
>>> ticked(old, LiveState(new.incidents, datetime(2026, 1, 5, 10, 1, tzinfo=UTC)))
True
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, func
from sqlmodel import Session, col, select

from detectors.series import GLOBAL
from monitor.storage.models import Incident, SeriesWindow

# The incidents a stream watches: every open one and the most recent others.
WATCHED = 100


@dataclass(frozen=True, slots=True)
class IncidentMark:
    """What a viewer of the list sees change: a new incident, or a new status, severity,
    title, acknowledgement, size or alert."""

    id: int
    status: str
    severity: str
    title: str
    acknowledged_by: str | None
    anomaly_count: int
    alerted: bool

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "status": self.status,
            "severity": self.severity,
            "title": self.title,
            "acknowledged_by": self.acknowledged_by,
            "anomaly_count": self.anomaly_count,
            "alerted": self.alerted,
        }


@dataclass(frozen=True, slots=True)
class LiveState:
    incidents: dict[int, IncidentMark]
    closed_through: datetime | None  # the start of the newest closed window of `global`


def read_state(engine: Engine) -> LiveState:
    """Two indexed reads: the watched incidents and the newest closed `global` window."""
    with Session(engine) as session:
        rows = session.exec(
            select(Incident)
            .where((col(Incident.status) == "open") | (col(Incident.id) > _floor(session)))
            .order_by(col(Incident.id).desc())
        ).all()
        newest = session.exec(
            select(func.max(SeriesWindow.window_start)).where(
                SeriesWindow.series == GLOBAL, col(SeriesWindow.closed).is_(True)
            )
        ).first()
    marks = {
        int(row.id): IncidentMark(
            int(row.id),
            row.status,
            row.severity,
            row.title,
            row.acknowledged_by,
            row.anomaly_count,
            row.alerted_at is not None,
        )
        for row in rows
        if row.id is not None
    }
    return LiveState(marks, newest)


def _floor(session: Session) -> int:
    """The id below which resolved incidents are no longer watched."""
    top = session.exec(select(func.max(Incident.id))).first()
    return int(top or 0) - WATCHED


def changed_incidents(before: LiveState, after: LiveState) -> list[IncidentMark]:
    """Incidents that are new or look different, oldest first."""
    return [
        mark for key, mark in sorted(after.incidents.items()) if before.incidents.get(key) != mark
    ]


def ticked(before: LiveState, after: LiveState) -> bool:
    """Whether a newer window has closed: the overview's charts have a new point."""
    return after.closed_through is not None and after.closed_through != before.closed_through
