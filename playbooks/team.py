"""Team messages (slack_alert and escalate steps): once per (incident, step), no approval.

The claim is an outbox row (``deliveries``) with the key ``INCIDENT:team:STEP`` and status
``claimed``, so a replayed incident event or a second worker never posts it twice.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session, select

from monitor.incidents.service import IncidentDetail
from monitor.storage.db import insert_for, session_scope
from playbooks import audit
from playbooks.models import Delivery
from playbooks.schema import Playbook
from playbooks.service import incident_context


def team_key(incident_id: int, step_id: str) -> str:
    return f"{incident_id}:team:{step_id}"


def team_context(detail: IncidentDetail, playbook: Playbook) -> dict[str, Any]:
    """What team messages (Slack alerts, escalations) are rendered with."""
    return {
        "incident": incident_context(detail.incident),
        "vars": playbook.vars,
        "examples": [m.text for m in detail.examples[:3]],
    }


def claim(session: Session, *, key: str, now: datetime) -> bool:
    """Take the right to post one team message; False if it was taken before."""
    table = Delivery.__table__  # type: ignore[attr-defined]
    inserted = session.execute(
        insert_for(session, table)
        .values(
            idempotency_key=key,
            draft_id=0,
            customer_id=0,
            channel="team",
            status="claimed",
            attempts=0,
            next_attempt_at=now,
            created_at=now,
        )
        .on_conflict_do_nothing(index_elements=["idempotency_key"])
        .returning(table.c.id)
    ).first()
    return inserted is not None


def record_team_alert(
    engine: Engine, *, key: str, via: str, error: str | None, now: datetime
) -> None:
    """Mark the claimed alert sent, or dead with the error (it is not retried)."""
    with session_scope(engine) as session:
        delivery = session.exec(select(Delivery).where(Delivery.idempotency_key == key)).first()
        if delivery is None:
            return
        delivery.attempts += 1
        delivery.status = "dead" if error else "sent"
        delivery.last_error = error
        delivery.sent_at = None if error else now
        session.add(delivery)
        audit.append(
            session,
            actor="engine",
            action="dead-letter" if error else "send",
            subject=f"delivery:{key}",
            detail={"channel": "team", "via": via, "error": error},
            now=now,
        )
