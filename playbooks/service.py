"""Drafts, approvals and the outbox: keyword-only functions over one SQL transaction each."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, update
from sqlmodel import Session, col, select

from detectors.terms import decode_top_terms
from monitor import audit
from monitor.incidents.service import SEVERITY_RANK, IncidentDetail, series_breadth
from monitor.storage.db import insert_for
from monitor.storage.models import Incident
from playbooks.customers import all_customers
from playbooks.event_time import LIVE_HORIZON, began_at
from playbooks.models import Customer, Delivery, Draft, StepRun
from playbooks.policy import SendingConfig
from playbooks.render import Rendered, render_copy
from playbooks.schema import (
    Catalogue,
    DraftedStep,
    IncidentFacts,
    Playbook,
    StatusPageStep,
    Step,
    resolve_locale,
)
from playbooks.segments import Segments
from playbooks.status_subscribers import subscriber_rows


class DraftError(RuntimeError):
    """A request about a draft cannot be done; ``status`` is the HTTP answer."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Setup:
    """Everything the engine reads from config and settings, loaded once per process."""

    segments: Segments
    catalogue: Catalogue
    sending: SendingConfig
    public_url: str
    unsubscribe_secret: str = ""
    # detection.yaml's live_horizon_seconds: an incident opened later than this after its
    # windows came from a replay, and its messages speak in event time.
    live_horizon: timedelta = LIVE_HORIZON
    # The status page's title (CRISISMON_STATUS_PAGE_TITLE), in its subscribers' emails.
    status_page_title: str = "Service status"

    def unsubscribe_url(self, customer_id: int, channel: str) -> str:
        token = unsubscribe_token(self.unsubscribe_secret, customer_id, channel)
        return f"{self.public_url.rstrip('/')}/unsubscribe?c={customer_id}&ch={channel}&t={token}"

    def playbook(self, name: str) -> Playbook:
        for playbook in self.catalogue.playbooks:
            if playbook.name == name:
                return playbook
        raise DraftError(f"playbook {name!r} is no longer configured", 409)


def new_secret() -> str:
    return secrets.token_hex(32)


def unsubscribe_token(secret: str, customer_id: int, channel: str) -> str:
    message = f"{customer_id}:{channel}".encode("utf-8", "replace")  # any query text
    mac = hmac.new(secret.encode(), message, hashlib.sha256)
    return mac.hexdigest()[:32]


ADDRESS = {
    "email": "email",
    "sms": "phone",
    "webhook": "webhook_url",
    "slack": "slack_channel",
    "console": "external_id",
}
# Drafts of status page steps go to the built-in status page, not to customers.
STATUS_CHANNEL = "status_page"


def address_of(customer: Customer, channel: str) -> str | None:
    value = getattr(customer, ADDRESS[channel])
    return str(value) if value else None


def incident_context(
    incident: Incident, *, live_horizon: timedelta = LIVE_HORIZON
) -> dict[str, Any]:
    """``incident.*`` in templates. ``opened_at`` is when it began in the clock the incident
    lived on: detection time live, its first window's start when it came from a replay."""
    began = began_at(incident, live_horizon=live_horizon)
    return {
        "id": incident.id,
        "title": incident.title,
        "severity": incident.severity,
        "series": incident.series,
        "opened_at": f"{began:%Y-%m-%d %H:%M} UTC",
    }


def status_context(setup: Setup, *, draft: Draft, incident: Incident) -> dict[str, Any]:
    """The template context of a status page update: the incident and the playbook's vars."""
    return {
        "incident": incident_context(incident, live_horizon=setup.live_horizon),
        "vars": setup.playbook(draft.playbook).vars,
    }


def render_status(setup: Setup, *, draft: Draft, incident: Incident) -> Rendered:
    """A status page draft as the page will show it: subject is the title, text the body."""
    context = status_context(setup, draft=draft, incident=incident)
    return render_copy(subject=draft.subject, text=draft.body_text, html="", context=context)


def status_preview(setup: Setup, *, draft: Draft, incident: Incident) -> str:
    rendered = render_status(setup, draft=draft, incident=incident)
    return f"(status page update)\n{rendered.subject}\n\n{rendered.text}"


def context_for(
    setup: Setup, *, customer: Customer, draft: Draft, incident: Incident, now: datetime
) -> dict[str, Any]:
    """The template context for one real recipient."""
    playbook = setup.playbook(draft.playbook)
    assert customer.id is not None
    return {
        "customer": {
            "external_id": customer.external_id,
            "locale": customer.locale,
            "timezone": customer.timezone,
            "region": customer.region or "",
            "plan": customer.plan or "",
            "lifecycle": setup.segments.lifecycle(customer, now=now),
            "segment": draft.segment,
        },
        "incident": incident_context(incident, live_horizon=setup.live_horizon),
        "vars": playbook.vars,
        "unsubscribe_url": setup.unsubscribe_url(customer.id, draft.channel),
    }


def recipient_groups(
    setup: Setup, *, playbook: Playbook, step: Step, customers: list[Customer], now: datetime
) -> dict[tuple[str, str], list[Customer]]:
    """Recipients of a step by (segment, locale): each customer in the first segment they match."""
    groups: dict[tuple[str, str], list[Customer]] = defaultdict(list)
    names = list(step.segments)
    for customer in customers:
        if address_of(customer, step.channel) is None:
            continue
        segment = setup.segments.first_of(customer, names, now=now)
        if segment is None:
            continue
        locale = resolve_locale(
            customer.locale, list(step.segments[segment]), playbook.default_locale
        )
        groups[(segment, locale)].append(customer)
    return groups


def facts_of(detail: IncidentDetail) -> IncidentFacts:
    """What playbooks match on: what the incident is about.

    The strongest anomalies are those at the incident's top anomaly severity: their series
    count for ``series`` rules. The dominant one is, among them, on the broadest series
    (global before a source, before a topic), then the highest score: a narrow slice rises
    most against its own small baseline (an outage lifts ``topic:billing`` ×13 when customers
    cry "payments failing"), while the broadest series' risen terms say what it is about.
    Terms are the dominant anomaly's risen terms (a "charged twice" wave matches before
    anyone quotes it); its example mentions only when no term rose (a drop, say): three
    quotes from an outage may well say "refund", the words that rose say "down". A weaker
    anomaly that merely joined (a minor ``topic:billing`` blip during an outage) counts for
    nothing, so it cannot start its playbook.
    """
    incident = detail.incident
    ordered = sorted(
        detail.anomalies,
        key=lambda a: (
            -SEVERITY_RANK.get(a.severity, 0),
            series_breadth(a.series),
            -a.score,
            a.anomaly_id,
        ),
    )
    if not ordered:  # an incident always has an anomaly; be safe with a half-written one
        return IncidentFacts(incident.severity, incident.series.split(), [], "")
    dominant = ordered[0]
    top = SEVERITY_RANK.get(dominant.severity, 0)
    series = list(
        dict.fromkeys(a.series for a in ordered if SEVERITY_RANK.get(a.severity, 0) == top)
    )
    texts = [t.term for t in decode_top_terms(dominant.top_terms)]
    if not texts:
        own = set(dominant.example_mention_ids.split())
        texts = [m.text for m in detail.examples if m.mention_id in own]
    return IncidentFacts(
        severity=incident.severity, series=series, texts=texts, metric=dominant.metric
    )


def started_playbooks(session: Session, *, incident_id: int) -> set[str]:
    """Playbooks that started for an incident: opened steps scheduled (the worker) or drafts
    written (one-shot drafting; a resolved step's draft exists only where one started)."""
    runs = StepRun.__table__  # type: ignore[attr-defined]
    drafts = Draft.__table__  # type: ignore[attr-defined]
    scheduled = session.execute(
        select(runs.c.playbook).where(runs.c.incident_id == incident_id, runs.c.trigger == "opened")
    ).all()
    drafted = session.execute(
        select(drafts.c.playbook).where(drafts.c.incident_id == incident_id)
    ).all()
    return {str(row[0]) for row in [*scheduled, *drafted]}


def _told(session: Session, incident_id: int, playbook: str) -> set[int]:
    """Customers this playbook sent something to about the incident."""
    drafts = Draft.__table__  # type: ignore[attr-defined]
    deliveries = Delivery.__table__  # type: ignore[attr-defined]
    rows = session.execute(
        select(deliveries.c.customer_id)
        .join(drafts, drafts.c.id == deliveries.c.draft_id)
        .where(
            drafts.c.incident_id == incident_id,
            drafts.c.playbook == playbook,
            deliveries.c.status == "sent",
        )
    ).all()
    return {int(r[0]) for r in rows}


def audience_of(
    session: Session,
    *,
    playbook: Playbook,
    step: DraftedStep,
    incident_id: int,
    customers: list[Customer],
) -> list[Customer]:
    """Who a step may reach: everyone, or for an all-clear only those who were told."""
    if step.trigger != "resolved":
        return customers
    told = _told(session, incident_id, playbook.name)
    return [c for c in customers if c.id in told]


def preview_for(
    setup: Setup, *, draft: Draft, customer: Customer, incident: Incident, now: datetime
) -> str:
    context = context_for(setup, customer=customer, draft=draft, incident=incident, now=now)
    rendered = render_copy(
        subject=draft.subject, text=draft.body_text, html=draft.body_html, context=context
    )
    head = f"Subject: {rendered.subject}\n\n" if rendered.subject else ""
    return f"(preview for customer {customer.external_id})\n{head}{rendered.text}"


def approve_with_outbox(
    session: Session, *, setup: Setup, draft: Draft, actor: str, now: datetime
) -> int:
    """Approve and write the outbox rows in the caller's transaction; returns rows added."""
    playbook = setup.playbook(draft.playbook)
    try:
        step = playbook.step(draft.step_id)
    except KeyError:
        raise DraftError(f"step {draft.step_id!r} is no longer in {playbook.name}", 409) from None
    # (idempotency key, customer id, channel): one row per recipient, or one for the status
    # page and one per subscriber of its emails.
    rows: list[tuple[str, int, str]] = []
    if isinstance(step, StatusPageStep):
        rows = [(f"{draft.incident_id}:status:{draft.step_id}", 0, draft.channel)]
        rows += subscriber_rows(session, draft=draft)
    else:
        customers = audience_of(
            session,
            playbook=playbook,
            step=step,
            incident_id=draft.incident_id,
            customers=all_customers(session),
        )
        groups = recipient_groups(setup, playbook=playbook, step=step, customers=customers, now=now)
        rows = [
            (
                f"{draft.incident_id}:{customer.id}:{draft.step_id}",
                int(customer.id or 0),
                draft.channel,
            )
            for customer in groups.get((draft.segment, draft.locale), [])
        ]
    draft.status = "approved"
    draft.approved_hash = draft.content_hash
    draft.decided_by = actor
    draft.decided_at = now
    session.add(draft)
    table = Delivery.__table__  # type: ignore[attr-defined]
    # Rows held back by an edit go out now, with the newly approved content.
    session.execute(
        update(table)
        .where(table.c.draft_id == draft.id, table.c.status == "pending")
        .values(next_attempt_at=now)
    )
    added = 0
    for key, customer_id, channel in rows:
        row = {
            "idempotency_key": key,
            "draft_id": draft.id,
            "customer_id": customer_id,
            "channel": channel,
            "status": "pending",
            "attempts": 0,
            "next_attempt_at": now,
            "created_at": now,
        }
        statement = (
            insert_for(session, table)
            .values(**row)
            .on_conflict_do_nothing(index_elements=["idempotency_key"])
            .returning(table.c.id)
        )
        # RETURNING, not rowcount: psycopg reports -1 for these INSERTs.
        added += session.execute(statement).first() is not None
    audit.append(
        session,
        actor=actor,
        action="approve",
        subject=f"draft:{draft.id}",
        detail={"hash": draft.content_hash, "outbox_rows": added},
        now=now,
    )
    return added


def list_drafts(
    engine: Engine, *, incident_id: int | None = None, draft_id: int | None = None
) -> list[Draft]:
    with Session(engine) as session:
        query = select(Draft).order_by(col(Draft.id))
        if incident_id is not None:
            query = query.where(Draft.incident_id == incident_id)
        if draft_id is not None:
            query = query.where(Draft.id == draft_id)
        return list(session.exec(query).all())


def utcnow() -> datetime:
    return datetime.now(UTC)
