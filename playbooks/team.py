"""Team messages (slack_alert and escalate steps): once per (incident, step), no approval.

The claim is an outbox row (``deliveries``) with the key ``INCIDENT:team:STEP`` and status
``claimed``, so a replayed incident event or a second worker never posts it twice. When Slack
cannot be reached (or asks us to slow down) the row becomes ``retrying`` and the step is tried
again with the playbook steps' back-off; the next attempt takes the claim over. A refusal (an
unknown channel, a revoked token) is final: ``dead``, with the reason in the audit log.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, update
from sqlmodel import Session, select

from monitor import audit
from monitor.incidents.acknowledge import ack_block
from monitor.incidents.alerts import AlertMessage, slack_escape
from monitor.incidents.notifiers import Notifier, NotifierError
from monitor.incidents.service import IncidentDetail
from monitor.storage.db import insert_for, session_scope
from playbooks.models import Delivery
from playbooks.render import render_text
from playbooks.schema import EscalateStep, Playbook, SlackAlert
from playbooks.service import incident_context

log = logging.getLogger(__name__)


class TeamMessageRetry(RuntimeError):
    """Slack could not take the message now; the step is tried again later."""


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
    if inserted is not None:
        return True
    # An earlier attempt could not reach Slack: this one takes the claim over (only one does).
    retaken = session.execute(
        update(table)
        .where(table.c.idempotency_key == key, table.c.status == "retrying")
        .values(status="claimed", next_attempt_at=now)
        .returning(table.c.id)
    ).first()
    return retaken is not None


def record_team_alert(
    engine: Engine,
    *,
    key: str,
    via: str,
    error: str | None,
    now: datetime,
    transient: bool = False,
) -> None:
    """Mark the claimed alert sent, retrying (Slack unreachable: tried again later) or dead
    with the error (refused: final)."""
    with session_scope(engine) as session:
        delivery = session.exec(select(Delivery).where(Delivery.idempotency_key == key)).first()
        if delivery is None:
            return
        delivery.attempts += 1
        status = "sent" if error is None else "retrying" if transient else "dead"
        _settle(session, delivery, status=status, error=error, now=now, detail={"via": via})


def give_up(session: Session, *, key: str, error: str, now: datetime) -> None:
    """The step ran out of attempts: a message still waiting to be retried is dead."""
    delivery = session.exec(
        select(Delivery).where(Delivery.idempotency_key == key, Delivery.status == "retrying")
    ).first()
    if delivery is not None:
        detail = {"gave_up": True}
        _settle(session, delivery, status="dead", error=error[:2000], now=now, detail=detail)


def _settle(
    session: Session,
    delivery: Delivery,
    *,
    status: str,
    error: str | None,
    now: datetime,
    detail: dict[str, Any],
) -> None:
    """Write a team message's outcome; a final one (sent or dead) goes to the audit log."""
    delivery.status, delivery.last_error = status, error
    delivery.sent_at = now if status == "sent" else None
    session.add(delivery)
    if status != "retrying":
        audit.append(
            session,
            actor="engine",
            action="send" if status == "sent" else "dead-letter",
            subject=f"delivery:{delivery.idempotency_key}",
            detail={"channel": "team", **detail, "error": error},
            now=now,
        )


def alert_message(detail: IncidentDetail, playbook: Playbook, step: SlackAlert) -> AlertMessage:
    """A slack_alert step's message, rendered for the incident."""
    return AlertMessage(text=render_text(step.text, team_context(detail, playbook)))


def escalation_message(
    detail: IncidentDetail, playbook: Playbook, step: EscalateStep
) -> AlertMessage:
    """An escalation: the text, the user group mentioned, and the Acknowledge button."""
    incident_id = detail.incident.id
    assert incident_id is not None
    text = render_text(step.text, team_context(detail, playbook))
    plain = f"{text}\nAcknowledge: crisismon incidents ack {incident_id} --who NAME"
    slack_text = slack_escape(text)
    if step.mention_group:
        plain = f"(paging Slack user group {step.mention_group})\n{plain}"
        slack_text = f"<!subteam^{step.mention_group}> {slack_text}"
    return AlertMessage(
        text=plain,
        slack_text=slack_text,
        blocks=[
            {"type": "section", "text": {"type": "mrkdwn", "text": slack_text}},
            ack_block(incident_id),
        ],
    )


async def post_once(
    engine: Engine, *, key: str, message: AlertMessage, notifier: Notifier, now: datetime
) -> bool:
    """Post a team message once per key; True when posted. A refused post is recorded (dead);
    one that could not reach Slack is recorded (retrying) and raises `TeamMessageRetry`."""
    if not await asyncio.to_thread(_claim, engine, key, now):
        return False
    error, transient = None, False
    try:
        await notifier.post_alert(message)
    except NotifierError as exc:
        error, transient = str(exc), exc.transient
        log.error("team message %s not delivered: %s", key, exc)
    await asyncio.to_thread(
        record_team_alert,
        engine,
        key=key,
        via=notifier.name,
        error=error,
        now=now,
        transient=transient,
    )
    if transient:
        raise TeamMessageRetry(str(error))
    return error is None


def _claim(engine: Engine, key: str, now: datetime) -> bool:
    with session_scope(engine) as session:
        return claim(session, key=key, now=now)
