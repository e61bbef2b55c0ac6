"""Drafts of a playbook step for one incident: one per (segment, locale), or one for the status
page; a replayed incident adds none. Pre-approved steps are approved in the same transaction."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Engine
from sqlmodel import Session, col, select

from monitor import audit
from monitor.incidents.service import get_detail
from monitor.storage.db import insert_for, session_scope
from monitor.storage.models import Incident
from playbooks.customers import all_customers
from playbooks.models import Consent, Customer, Draft, TemplateApproval
from playbooks.render import content_hash
from playbooks.schema import (
    STATUS_SEGMENT,
    DraftedStep,
    Playbook,
    StatusPageStep,
    Step,
    matches,
)
from playbooks.service import (
    STATUS_CHANNEL,
    Setup,
    approve_with_outbox,
    audience_of,
    facts_of,
    preview_for,
    recipient_groups,
    started_playbooks,
    status_preview,
)

# Members whose consent is read in one query when looking for someone to preview a message for.
_CONSENT_BATCH = 500


def make_drafts(
    engine: Engine, *, setup: Setup, incident_id: int, change: str, now: datetime
) -> list[Draft]:
    """Drafts of every drafted step of every matching playbook at once, waits aside.

    The worker schedules steps instead (``playbooks.steps``), so waits are honoured; this is
    what the one-shot callers and the tests use. Replays add nothing.
    """
    created: list[Draft] = []
    playbooks = matching_playbooks(engine, setup=setup, incident_id=incident_id)
    if change == "resolved":
        # The all-clear of the playbooks that started, whatever the incident matches now.
        with Session(engine) as session:
            started = started_playbooks(session, incident_id=incident_id)
        playbooks = [p for p in setup.catalogue.playbooks if p.name in started]
    for playbook in playbooks:
        for step in playbook.steps:
            if isinstance(step, Step | StatusPageStep) and step.trigger == change:
                created += draft_step(
                    engine,
                    setup=setup,
                    incident_id=incident_id,
                    step=step,
                    playbook=playbook,
                    now=now,
                )
    return created


def matching_playbooks(engine: Engine, *, setup: Setup, incident_id: int) -> list[Playbook]:
    detail = get_detail(engine, incident_id=incident_id)
    if detail is None:
        return []
    facts = facts_of(detail)
    return [p for p in setup.catalogue.playbooks if matches(p, facts)]


def draft_step(
    engine: Engine,
    *,
    setup: Setup,
    incident_id: int,
    playbook: Playbook,
    step: DraftedStep,
    now: datetime,
) -> list[Draft]:
    """The drafts of one step for one incident, in one transaction; existing ones are kept."""
    created: list[Draft] = []
    with session_scope(engine) as session:
        incident = session.get(Incident, incident_id)
        if incident is None:
            return []
        if isinstance(step, StatusPageStep):
            draft = _insert_draft(
                session,
                setup=setup,
                playbook=playbook,
                step=step,
                segment=STATUS_SEGMENT,
                locale=playbook.default_locale,
                copy=(step.title, step.body, ""),
                members=[],
                incident=incident,
                now=now,
            )
            return [draft] if draft is not None else []
        audience = audience_of(
            session,
            playbook=playbook,
            step=step,
            incident_id=incident_id,
            customers=all_customers(session),
        )
        groups = recipient_groups(setup, playbook=playbook, step=step, customers=audience, now=now)
        for (segment, locale), members in sorted(groups.items()):
            copy = step.segments[segment][locale]
            draft = _insert_draft(
                session,
                setup=setup,
                playbook=playbook,
                step=step,
                segment=segment,
                locale=locale,
                copy=(copy.subject, copy.text, copy.html),
                members=members,
                incident=incident,
                now=now,
            )
            if draft is not None:
                created.append(draft)
    return created


def _insert_draft(
    session: Session,
    *,
    setup: Setup,
    playbook: Playbook,
    step: DraftedStep,
    segment: str,
    locale: str,
    copy: tuple[str, str, str],
    members: list[Customer],
    incident: Incident,
    now: datetime,
) -> Draft | None:
    subject, text, html = copy
    digest = content_hash(subject=subject, text=text, html=html)
    status_page = isinstance(step, StatusPageStep)
    table = Draft.__table__  # type: ignore[attr-defined]
    values = {
        "incident_id": incident.id,
        "playbook": playbook.name,
        "step_id": step.id,
        "channel": STATUS_CHANNEL if status_page else step.channel,  # type: ignore[union-attr]
        "segment": segment,
        "locale": locale,
        "critical": getattr(step, "critical", False),
        "subject": subject,
        "body_text": text,
        "body_html": html,
        "content_hash": digest,
        "recipient_count": 1 if status_page else len(members),
        "status": "pending",
        "created_at": now,
    }
    sketch = Draft.model_validate(values)
    if isinstance(step, StatusPageStep):
        values["preview"] = status_preview(setup, draft=sketch, incident=incident)
    else:
        shown = _reachable(session, members, step.channel) or members[0]
        values["preview"] = preview_for(
            setup, draft=sketch, customer=shown, incident=incident, now=now
        )
    inserted = session.execute(
        insert_for(session, table)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["incident_id", "step_id", "segment", "locale"])
        .returning(table.c.id)
    ).first()
    if inserted is None:
        return None  # a replayed incident event: the draft exists already
    draft = session.get(Draft, inserted[0])
    assert draft is not None
    audit.append(
        session,
        actor="engine",
        action="draft",
        subject=f"draft:{draft.id}",
        detail={
            "incident": incident.id,
            "step": step.id,
            "segment": segment,
            "locale": locale,
            "hash": digest,
            "recipients": len(members),
        },
        now=now,
    )
    if step.pre_approved:
        standing = session.get(TemplateApproval, (playbook.name, step.id, segment, locale))
        if standing is not None and standing.content_hash == digest:
            approve_with_outbox(
                session,
                setup=setup,
                draft=draft,
                actor=f"pre-approved by {standing.approved_by}",
                now=now,
            )
        else:
            audit.append(
                session,
                actor="engine",
                action="pre-approval-void",
                subject=f"draft:{draft.id}",
                detail={"reason": "no standing approval of this template version", "hash": digest},
                now=now,
            )
    return draft


def _reachable(session: Session, members: list[Customer], channel: str) -> Customer | None:
    """The first member with active consent for the channel: a preview of a real message.
    Consents are read for a few hundred members at a time, not one query per member."""
    for at in range(0, len(members), _CONSENT_BATCH):
        batch = members[at : at + _CONSENT_BATCH]
        consented = set(
            session.exec(
                select(Consent.customer_id).where(
                    Consent.channel == channel,
                    col(Consent.revoked_at).is_(None),
                    col(Consent.customer_id).in_([c.id for c in batch]),
                )
            ).all()
        )
        found = next((c for c in batch if c.id in consented), None)
        if found is not None:
            return found
    return None
