"""Decisions on drafts: approve, reject, edit, and standing pre-approval of templates.

Every decision is one transaction with its audit row; an approval also writes the outbox rows.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Engine, text, update
from sqlmodel import Session, col, select

from monitor import audit
from monitor.storage.db import session_scope
from monitor.storage.models import Incident
from playbooks.models import Customer, Delivery, Draft, TemplateApproval
from playbooks.render import TemplateError, content_hash, render_copy, sample_context
from playbooks.schema import STATUS_SEGMENT, StatusPageStep, Step
from playbooks.service import (
    STATUS_CHANNEL,
    DraftError,
    Setup,
    approve_with_outbox,
    preview_for,
    status_preview,
)


def approve(
    engine: Engine,
    *,
    setup: Setup,
    draft_id: int,
    actor: str,
    expected_hash: str | None,
    now: datetime,
) -> int:
    """Approve the draft as it is now; approval and outbox rows commit together."""
    with session_scope(engine) as session:
        draft = _load(session, draft_id)
        if expected_hash is not None and expected_hash != draft.content_hash:
            raise DraftError("the draft changed since you saw it: review it again", 409)
        if draft.status == "approved" and draft.approved_hash == draft.content_hash:
            return 0
        if draft.status == "rejected":
            raise DraftError("the draft was rejected", 409)
        return approve_with_outbox(session, setup=setup, draft=draft, actor=actor, now=now)


def reject(engine: Engine, *, draft_id: int, actor: str, reason: str, now: datetime) -> None:
    """Reject the draft; its messages not sent yet are cancelled."""
    with session_scope(engine) as session:
        draft = _load(session, draft_id)
        draft.status = "rejected"
        draft.decided_by = actor
        draft.decided_at = now
        session.add(draft)
        table = Delivery.__table__  # type: ignore[attr-defined]
        cancelled = session.execute(
            update(table)
            .where(table.c.draft_id == draft_id, table.c.status == "pending")
            .values(status="cancelled", reason="draft rejected")
        ).rowcount  # type: ignore[attr-defined]
        audit.append(
            session,
            actor=actor,
            action="reject",
            subject=f"draft:{draft_id}",
            detail={"reason": reason, "hash": draft.content_hash, "cancelled": cancelled},
            now=now,
        )


def edit(
    engine: Engine,
    *,
    setup: Setup,
    draft_id: int,
    actor: str,
    subject: str | None,
    text: str | None,
    html: str | None,
    now: datetime,
) -> Draft:
    """Change the copy; it must render, and it needs a (new) approval before anything is sent."""
    with session_scope(engine) as session:
        draft = _load(session, draft_id)
        if draft.status == "rejected":
            raise DraftError("the draft was rejected", 409)
        new = {
            "subject": draft.subject if subject is None else subject,
            "text": draft.body_text if text is None else text,
            "html": draft.body_html if html is None else html,
        }
        if any("\x00" in part for part in new.values()):
            # PostgreSQL refuses NUL in text columns; say so instead of failing on write.
            raise DraftError("the copy must not contain NUL characters")
        if not new["text"].strip():
            raise DraftError("text must not be empty")
        if draft.channel == "email" and not (new["subject"].strip() and new["html"].strip()):
            raise DraftError("an email needs a subject and html")
        variables = setup.playbook(draft.playbook).vars
        try:
            render_copy(
                **new,
                context=sample_context(
                    locale=draft.locale, segment=draft.segment, variables=variables
                ),
            )
        except TemplateError as exc:
            raise DraftError(f"template error: {exc.message}") from exc
        before = draft.content_hash
        previous = {"subject": draft.subject, "text": draft.body_text, "html": draft.body_html}
        draft.subject, draft.body_text, draft.body_html = new["subject"], new["text"], new["html"]
        draft.content_hash = content_hash(**new)
        draft.status = "pending"  # an edit, even after approval, needs a new approval
        session.add(draft)
        incident = session.get(Incident, draft.incident_id)
        first = session.exec(select(Customer).order_by(col(Customer.id)).limit(1)).first()
        if incident is not None and draft.channel == STATUS_CHANNEL:
            draft.preview = status_preview(setup, draft=draft, incident=incident)
        elif incident is not None and first is not None:
            draft.preview = preview_for(
                setup, draft=draft, customer=first, incident=incident, now=now
            )
        audit.append(
            session,
            actor=actor,
            action="edit",
            subject=f"draft:{draft_id}",
            # The copy as it was, so the approvals page can show what an edit changed.
            detail={"from": before, "to": draft.content_hash, "before": previous},
            now=now,
        )
        return draft


def preapprove(
    engine: Engine, *, setup: Setup, playbook_name: str, actor: str, now: datetime
) -> int:
    """Record a standing approval of the current templates of every ``pre_approved`` step."""
    playbook = setup.playbook(playbook_name)
    count = 0
    with session_scope(engine) as session:
        steps: list[Step | StatusPageStep] = [*playbook.message_steps, *playbook.status_steps]
        for step in steps:
            if not step.pre_approved:
                continue
            templates = (
                {STATUS_SEGMENT: {playbook.default_locale: (step.title, step.body, "")}}
                if isinstance(step, StatusPageStep)
                else {
                    segment: {loc: (c.subject, c.text, c.html) for loc, c in locales.items()}
                    for segment, locales in step.segments.items()
                }
            )
            for segment, locales in templates.items():
                for locale, (subject, text, html) in locales.items():
                    digest = content_hash(subject=subject, text=text, html=html)
                    key = (playbook.name, step.id, segment, locale)
                    row = session.get(TemplateApproval, key) or TemplateApproval(
                        playbook=playbook.name,
                        step_id=step.id,
                        segment=segment,
                        locale=locale,
                        content_hash=digest,
                        approved_by=actor,
                        approved_at=now,
                    )
                    row.content_hash, row.approved_by, row.approved_at = digest, actor, now
                    session.add(row)
                    audit.append(
                        session,
                        actor=actor,
                        action="pre-approve",
                        subject=f"template:{'/'.join(key)}",
                        detail={"hash": digest},
                        now=now,
                    )
                    count += 1
    return count


def _load(session: Session, draft_id: int) -> Draft:
    """The draft, locked until the decision commits: two people deciding at once (approve and
    reject, approve and edit) take turns, and the second sees what the first decided."""
    if session.get_bind().dialect.name == "sqlite":
        # SQLite has no row locks: take its write lock before reading, as audit.append does.
        session.execute(text("UPDATE drafts SET id = id WHERE 1 = 0"))
    draft = session.get(Draft, draft_id, with_for_update=True, populate_existing=True)
    if draft is None:
        raise DraftError(f"no draft {draft_id}", 404)
    return draft
