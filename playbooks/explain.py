"""Why did I get this? The chain behind one delivery, from the incident to the consent.

`crisismon deliveries explain ID` prints it; ``GET /api/deliveries/ID/explain`` returns it as
JSON. Each link says where it comes from: the incident and the playbook step from the draft,
the segment rule from ``segments.yaml`` evaluated on the customer as they are now, the approval
from the draft (or the standing pre-approval of its template), the consent from the history.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session, col, select

from monitor.storage.models import Incident
from playbooks.consent_history import describe, in_force
from playbooks.models import Customer, Delivery, Draft, TemplateApproval
from playbooks.service import STATUS_CHANNEL, DraftError, Setup
from streams.cleaning import parse_id

# What an idempotency key is made of: ids, step slugs and colons.
KEY = re.compile(r"[A-Za-z0-9_.:-]{1,200}")


class UnknownDelivery(LookupError):
    """No delivery has this id; one line."""


def find_delivery(engine: Engine, reference: str) -> int:
    """A delivery's id from the id itself or its idempotency key (``incident:customer:step``,
    as the audit log and the receiving channel see it); `UnknownDelivery` when neither."""
    number = parse_id(reference)
    with Session(engine) as session:
        if number is not None and session.get(Delivery, number) is not None:
            return number
        found = None
        if KEY.fullmatch(reference):  # anything else is no key, and may not even be storable
            found = session.exec(
                select(Delivery.id).where(Delivery.idempotency_key == reference)
            ).first()
    if found is None:
        raise UnknownDelivery(f"no delivery with id {reference}")
    return int(found)


def deliveries_of(engine: Engine, *, customer_id: int) -> list[dict[str, Any]]:
    """One customer's messages, newest first: what to explain when they ask."""
    with Session(engine) as session:
        rows = session.exec(
            select(Delivery, Draft)
            .join(Draft, col(Draft.id) == col(Delivery.draft_id), isouter=True)
            .where(Delivery.customer_id == customer_id)
            .order_by(col(Delivery.created_at).desc(), col(Delivery.id).desc())
        ).all()
    return [
        {
            "id": delivery.id,
            "created_at": _iso(delivery.created_at),
            "channel": delivery.channel,
            "status": delivery.status,
            "reason": delivery.reason,
            "incident": draft.incident_id if draft else None,
            "step": f"{draft.playbook}/{draft.step_id}" if draft else None,
        }
        for delivery, draft in rows
    ]


def explain(engine: Engine, *, setup: Setup, delivery_id: int, now: datetime) -> dict[str, Any]:
    """The chain for one delivery as plain JSON-ready data; `UnknownDelivery` if there is none."""
    with Session(engine) as session:
        delivery = session.get(Delivery, delivery_id)
        if delivery is None:
            raise UnknownDelivery(f"no delivery with id {delivery_id}")
        draft = session.get(Draft, delivery.draft_id)
        customer = session.get(Customer, delivery.customer_id)
        incident = session.get(Incident, draft.incident_id) if draft else None
        chain: dict[str, Any] = {
            "delivery": {
                "id": delivery.id,
                "channel": delivery.channel,
                "status": delivery.status,
                "reason": delivery.reason,
                "created_at": _iso(delivery.created_at),
                "sent_at": _iso(delivery.sent_at),
            },
            "customer": (
                {"id": customer.id, "external_id": customer.external_id} if customer else None
            ),
            "incident": _incident(incident),
            "step": _step(setup, draft),
            "segment": _segment(setup, draft, customer, now=now),
            "approval": _approval(session, draft),
            "consent": _consent(session, delivery, customer, now=now),
        }
    return chain


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _incident(incident: Incident | None) -> dict[str, Any] | None:
    if incident is None:
        return None
    return {
        "id": incident.id,
        "title": incident.title,
        "severity": incident.severity,
        "status": incident.status,
        "opened_at": _iso(incident.opened_at),
    }


def _step(setup: Setup, draft: Draft | None) -> dict[str, Any] | None:
    if draft is None:
        return None
    step: dict[str, Any] = {
        "draft_id": draft.id,
        "playbook": draft.playbook,
        "step": draft.step_id,
        "channel": draft.channel,
        "segment": draft.segment,
        "locale": draft.locale,
    }
    try:
        configured = setup.playbook(draft.playbook).step(draft.step_id)
    except (DraftError, KeyError):
        step["configured"] = "no longer in the playbooks"
        return step
    step["kind"] = configured.kind
    step["trigger"] = configured.trigger
    step["pre_approved"] = configured.pre_approved
    return step


def _segment(
    setup: Setup, draft: Draft | None, customer: Customer | None, *, now: datetime
) -> dict[str, Any] | None:
    """The rule of the draft's segment, and what in it the customer matches now."""
    if draft is None or customer is None or draft.channel == STATUS_CHANNEL:
        return None
    segment = setup.segments.config.segments.get(draft.segment)
    if segment is None:
        return {"name": draft.segment, "rule": None, "note": "no longer in segments.yaml"}
    stage = setup.segments.lifecycle(customer, now=now)
    rule = segment.model_dump(exclude_none=True, exclude={"description", "any_of"})
    found: dict[str, Any] = {
        "name": draft.segment,
        "description": segment.description,
        "rule": rule,
        "customer_lifecycle_now": stage,
        "matches_now": segment.matches(customer, stage),
    }
    if segment.any_of is not None:
        matched = [i for i, r in enumerate(segment.any_of) if r.holds(customer, stage)]
        found["any_of"] = [r.model_dump(exclude_none=True) for r in segment.any_of]
        found["any_of_matched"] = matched
    return found


def _approval(session: Session, draft: Draft | None) -> dict[str, Any] | None:
    if draft is None:
        return None
    approval: dict[str, Any] = {
        "by": draft.decided_by,
        "at": _iso(draft.decided_at),
        "content_hash": draft.approved_hash,
        "status": draft.status,
    }
    standing = session.get(
        TemplateApproval, (draft.playbook, draft.step_id, draft.segment, draft.locale)
    )
    if standing is not None and standing.content_hash == draft.approved_hash:
        approval["standing_approval"] = {
            "by": standing.approved_by,
            "at": _iso(standing.approved_at),
            "content_hash": standing.content_hash,
        }
    return approval


def _consent(
    session: Session, delivery: Delivery, customer: Customer | None, *, now: datetime
) -> dict[str, Any] | None:
    """The grant in force when it was sent (or now, for a message not sent)."""
    if customer is None or customer.id is None or delivery.channel == STATUS_CHANNEL:
        return None
    if delivery.channel == "console":
        return {"needed": False, "note": "console messages need no consent"}
    at = delivery.sent_at or now
    grant = in_force(session, customer_id=customer.id, channel=delivery.channel, at=at)
    if grant is None:
        return {"needed": True, "granted": None, "note": "no consent in force"}
    return {
        "needed": True,
        "granted": {
            "at": _iso(grant.effective_at),
            "how": grant.how,
            "who": grant.who,
            "method": grant.method,
            "recorded_at": _iso(grant.recorded_at),
        },
        "line": describe(grant),
    }


def lines(chain: dict[str, Any]) -> list[str]:
    """The chain as text, one link per line, for the CLI."""
    d = chain["delivery"]
    out = [f"delivery {d['id']}: {d['channel']}, {d['status']}"]
    if d["reason"]:
        out[-1] += f" ({d['reason']})"
    out[-1] += f", sent {d['sent_at']}" if d["sent_at"] else f", created {d['created_at']}"
    if chain["customer"]:
        c = chain["customer"]
        out.append(f"customer: {c['external_id']} (id {c['id']})")
    if (i := chain["incident"]) is not None:
        out.append(
            f"incident {i['id']}: {i['title']} ({i['severity']}, {i['status']}, "
            f"opened {i['opened_at']})"
        )
    if (s := chain["step"]) is not None:
        where = f", trigger {s['trigger']}" if "trigger" in s else f" ({s.get('configured')})"
        out.append(
            f"playbook step: {s['playbook']} / {s['step']}{where}; draft {s['draft_id']} "
            f"for segment {s['segment']}, locale {s['locale']}"
        )
    if (g := chain["segment"]) is not None:
        rule = ", ".join(f"{k}={v}" for k, v in (g.get("rule") or {}).items())
        if not rule and g.get("any_of") is None:
            rule = "no rule (everyone)"
        now = "matches" if g.get("matches_now") else "no longer matches"
        about = f" ({g['description']})" if g.get("description") else ""
        out.append(
            f"segment {g['name']}{about}: {rule + '; ' if rule else ''}the customer {now} now "
            f"(lifecycle {g.get('customer_lifecycle_now')})"
        )
        if g.get("any_of") is not None:
            out.append(f"  any_of {g['any_of']}: matched {g['any_of_matched']}")
    if (a := chain["approval"]) is not None:
        out.append(f"approval: {a['status']} by {a['by']} at {a['at']}, hash {a['content_hash']}")
        if (st := a.get("standing_approval")) is not None:
            out.append(f"  standing pre-approval by {st['by']} at {st['at']}")
    if (k := chain["consent"]) is not None:
        out.append(f"consent: {k.get('line') or k.get('note')}")
    return out
