"""The built-in status page: what it shows, read from ``status_updates``.

Updates reach the table only through approved drafts (``StatusPageChannel``). Each update
carries an incident state (investigating, identified, monitoring, resolved); what a component
suffers (its impact) follows from the state of its latest update and the incident's severity:

- resolved: operational;
- monitoring: degraded performance (a fix is in, it is being watched);
- investigating or identified: a major outage for a critical incident, else a partial outage.

The page's indicator is the worst impact among components. The HTML is a Jinja2 template in
the shell (``monitor/shell/ui/templates/status.html``); the Atom feed is
``playbooks.status_feed``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session, col, select

from monitor.storage.models import Incident
from playbooks.models import StatusUpdate

# Incident states, worst first: the overall incident state is the first any component is in.
SEVERITY = ("investigating", "identified", "monitoring")
OPERATIONAL = "operational"
# Impacts, best first.
IMPACTS = (OPERATIONAL, "degraded_performance", "partial_outage", "major_outage")
HISTORY_DAYS = 90
LABEL = {
    "investigating": "Investigating",
    "identified": "Identified",
    "monitoring": "Monitoring",
    "resolved": "Resolved",
    OPERATIONAL: "Operational",
    "degraded_performance": "Degraded performance",
    "partial_outage": "Partial outage",
    "major_outage": "Major outage",
}
# What the banner says for the page's indicator.
HEADLINE = {
    OPERATIONAL: "All systems operational",
    "degraded_performance": "Some systems have degraded performance",
    "partial_outage": "Partial outage",
    "major_outage": "Major outage",
}


def impact_of(status: str, severity: str | None) -> str:
    """A component's impact from its latest update's state and the incident's severity.

    >>> impact_of("investigating", "critical"), impact_of("identified", "warning")
    ('major_outage', 'partial_outage')
    >>> impact_of("monitoring", "critical"), impact_of("resolved", "critical")
    ('degraded_performance', 'operational')
    """
    if status == "resolved":
        return OPERATIONAL
    if status == "monitoring":
        return "degraded_performance"
    return "major_outage" if severity == "critical" else "partial_outage"


@dataclass(frozen=True)
class PageIncident:
    """One incident as the page's history shows it: its updates, newest first."""

    incident_id: int
    title: str  # the newest update's title
    status: str  # the newest update's state
    updates: list[StatusUpdate]

    @property
    def started_at(self) -> datetime:
        return self.updates[-1].posted_at

    @property
    def updated_at(self) -> datetime:
        return self.updates[0].posted_at


@dataclass(frozen=True)
class StatusPage:
    overall: str  # the worst incident state among components, or operational
    components: dict[str, str]  # component → the state of its latest update
    updates: list[StatusUpdate]  # newest first, within the history
    impacts: dict[str, str] = field(default_factory=dict)  # component → its impact
    indicator: str = OPERATIONAL  # the worst impact
    incidents: list[PageIncident] = field(default_factory=list)  # newest first
    history_days: int = HISTORY_DAYS

    @property
    def headline(self) -> str:
        return HEADLINE[self.indicator]


def read_page(engine: Engine, *, now: datetime | None = None, limit: int = 500) -> StatusPage:
    """Current status per component, and the updates of the last 90 days (at most ``limit``)."""
    with Session(engine) as session:
        newest = select(StatusUpdate).order_by(
            col(StatusUpdate.posted_at).desc(), col(StatusUpdate.id).desc()
        )
        if now is not None:
            newest = newest.where(col(StatusUpdate.posted_at) >= now - timedelta(days=HISTORY_DAYS))
        updates = list(session.exec(newest.limit(limit)).all())
        latest = _latest_per_component(session)
        updates = _with_open_incidents(session, updates, latest)
        ids = {u.incident_id for u in [*updates, *latest.values()]}
        severities = dict(
            session.exec(
                select(Incident.id, Incident.severity).where(col(Incident.id).in_(ids))
            ).all()
        )
    components = {name: update.status for name, update in latest.items()}
    impacts = {
        name: impact_of(update.status, severities.get(update.incident_id))
        for name, update in latest.items()
    }
    current = {c: (OPERATIONAL if s == "resolved" else s) for c, s in components.items()}
    overall = next((s for s in SEVERITY if s in current.values()), OPERATIONAL)
    indicator = max(impacts.values(), key=IMPACTS.index, default=OPERATIONAL)
    return StatusPage(
        overall=overall,
        components=current,
        updates=updates,
        impacts=impacts,
        indicator=indicator,
        incidents=_by_incident(updates),
    )


def _with_open_incidents(
    session: Session, updates: list[StatusUpdate], latest: dict[str, StatusUpdate]
) -> list[StatusUpdate]:
    """``updates`` plus every update of an incident still open on a component, however old.

    An update is dated in the incident's event time, so a replayed incident can be months old
    while its component still reads "investigating": the history must not then say "no
    incidents" under a red banner.
    """
    shown = {u.incident_id for u in updates}
    still_open = {u.incident_id for u in latest.values() if u.status != "resolved"} - shown
    if not still_open:
        return updates
    older = session.exec(
        select(StatusUpdate).where(col(StatusUpdate.incident_id).in_(still_open))
    ).all()
    return sorted(
        [*updates, *older],
        key=lambda u: (u.posted_at.replace(tzinfo=None), u.id or 0),
        reverse=True,
    )


def _latest_per_component(session: Session) -> dict[str, StatusUpdate]:
    """Each component's latest update, however old: a component stays as it was last said."""
    posted = session.exec(
        select(StatusUpdate.component, StatusUpdate.posted_at, StatusUpdate.id).order_by(
            col(StatusUpdate.posted_at).desc(), col(StatusUpdate.id).desc()
        )
    ).all()
    first: dict[str, int] = {}
    for component, _, update_id in posted:
        if update_id is not None:
            first.setdefault(component, update_id)
    rows = session.exec(
        select(StatusUpdate).where(col(StatusUpdate.id).in_(list(first.values())))
    ).all()
    return {row.component: row for row in rows}


def _by_incident(updates: list[StatusUpdate]) -> list[PageIncident]:
    grouped: dict[int, list[StatusUpdate]] = {}
    for update in updates:  # newest first, so each incident's list is newest first too
        grouped.setdefault(update.incident_id, []).append(update)
    return [
        PageIncident(incident_id, items[0].title, items[0].status, items)
        for incident_id, items in grouped.items()
    ]


def as_json(page: StatusPage) -> dict[str, Any]:
    return {
        "status": page.overall,
        "indicator": page.indicator,
        "headline": page.headline,
        "components": page.components,
        "impacts": page.impacts,
        "history_days": page.history_days,
        "updates": [
            {
                "id": u.id,
                "incident_id": u.incident_id,
                "component": u.component,
                "status": u.status,
                "title": u.title,
                "body": u.body,
                "posted_at": u.posted_at.isoformat(),
            }
            for u in page.updates
        ],
    }
