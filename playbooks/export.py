"""Everything held about one person, as one JSON-ready document (an access request).

The same lookups as erasure (`playbooks.person`): the customer row and the segments they are
in now, consents (and their history where that table exists), deliveries with their message
(rendered again at export time: the text sent is not kept; with the approved template's hash),
the mentions linked to them by pseudonym with their sentiment, inbox rows not ingested yet,
dead letters that still name them, and the audit entries about them.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, MetaData, Table, inspect, select
from sqlmodel import Session, SQLModel, col

from monitor.privacy import Pseudonymiser
from monitor.storage.models import Incident
from playbooks.models import Consent, Customer, Delivery, Draft
from playbooks.person import (
    audit_entries_of,
    dead_letters_of,
    deliveries_of,
    find_customer,
    inbox_of,
    keyed,
    linked_mention_ids,
    mentions_by_id,
    person_of,
)
from playbooks.render import TemplateError, render_copy
from playbooks.service import DraftError, Setup, context_for

FORMAT = "crisismon.person-export/1"
# The text a delivery carried is not kept, only its draft (the template): say what is shown.
RENDERED_NOW = (
    "rendered at export time from the approved template, with the customer's fields and the "
    "incident as they are now; what was sent used them as they were then"
)
TEMPLATE = "the template, not rendered: the playbook setup to render it with is not available"
_MENTION_FIELDS = (
    "mention_id",
    "source",
    "event_time",
    "text",
    "lang",
    "label",
    "compound",
    "sentiment_confidence",
    "sentiment_drivers",
    "url",
    "product",
    "tags",
    "rating",
    "priority",
    "network",
    "attributes",
)


def export_person(
    engine: Engine,
    *,
    ref: str,
    pseudonymiser: Pseudonymiser | None,
    setup: Setup | None,
    now: datetime,
) -> dict[str, Any]:
    """The export for the customer with external (or internal) id ``ref``.

    With ``setup`` (segments and playbooks) the segments are named and each delivery's message
    is rendered again, now (the text sent is not kept); without, the templates are given.
    """
    keyed_pseudonymiser = keyed(pseudonymiser, "an export")  # else their mentions are missed
    with Session(engine) as session:
        customer = find_customer(session, ref)
        person = person_of(customer, keyed_pseudonymiser)
        deliveries = deliveries_of(session, person.customer_id)
        mention_ids = linked_mention_ids(session, person)
        return {
            "format": FORMAT,
            "exported_at": now.isoformat(),
            "customer": _plain(customer),
            "segments": setup.segments.of(customer, now=now) if setup else None,
            "consents": [
                _plain(c)
                for c in session.exec(
                    select(Consent)  # type: ignore[call-overload]
                    .where(col(Consent.customer_id) == person.customer_id)
                    .order_by(col(Consent.channel))
                ).scalars()
            ],
            "consent_history": _consent_history(session, person.customer_id),
            "deliveries": [
                _delivery(session, d, customer=customer, setup=setup, now=now) for d in deliveries
            ],
            "mentions": [
                {k: _json_value(getattr(m, k)) for k in _MENTION_FIELDS}
                for m in mentions_by_id(session, mention_ids)
            ],
            "inbox": [
                {
                    "mention_id": r.mention_id,
                    "received_at": r.received_at.isoformat(),
                    "payload": _maybe_json(r.payload),
                    "ingested": r.done_at is not None,
                }
                for r in inbox_of(session, person, mention_ids)
            ],
            "dead_letters": [_plain(r) for r in dead_letters_of(session, person)],
            "audit": [
                {**_plain(e), "detail": _maybe_json(e.detail)}
                for e in audit_entries_of(session, person.customer_id, deliveries)
            ],
        }


def _delivery(
    session: Session, row: Delivery, *, customer: Customer, setup: Setup | None, now: datetime
) -> dict[str, Any]:
    found = _plain(row)
    draft = session.get(Draft, row.draft_id)
    if draft is None:
        found["message"] = None
        return found
    message: dict[str, Any] = {
        "incident_id": draft.incident_id,
        "playbook": draft.playbook,
        "step": draft.step_id,
        "segment": draft.segment,
        "locale": draft.locale,
        # The hash of the template as approved for sending (None: never approved).
        "approved_content_hash": draft.approved_hash,
    }
    incident = session.get(Incident, draft.incident_id)
    try:
        if setup is None or incident is None:
            raise DraftError("no playbook setup to render with", 409)
        context = context_for(setup, customer=customer, draft=draft, incident=incident, now=now)
        rendered = render_copy(
            subject=draft.subject, text=draft.body_text, html=draft.body_html, context=context
        )
        message.update(
            rendered="rendered_now", note=RENDERED_NOW, subject=rendered.subject, text=rendered.text
        )
    except (DraftError, TemplateError, LookupError):
        # The playbook changed or is gone: the approved template is what we still have.
        message.update(
            rendered="template", note=TEMPLATE, subject=draft.subject, text=draft.body_text
        )
    found["message"] = message
    return found


def _consent_history(session: Session, customer_id: int) -> list[dict[str, Any]] | None:
    """Rows of any consent-history table for them; None when no such table exists."""
    inspector = inspect(session.connection())
    rows: list[dict[str, Any]] | None = None
    for name in sorted(inspector.get_table_names()):
        if "consent" not in name or name == Consent.__tablename__:
            continue
        if "customer_id" not in {c["name"] for c in inspector.get_columns(name)}:
            continue
        table = Table(name, MetaData(), autoload_with=session.connection())
        found = session.execute(select(table).where(table.c.customer_id == customer_id))
        rows = (rows or []) + [{k: _json_value(v) for k, v in r._mapping.items()} for r in found]
    return rows


def _plain(row: SQLModel) -> dict[str, Any]:
    return {k: _json_value(v) for k, v in row.model_dump().items()}


def _json_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.hex()
    return value


def _maybe_json(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text
