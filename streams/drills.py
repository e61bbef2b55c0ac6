"""Drills: a simulated crisis injected into the live pipeline, everything marked as a drill.

A drill's mentions carry ``drill: true``; they count only in ``drill:``-prefixed twins of the
real series (``drill:global``, ``drill:source:social``…), so a drill never teaches the real
detectors anything. To judge the drill against the real baseline, the twins first get a copy
of the real series' windows from before the drill's first window, and their term baselines,
from which their detectors warm up. The drill's own windows are left open, so the twins close
and score each of them as the watermark passes it: time to detection is the detectors' own.
Anomalies on twins open drill incidents (never merged with real ones), whose alerts start with
``[DRILL]``.

There is no playbook engine yet: no drafts, approvals or customer sends exist to mark or
suppress, and the report says so.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, delete, func, select
from sqlmodel import Session

from detectors.series import DRILL_PREFIX, GLOBAL
from monitor.storage.db import insert_for, session_scope
from monitor.storage.models import (
    Anomaly,
    Drill,
    Incident,
    RecordBaseline,
    SeasonalBaseline,
    SeriesWindow,
    TermBaseline,
)
from streams.replay import ReplayReport
from streams.scenario import SOURCES, outage_scenario
from streams.windows import window_start

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


def first_event_time(items: list[dict[str, Any]]) -> datetime:
    """When the drill starts in event time: its earliest mention."""
    if not items:
        raise DrillError("the drill has no mentions")
    return min(datetime.fromisoformat(item["event_time"]) for item in items)


@dataclass(frozen=True, slots=True)
class DrillPrepared:
    copied: int  # real windows copied into the twins
    # Twins a worker was still closing after the drill's first event time (an earlier drill's,
    # within the detectors' idle limit): that worker continues from where it is, so this
    # drill's earlier windows will not be scored there.
    held: tuple[str, ...] = ()


def prepare_drill(
    engine: Engine,
    *,
    scenario: str,
    drill_id: str,
    now: datetime,
    first_event: datetime,
    window_seconds: int,
) -> DrillPrepared:
    """Give the drill twins the real series' history from before the drill.

    A twin gets the real windows that end at or before the drill's first window starts (the
    latest ``BASELINE_WINDOWS``, closed, whether or not the real series has closed them yet)
    and nothing from then on. A twin's detector continues from its latest closed window, so it
    starts at the drill's first window and closes and scores every window of the drill. What an
    earlier drill left in the twins is replaced: windows from the oldest copied one on, and the
    twins' snapshots (the term baseline is the real one, saved through the last copied window;
    the seasonal and record ones are rebuilt from the copied windows).
    """
    real = [GLOBAL, *(f"source:{source}" for source in SOURCES)]
    table = SeriesWindow.__table__  # type: ignore[attr-defined]
    first_window = window_start(first_event, window_seconds)
    before = first_window - timedelta(seconds=window_seconds)  # the last window a twin gets
    copied = 0
    held: list[str] = []
    with session_scope(engine) as session:
        for series in real:
            twin = DRILL_PREFIX + series
            if session.execute(
                select(table.c.window_start)
                .where(table.c.series == twin, table.c.closed_at > first_event)
                .limit(1)
            ).first():
                held.append(twin)
            rows = session.execute(
                select(table)
                .where(table.c.series == series, table.c.window_start <= before)
                .order_by(table.c.window_start.desc())
                .limit(BASELINE_WINDOWS)
            ).all()
            since = min((row.window_start for row in rows), default=first_window)
            session.execute(
                delete(table).where(table.c.series == twin, table.c.window_start >= since)
            )
            twins = [
                {
                    "series": twin,
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
            # Profiles an earlier drill left would replace what the copied windows teach.
            for model in (SeasonalBaseline, RecordBaseline):
                stale = session.get(model, twin)
                if stale is not None:
                    session.delete(stale)
            # The term-burst baseline, so the drill's words are judged against real ones. It may
            # hold the real series' words of the minutes since, never a drill's; on the twin it
            # is saved through the last copied window, before every window of the drill.
            terms = session.get(TermBaseline, series)
            if terms is not None:
                session.merge(
                    TermBaseline(
                        series=twin,
                        through_window=min(terms.through_window, before),
                        state=terms.state,
                    )
                )
            elif (stale_terms := session.get(TermBaseline, twin)) is not None:
                session.delete(stale_terms)
        session.add(
            Drill(id=drill_id, scenario=scenario, started_at=now, first_event_time=first_event)
        )
    return DrillPrepared(copied, tuple(held))


def record_injected(engine: Engine, *, drill_id: str, injected: int, first: datetime) -> None:
    with session_scope(engine) as session:
        drill = session.get(Drill, drill_id)
        if drill is not None:
            drill.injected = injected
            drill.first_event_time = first
            session.add(drill)


def check_injected(report: ReplayReport, *, total: int) -> str | None:
    """DrillError when nothing was injected, as such a drill cannot alert; otherwise a warning
    when some mentions were dead-lettered, or None."""
    if not report.rejected:
        return None
    # A rejection reads "line N: reason"; the reason is what the operator can fix.
    reason = report.rejections[0].split(": ", 1)[-1] if report.rejections else "see dead letters"
    summary = f"{report.rejected} dead-lettered, e.g. {reason}"
    if report.published == 0:
        raise DrillError(f"drill injected 0 of {total} mentions: {summary}")
    return f"drill injected {report.published} of {total} mentions: {summary}"


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
