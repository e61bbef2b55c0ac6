"""Drills: a simulated crisis injected into the live pipeline, everything marked as a drill.

A drill's mentions carry ``drill: true``; they count only in ``drill:``-prefixed twins of the
real series (``drill:global``, ``drill:source:social``…), so a drill never teaches the real
detectors anything. To judge the drill against the real baseline, the twins first get a copy
of the real series' recent closed windows and term baselines, from which their detectors warm
up. Anomalies on
twins open drill incidents (never merged with real ones), whose alerts start with ``[DRILL]``.

There is no playbook engine yet: no drafts, approvals or customer sends exist to mark or
suppress, and the report says so.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, func, select
from sqlmodel import Session

from detectors.series import DRILL_PREFIX, GLOBAL
from monitor.storage.db import insert_for, session_scope
from monitor.storage.models import Anomaly, Drill, Incident, SeriesWindow, TermBaseline
from streams.scenario import SOURCES, outage_scenario

SCENARIOS = {"outage": "a 6-minute burst of angry mentions about an outage, ending now"}
BASELINE_WINDOWS = 720  # how much real history the twins get: 12 hours of 1-minute windows


class DrillError(RuntimeError):
    """The drill cannot start or report; one readable line."""


def new_drill_id() -> str:
    return uuid.uuid4().hex[:12]


def drill_items(scenario: str, *, now: datetime, drill_id: str) -> list[dict[str, Any]]:
    """The scenario's mentions at live event times, each marked as a drill."""
    if scenario not in SCENARIOS:
        raise DrillError(f"unknown scenario {scenario!r}; one of: {', '.join(SCENARIOS)}")
    # The scenario's burst, placed so that it ends now; its ordinary hours are not needed.
    items = outage_scenario(
        end=now + timedelta(minutes=1), run_id=f"drill-{drill_id}", calm_minutes=1
    )
    burst = [i for i in items if "-burst-" in i["external_id"]]
    return [{**item, "drill": True} for item in burst]


def prepare_drill(engine: Engine, *, scenario: str, drill_id: str, now: datetime) -> int:
    """Give the drill twins the real series' recent history; returns the windows copied."""
    real = [GLOBAL, *(f"source:{source}" for source in SOURCES)]
    table = SeriesWindow.__table__  # type: ignore[attr-defined]
    copied = 0
    with session_scope(engine) as session:
        for series in real:
            rows = session.execute(
                select(table)
                .where(table.c.series == series, table.c.closed.is_(True))
                .order_by(table.c.window_start.desc())
                .limit(BASELINE_WINDOWS)
            ).all()
            twins = [
                {
                    "series": DRILL_PREFIX + series,
                    "window_start": row.window_start,
                    "window_seconds": row.window_seconds,
                    "n": row.n,
                    "n_negative": row.n_negative,
                    "sum_compound": row.sum_compound,
                    "closed": True,
                    "closed_at": now,
                }
                for row in sorted(rows, key=lambda r: r.window_start)
            ]
            if twins:
                session.execute(
                    insert_for(session, table).on_conflict_do_nothing(
                        index_elements=["series", "window_start"]
                    ),
                    twins,
                )
                copied += len(twins)
            # The term-burst baseline too, so the drill's words are judged against real ones.
            terms = session.get(TermBaseline, series)
            if terms is not None:
                session.merge(
                    TermBaseline(
                        series=DRILL_PREFIX + series,
                        through_window=terms.through_window,
                        state=terms.state,
                    )
                )
        session.add(Drill(id=drill_id, scenario=scenario, started_at=now, first_event_time=now))
    return copied


def record_injected(engine: Engine, *, drill_id: str, injected: int, first: datetime) -> None:
    with session_scope(engine) as session:
        drill = session.get(Drill, drill_id)
        if drill is not None:
            drill.injected = injected
            drill.first_event_time = first
            session.add(drill)


@dataclass(frozen=True, slots=True)
class DrillReport:
    drill: Drill
    first_anomaly_at: datetime | None
    first_incident_id: int | None
    alerted_at: datetime | None

    @property
    def time_to_detection(self) -> timedelta | None:
        return self.first_anomaly_at - self.drill.started_at if self.first_anomaly_at else None

    @property
    def time_to_alert(self) -> timedelta | None:
        return self.alerted_at - self.drill.started_at if self.alerted_at else None

    def steps(self) -> list[tuple[str, str]]:
        """Each step of the drill and what happened, in order."""

        def took(delta: timedelta | None) -> str:
            return f"after {delta.total_seconds():.1f}s" if delta is not None else "did not happen"

        return [
            ("inject", f"{self.drill.injected} drill mentions ({self.drill.scenario})"),
            ("detect", took(self.time_to_detection)),
            (
                "incident",
                f"#{self.first_incident_id}" if self.first_incident_id else "did not open",
            ),
            ("alert", took(self.time_to_alert)),
            ("approval", "not part of drills yet: there is no playbook engine"),
        ]


def drill_report(engine: Engine, *, drill_id: str | None = None) -> DrillReport:
    """How the drill went: the latest one unless ``drill_id`` is given."""
    with Session(engine, expire_on_commit=False) as session:
        query = select(Drill).order_by(Drill.started_at.desc())  # type: ignore[attr-defined]
        if drill_id:
            query = select(Drill).where(Drill.id == drill_id)  # type: ignore[arg-type]
        drill = session.execute(query.limit(1)).scalars().first()
        if drill is None:
            raise DrillError(
                f"no drill {drill_id!r}"
                if drill_id
                else "no drill has run yet: start one with `crisismon drill start outage`"
            )
        anomalies = Anomaly.__table__  # type: ignore[attr-defined]
        first_anomaly = session.execute(
            select(func.min(anomalies.c.detected_at)).where(
                anomalies.c.series.like(DRILL_PREFIX + "%"),
                anomalies.c.detected_at >= drill.started_at,
            )
        ).scalar()
        incident = (
            session.execute(
                select(Incident)
                .where(Incident.drill.is_(True), Incident.opened_at >= drill.started_at)  # type: ignore[attr-defined]
                .order_by(Incident.opened_at)  # type: ignore[arg-type]
                .limit(1)
            )
            .scalars()
            .first()
        )
    return DrillReport(
        drill,
        first_anomaly,
        incident.id if incident else None,
        incident.alerted_at if incident else None,
    )
