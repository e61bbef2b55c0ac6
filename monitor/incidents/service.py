"""Correlating anomalies into incidents. Keyword-only data access; no Faust, no Slack.

The rules themselves live in `monitor.incidents.correlation` (shared with the backtest); the
names imported from there ``as`` themselves are still imported from here by other modules.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import Engine, func, update
from sqlmodel import Session, col, select

from detectors.series import DRILL_PREFIX
from detectors.terms import TermCount, decode_top_terms
from monitor.incidents.correlation import PAGED as PAGED
from monitor.incidents.correlation import SEVERITIES as SEVERITIES
from monitor.incidents.correlation import SEVERITY_RANK as SEVERITY_RANK
from monitor.incidents.correlation import (
    AnomalyFacts,
    IncidentSpan,
    may_reopen,
    opening_severity,
    place,
    regrade,
    title_of,
)
from monitor.incidents.correlation import grade_incident as grade_incident
from monitor.incidents.correlation import is_paged as is_paged
from monitor.incidents.correlation import series_breadth as series_breadth
from monitor.storage.db import session_scope
from monitor.storage.models import Anomaly, Incident, IngestProgress, Mention, SeriesWindow
from streams.near_duplicates import Spread, spread_of


@dataclass(frozen=True, slots=True)
class IncidentChange:
    incident_id: int
    change: str  # "opened" or "merged"
    severity: str
    # True when this change made the incident worth a page (opened at, or raised to, warning+):
    # the moment to alert a person and to start the playbooks.
    paged_now: bool = False


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
        facts = _facts(anomaly)
        # A drill's anomalies (on drill: series) never join a real incident, nor the reverse.
        # Besides the open incidents, the resolved ones the anomaly may be near (see `place`).
        ends_after, starts_before = may_reopen(facts, merge_gap)
        candidates = {
            incident.id: incident
            for incident in session.exec(
                select(Incident)
                .where(
                    Incident.drill == facts.drill,
                    (col(Incident.status) == "open")
                    | (
                        (col(Incident.last_window_end) >= ends_after)
                        & (col(Incident.first_window_start) <= starts_before)
                    ),
                )
                .order_by(col(Incident.id))
            ).all()
        }
        placement = place(
            facts,
            (
                IncidentSpan(key, i.first_window_start, i.last_window_end, i.status == "open")
                for key, i in candidates.items()
                if key is not None
            ),
            merge_gap,
        )
        for key in placement.resolved:
            resolved = candidates[key]
            resolved.status = "resolved"
            resolved.resolved_at = now
            session.add(resolved)
        if placement.target is None:
            target = Incident(
                severity=opening_severity(facts),
                title=title_of(facts),
                series=anomaly.series,
                anomaly_count=1,
                first_window_start=anomaly.window_start,
                last_window_end=anomaly.window_end,
                opened_at=now,
                drill=facts.drill,
            )
            change = "opened"
        else:
            target = candidates[placement.target]
            if placement.reopen:
                target.status, target.resolved_at = "open", None
            change = "merged"
            target.anomaly_count += 1
            series = target.series.split()
            if anomaly.series not in series:
                target.series = " ".join([*series, anomaly.series])
            target.last_window_end = max(target.last_window_end, anomaly.window_end)
            target.first_window_start = min(target.first_window_start, anomaly.window_start)
        session.add(target)
        session.flush()
        assert target.id is not None
        anomaly.incident_id = target.id
        session.add(anomaly)
        session.flush()
        severity_before = target.severity if change == "merged" else "info"
        if change == "merged":
            members = session.exec(select(Anomaly).where(Anomaly.incident_id == target.id)).all()
            regraded = regrade(target.severity, target.series.split(), [_facts(m) for m in members])
            if regraded.named is not None:
                target.severity, target.title = regraded.severity, title_of(regraded.named)
                session.add(target)
        paged_now = is_paged(target.severity) and not (
            change == "merged" and is_paged(severity_before)
        )
        return IncidentChange(target.id, change, target.severity, paged_now)


def _facts(anomaly: Anomaly) -> AnomalyFacts:
    return AnomalyFacts(
        anomaly_id=anomaly.anomaly_id,
        series=anomaly.series,
        window_start=anomaly.window_start,
        window_end=anomaly.window_end,
        metric=anomaly.metric,
        severity=anomaly.severity,
        score=anomaly.score,
    )


PAGED_SEVERITIES = tuple(s for s in SEVERITIES if is_paged(s))


@dataclass(frozen=True, slots=True)
class IncidentDetail:
    incident: Incident
    anomalies: list[Anomaly]
    examples: list[Mention]
    # How far each copied example spread (copies, outlets): context, never volume.
    spread: dict[str, Spread] = field(default_factory=dict)


def top_terms_of(detail: IncidentDetail) -> list[TermCount]:
    """The terms that rose most, from the strongest anomaly that has any: what the alert shows
    and playbooks match on (every window's terms together would match anything)."""
    return next((t for a in detail.anomalies if (t := decode_top_terms(a.top_terms))), [])


def strongest_first(anomalies: Iterable[Anomaly]) -> list[Anomaly]:
    """Strongest first; among equally strong ones (scores are capped) the broadest series."""
    return sorted(anomalies, key=lambda a: (-a.score, series_breadth(a.series), a.anomaly_id))


def get_detail(engine: Engine, *, incident_id: int) -> IncidentDetail | None:
    """An incident with its anomalies (strongest first; among equally strong ones the broadest
    series first, since scores are capped) and their example mentions."""
    with Session(engine, expire_on_commit=False) as session:
        incident = session.get(Incident, incident_id)
        if incident is None:
            return None
        anomalies = strongest_first(
            session.exec(select(Anomaly).where(Anomaly.incident_id == incident_id)).all()
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
        spread = spread_of(session, [m.mention_id for m in examples if m.copies])
        return IncidentDetail(incident, anomalies, examples, spread)


def claim_alert(engine: Engine, *, incident_id: int, now: datetime, stale_after: timedelta) -> bool:
    """Take the right to post this incident's alert; False if it is sent or being sent.

    A claim older than ``stale_after`` (its sender died mid-post) can be taken over.
    """
    with session_scope(engine) as session:
        result = session.execute(
            update(Incident)
            .where(
                col(Incident.id) == incident_id,
                col(Incident.alerted_at).is_(None),
                col(Incident.alert_claimed_at).is_(None)
                | (col(Incident.alert_claimed_at) < now - stale_after),
            )
            .values(alert_claimed_at=now)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]


def release_alert(engine: Engine, *, incident_id: int) -> None:
    """Give the claim back after a failed post, so the follow-up timer retries soon."""
    with session_scope(engine) as session:
        session.execute(
            update(Incident)
            .where(col(Incident.id) == incident_id, col(Incident.alerted_at).is_(None))
            .values(alert_claimed_at=None)
        )


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


def resolve_quiet(
    engine: Engine,
    *,
    watermark: datetime | None,
    merge_gap: timedelta,
    live_horizon: timedelta,
    now: datetime,
) -> list[int]:
    """Resolve open incidents that have been quiet for longer than the merge gap.

    Quiet is judged on the clock the incident lived on: wall clock for an incident that opened
    on live data, event time (the ingest watermark) for one that came from a replay.
    """
    resolved: list[int] = []
    with session_scope(engine) as session:
        detected: dict[bool, datetime | None] = {}
        for incident in session.exec(select(Incident).where(Incident.status == "open")).all():
            live = incident.opened_at - incident.last_window_end <= live_horizon
            clock = now if live else watermark
            if not live and clock is not None:
                # A fast replay ingests far ahead of detection, and detection runs ahead of
                # correlation: judge quiet by how far detection has got, and not at all while
                # anomalies wait to be correlated, or those still on their way would find the
                # incident resolved and open a second one (live and backtest would differ).
                if incident.drill not in detected:
                    detected[incident.drill] = (
                        None
                        if _anomalies_waiting(session)
                        else _detected_through(session, drill=incident.drill)
                    )
                through = detected[incident.drill]
                clock = None if through is None else min(clock, through)
            if clock is None or clock - incident.last_window_end <= merge_gap:
                continue
            incident.status = "resolved"
            incident.resolved_at = now
            session.add(incident)
            assert incident.id is not None
            resolved.append(incident.id)
    return resolved


def _anomalies_waiting(session: Session) -> bool:
    """Whether detection has stored anomalies that the correlator has not merged yet."""
    waiting = session.exec(
        select(Anomaly.anomaly_id).where(col(Anomaly.incident_id).is_(None)).limit(1)
    )
    return waiting.first() is not None


def _detected_through(session: Session, *, drill: bool) -> datetime | None:
    """The end of the newest window detection has closed on ``global`` (or the drill twin)."""
    table = SeriesWindow.__table__  # type: ignore[attr-defined]
    row = session.execute(
        select(table.c.window_start, table.c.window_seconds)
        .where(
            table.c.series == (DRILL_PREFIX + "global" if drill else "global"),
            table.c.closed.is_(True),
        )
        .order_by(table.c.window_start.desc())
        .limit(1)
    ).first()
    return None if row is None else row[0] + timedelta(seconds=row[1])


def unalerted_incidents(engine: Engine, *, opened_before: datetime) -> list[int]:
    """Open incidents severe enough to page whose alert has not been delivered yet."""
    with Session(engine) as session:
        rows = session.exec(
            select(Incident.id).where(
                Incident.status == "open",
                col(Incident.severity).in_(PAGED_SEVERITIES),
                col(Incident.alerted_at).is_(None),
                col(Incident.opened_at) < opened_before,
            )
        ).all()
    return [int(r) for r in rows if r is not None]


def ingest_watermark(engine: Engine, *, topic: str) -> datetime | None:
    """The event time every partition of ``topic`` has reached (None before any data)."""
    table = IngestProgress.__table__  # type: ignore[attr-defined]
    with Session(engine) as session:
        value: datetime | None = session.execute(
            select(func.min(table.c.max_event_time)).where(table.c.topic == topic)
        ).scalar()
    return value
