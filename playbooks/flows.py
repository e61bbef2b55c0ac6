"""The outbox sender: check policy, render, send once per idempotency key, record the outcome.

A row is marked sent after the channel accepted it. A crash between the two sends the row again
on the next pass, with the same idempotency key, so a channel that honours keys (webhook
receivers, a gateway, the fake servers in the tests) drops the repeat.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import Engine, func, update
from sqlmodel import Session, col, select

from monitor import audit
from monitor.privacy import redact_text
from monitor.storage.db import session_scope
from monitor.storage.models import Incident
from playbooks.channels import Channel, ChannelError, OutgoingMessage
from playbooks.event_time import status_time
from playbooks.models import Consent, Customer, Delivery, Draft
from playbooks.policy import backoff, decide
from playbooks.render import TemplateError, render_copy
from playbooks.schema import StatusPageStep
from playbooks.service import (
    STATUS_CHANNEL,
    DraftError,
    Setup,
    address_of,
    context_for,
    render_status,
)
from playbooks.status_subscribers import SUBSCRIBER_CHANNEL, subscriber_message

log = logging.getLogger(__name__)
# How long a row whose draft lost its approval waits before it is looked at again.
HOLD = timedelta(minutes=10)


@dataclass
class PassReport:
    sent: list[str] = field(default_factory=list)
    suppressed: list[str] = field(default_factory=list)
    deferred: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    dead: list[str] = field(default_factory=list)


def due(engine: Engine, *, now: datetime, limit: int = 200) -> list[int]:
    """Outbox rows whose time has come, oldest first."""
    with Session(engine) as session:
        rows = session.exec(
            select(Delivery.id)
            .where(Delivery.status == "pending", col(Delivery.next_attempt_at) <= now)
            .order_by(col(Delivery.next_attempt_at), col(Delivery.id))
            .limit(limit)
        ).all()
    return [int(r) for r in rows if r is not None]


async def deliver_due(
    engine: Engine, *, setup: Setup, channels: dict[str, Channel], now: datetime
) -> PassReport:
    """One pass over the outbox."""
    report = PassReport()
    for delivery_id in await asyncio.to_thread(due, engine, now=now):
        await deliver_one(
            engine, setup=setup, channels=channels, delivery_id=delivery_id, now=now, report=report
        )
    return report


def _prepare(
    session: Session, *, setup: Setup, delivery: Delivery, now: datetime
) -> tuple[str, OutgoingMessage | None, str, datetime | None]:
    """(verdict, message, reason, defer-until) for one row, read in one transaction."""
    if delivery.channel == SUBSCRIBER_CHANNEL:  # status page subscribers: confirmations too
        return subscriber_message(session, setup=setup, delivery=delivery, now=now)
    draft = session.get(Draft, delivery.draft_id)
    if draft is None or draft.status != "approved" or draft.approved_hash != draft.content_hash:
        return "hold", None, "draft not approved as it is now", None
    if delivery.channel == STATUS_CHANNEL:
        return _status_message(session, setup=setup, delivery=delivery, draft=draft)
    customer = session.get(Customer, delivery.customer_id)
    incident = session.get(Incident, draft.incident_id)
    address = address_of(customer, delivery.channel) if customer else None
    if customer is None or incident is None or address is None:
        return "suppress", None, "customer or address no longer exists", None
    consent = session.get(Consent, (customer.id, delivery.channel))
    window = now - timedelta(hours=setup.sending.frequency_cap.per_hours)
    sent_recently = session.execute(
        select(func.count())
        .select_from(Delivery)
        .where(
            Delivery.customer_id == customer.id,
            Delivery.status == "sent",
            col(Delivery.sent_at) >= window,
        )
    ).scalar_one()
    verdict = decide(
        consent_granted=consent is not None or delivery.channel == "console",
        consent_revoked=consent is not None and consent.revoked_at is not None,
        sent_recently=int(sent_recently),
        critical=draft.critical,
        timezone=customer.timezone,
        now=now,
        config=setup.sending,
        channel=delivery.channel,
    )
    if verdict.kind != "send":
        return verdict.kind, None, verdict.reason, verdict.until
    context = context_for(setup, customer=customer, draft=draft, incident=incident, now=now)
    rendered = render_copy(
        subject=draft.subject, text=draft.body_text, html=draft.body_html, context=context
    )
    message = OutgoingMessage(
        idempotency_key=delivery.idempotency_key,
        to=address,
        subject=rendered.subject,
        text=rendered.text,
        html=rendered.html,
        unsubscribe_url=str(context["unsubscribe_url"]),
    )
    return "send", message, "", None


def _status_message(
    session: Session, *, setup: Setup, delivery: Delivery, draft: Draft
) -> tuple[str, OutgoingMessage | None, str, datetime | None]:
    """A status page update: no customer, so no consent, cap or quiet hours."""
    incident = session.get(Incident, draft.incident_id)
    step = setup.playbook(draft.playbook).step(draft.step_id)
    if incident is None or not isinstance(step, StatusPageStep):
        return "suppress", None, "incident or status page step no longer exists", None
    rendered = render_status(setup, draft=draft, incident=incident)
    message = OutgoingMessage(
        idempotency_key=delivery.idempotency_key,
        to=step.component,
        subject=rendered.subject,
        text=rendered.text,
        html="",
        unsubscribe_url="",
        incident_id=draft.incident_id,
        status=step.status,
        posted_at=status_time(incident, trigger=step.trigger, live_horizon=setup.live_horizon),
    )
    return "send", message, "", None


async def deliver_one(
    engine: Engine,
    *,
    setup: Setup,
    channels: dict[str, Channel],
    delivery_id: int,
    now: datetime,
    report: PassReport,
) -> None:
    """Check, send and record one outbox row; SQL runs in a thread, off the event loop."""
    try:
        checked = await asyncio.to_thread(
            _check, engine, setup=setup, delivery_id=delivery_id, now=now, report=report
        )
    except (TemplateError, DraftError, LookupError, ValueError) as exc:  # KeyError: a step gone
        # A row that cannot even be prepared would block every pass: dead-letter it.
        error = ChannelError(f"cannot prepare the message: {exc}", permanent=True)
        await asyncio.to_thread(
            _failed,
            engine,
            setup=setup,
            delivery_id=delivery_id,
            error=error,
            now=now,
            report=report,
        )
        return
    if checked is None:
        return
    channel_name, message = checked
    channel = channels[channel_name]
    try:
        ref = await channel.send(message)
    except ChannelError as exc:
        await asyncio.to_thread(
            _failed,
            engine,
            setup=setup,
            delivery_id=delivery_id,
            error=exc,
            now=now,
            report=report,
        )
        return
    if await asyncio.to_thread(
        _mark_sent, engine, delivery_id=delivery_id, via=channel.name, ref=ref, now=now
    ):
        report.sent.append(message.idempotency_key)


def _check(
    engine: Engine, *, setup: Setup, delivery_id: int, now: datetime, report: PassReport
) -> tuple[str, OutgoingMessage] | None:
    """(channel, message) to send now; or None, with a suppression or delay recorded."""
    with session_scope(engine) as session:
        delivery = session.get(Delivery, delivery_id)
        if delivery is None or delivery.status != "pending":
            return None
        verdict, message, reason, until = _prepare(session, setup=setup, delivery=delivery, now=now)
        key = delivery.idempotency_key
        if verdict == "suppress":
            delivery.status, delivery.reason = "suppressed", reason
            session.add(delivery)
            audit.append(
                session,
                actor="sender",
                action="suppress",
                subject=f"delivery:{key}",
                detail={"reason": reason, "channel": delivery.channel},
                now=now,
            )
            report.suppressed.append(key)
        elif verdict == "defer":
            assert until is not None
            delivery.next_attempt_at, delivery.reason = until, reason
            session.add(delivery)
            report.deferred.append(key)
        elif verdict == "hold":
            # Edited after approval: wait for the new approval, which sets the time again.
            delivery.next_attempt_at = now + HOLD
            session.add(delivery)
        if verdict != "send" or message is None:
            return None
        return delivery.channel, message


def _mark_sent(engine: Engine, *, delivery_id: int, via: str, ref: str, now: datetime) -> bool:
    """Record the send, unless the row stopped being pending while it was in flight (an
    erasure cancelled it): then the row is left as it is; False."""
    with session_scope(engine) as session:
        row = session.get(Delivery, delivery_id)
        assert row is not None
        if not _still_pending(
            session,
            delivery_id,
            status="sent",
            sent_at=now,
            attempts=row.attempts + 1,
            reason=None,
        ):
            # An erasure cancelled it meanwhile: the row says what the erasure made it.
            log.warning("delivery %s was sent, but it was no longer pending", row.idempotency_key)
            return False
        audit.append(
            session,
            actor="sender",
            action="send",
            subject=f"delivery:{row.idempotency_key}",
            detail={"channel": row.channel, "via": via, "ref": ref},
            now=now,
        )
    return True


def _failed(
    engine: Engine,
    *,
    setup: Setup,
    delivery_id: int,
    error: ChannelError,
    now: datetime,
    report: PassReport,
) -> None:
    retries = setup.sending.retries
    # Redacted: an SMTP refusal quotes the address, and the audit log is forever (its hash
    # chain forbids erasing it later); the row keeps no more than the log does.
    message = redact_text(str(error)[:2000])
    with session_scope(engine) as session:
        row = session.get(Delivery, delivery_id)
        assert row is not None
        key, attempts = row.idempotency_key, row.attempts + 1
        dead = error.permanent or attempts >= retries.max_attempts
        outcome = (
            {"status": "dead"}
            if dead
            else {"next_attempt_at": now + timedelta(seconds=backoff(attempts, retries))}
        )
        if not _still_pending(
            session, delivery_id, attempts=attempts, last_error=message, **outcome
        ):
            return  # cancelled while in flight (an erasure): nothing of it is written back
        if dead:
            audit.append(
                session,
                actor="sender",
                action="dead-letter",
                subject=f"delivery:{key}",
                detail={"error": message, "attempts": attempts},
                now=now,
            )
            report.dead.append(key)
            log.error("delivery %s failed for good: %s", key, message)
        else:
            report.failed.append(key)
            log.warning("delivery %s failed (will retry): %s", key, message)


def _still_pending(session: Session, delivery_id: int, **values: object) -> bool:
    """Apply ``values`` to the row only if it is still pending (compare-and-set): the row was
    read as pending before the send, and an erasure may have cancelled it since."""
    table = Delivery.__table__  # type: ignore[attr-defined]
    done = session.execute(
        update(table).where(table.c.id == delivery_id, table.c.status == "pending").values(**values)
    )
    return bool(done.rowcount)  # type: ignore[attr-defined]


def channel_health(engine: Engine) -> dict[str, dict[str, int]]:
    """Outbox rows per channel and status: failures are visible per channel."""
    with Session(engine) as session:
        rows = session.execute(
            select(Delivery.channel, Delivery.status, func.count()).group_by(
                Delivery.channel, Delivery.status
            )
        ).all()
    health: dict[str, dict[str, int]] = {}
    for channel, status, count in rows:
        health.setdefault(channel, {})[status] = int(count)
    return health


def dead_letters(engine: Engine, *, limit: int) -> list[Delivery]:
    """The most recent messages that failed for good."""
    with Session(engine) as session:
        return list(
            session.exec(
                select(Delivery)
                .where(Delivery.status == "dead")
                .order_by(col(Delivery.id).desc())
                .limit(limit)
            ).all()
        )
