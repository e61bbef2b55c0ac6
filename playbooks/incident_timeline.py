"""An incident's page with what the playbooks did about it: the messages drafted, approved or
rejected (from the audit log: every decision, with who made it) and sent (from the outbox)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Engine, func
from sqlmodel import Session, col, select

from monitor.incidents.timeline import TimelineEvent
from monitor.incidents.views import IncidentPage, incident_page
from monitor.storage.models import AuditEntry
from playbooks.models import Delivery, Draft

# audit action on a draft -> the verb the timeline uses
DRAFT_VERBS = {
    "approve": "approved",
    "reject": "rejected",
    "edit": "edited (needs a new approval)",
    "pre-approval-void": "no longer pre-approved",
}


def incident_page_with_messages(engine: Engine, *, incident_id: int) -> IncidentPage | None:
    """`incident_page`, its timeline completed with the drafts' decisions and the sends."""
    page = incident_page(engine, incident_id=incident_id)
    if page is None:
        return None
    events = [*page.timeline, *message_events(engine, incident_id=incident_id)]
    page.timeline[:] = sorted(events, key=lambda e: e.at)
    return page


def message_events(engine: Engine, *, incident_id: int) -> list[TimelineEvent]:
    """Each decision on the incident's drafts, and the sends of each draft (one line each)."""
    with Session(engine) as session:
        drafts = {
            int(d.id or 0): d
            for d in session.exec(select(Draft).where(Draft.incident_id == incident_id)).all()
        }
        if not drafts:
            return []
        decisions = session.exec(
            select(AuditEntry)
            .where(
                col(AuditEntry.subject).in_([f"draft:{key}" for key in drafts]),
                col(AuditEntry.action).in_(list(DRAFT_VERBS)),
            )
            .order_by(col(AuditEntry.id))
        ).all()
        sends = session.exec(
            select(
                Delivery.draft_id,
                func.count(),
                func.min(Delivery.sent_at),
                func.max(Delivery.sent_at),
            )
            .where(col(Delivery.draft_id).in_(list(drafts)), Delivery.status == "sent")
            .group_by(col(Delivery.draft_id))
        ).all()
    events = []
    for entry in decisions:
        draft = drafts[int(entry.subject.removeprefix("draft:"))]
        events.append(
            TimelineEvent(
                entry.at,
                "approved" if entry.action == "approve" else "message",
                f"Message {_what(draft)} {DRAFT_VERBS[entry.action]}",
                entry.actor,
            )
        )
    for draft_id, count, first, last in sends:
        if first is not None and last is not None:
            events.append(_sent(drafts[int(draft_id)], int(count), first, last))
    return events


def _what(draft: Draft) -> str:
    return f"{draft.step_id} ({draft.channel}, {draft.segment}, {draft.locale})"


def _sent(draft: Draft, count: int, first: datetime, last: datetime) -> TimelineEvent:
    messages = "1 message" if count == 1 else f"{count} messages"
    until = f", the last at {last:%H:%M} UTC" if count > 1 and last != first else ""
    return TimelineEvent(first, "sent", f"{messages} sent: {_what(draft)}{until}")
