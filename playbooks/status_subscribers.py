"""Email subscribers of the public status page, with double opt-in, through the outbox.

1. ``subscribe`` (POST /status/subscribe) keeps the address on a ``customers`` row of its own
   (external id ``status-subscriber:<hash of the address>``, left out of every playbook's
   audience) and queues one confirmation email in the outbox. It answers the same whether
   the address is new, waiting or already confirmed, so the form tells nobody who subscribed;
   a waiting address gets at most one confirmation an hour.
2. The confirmation carries a signed link that expires after 48 hours. ``confirm`` (GET
   /status/confirm?token=…) grants consent for the ``status_email`` channel and records it in
   the consent history (how ``subscribe``).
3. When a status page update is approved, ``subscriber_rows`` adds one outbox row per
   subscriber whose consent is in force. The sender (``subscriber_message``) applies the
   consent and the frequency cap and quiet hours of sending.yaml like for any customer message,
   and every email carries the usual signed unsubscribe link.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from datetime import datetime, timedelta
from html import escape
from typing import TYPE_CHECKING

from sqlalchemy import Engine, delete, exists, func
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from monitor import audit
from monitor.storage.db import insert_for, session_scope
from monitor.storage.models import Incident
from playbooks import consent_history
from playbooks.channels import OutgoingMessage
from playbooks.models import (
    SUBSCRIBER_PREFIX,
    Consent,
    Customer,
    Delivery,
    Draft,
    StatusSubscriber,
)
from playbooks.policy import decide
from playbooks.schema import StatusPageStep
from playbooks.status_page import LABEL
from streams.cleaning import parse_id

if TYPE_CHECKING:  # playbooks.service adds the subscribers' outbox rows: no import cycle
    from playbooks.service import Setup

SUBSCRIBER_CHANNEL = "status_email"
CONFIRM_VALID = timedelta(hours=48)
RESEND_AFTER = timedelta(hours=1)
CONFIRM_KEY = "status-confirm:"
MAX_ADDRESS = 254  # RFC 5321's longest path
_ADDRESS = re.compile(r"[^@\s<>\"',;:()\[\]\\]+@[^@\s<>\"',;:()\[\]\\]+\.[^@\s<>\"',;:()\[\]\\]+")

Verdict = tuple[str, OutgoingMessage | None, str, datetime | None]


class BadAddress(ValueError):
    """Not an email address; one line."""


class BadToken(ValueError):
    """A confirmation link that is forged, damaged or expired; one line."""


def normal_address(raw: str) -> str:
    """The address, trimmed, its domain in lower case; `BadAddress` when it is not one.

    >>> normal_address("  Ana@Example.COM ")
    'Ana@example.com'
    """
    address = raw.strip()
    printable = all(ord(c) > 32 and c != "\x7f" for c in address)
    if len(address) > MAX_ADDRESS or not printable or not _ADDRESS.fullmatch(address):
        raise BadAddress("give one email address, such as ana@example.com")
    local, _, domain = address.rpartition("@")
    return f"{local}@{domain.lower()}"


def external_id_of(address: str) -> str:
    digest = hashlib.sha256(address.lower().encode()).hexdigest()[:32]
    return f"{SUBSCRIBER_PREFIX}{digest}"


def confirm_token(secret: str, customer_id: int, requested_at: datetime) -> str:
    """``ID.SECONDS.MAC``: who, when the confirmation was asked for, and an HMAC of both."""
    seconds = int(requested_at.timestamp())
    message = f"status-confirm:{customer_id}:{seconds}".encode()
    mac = hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()[:32]
    return f"{customer_id}.{seconds}.{mac}"


def confirm_url(setup: Setup, customer_id: int, requested_at: datetime) -> str:
    token = confirm_token(setup.unsubscribe_secret, customer_id, requested_at)
    return f"{setup.public_url.rstrip('/')}/status/confirm?token={token}"


def subscribe(engine: Engine, *, address: str, now: datetime) -> bool:
    """Queue a confirmation for ``address`` (normalised already); True when one was queued.

    Nothing is queued for an address whose consent is in force, nor twice within an hour.
    """
    try:
        return _subscribe(engine, address=address, now=now)
    except IntegrityError:  # the same address twice at the same moment: the other one queued
        return False


def _subscribe(engine: Engine, *, address: str, now: datetime) -> bool:
    with session_scope(engine) as session:
        customer_id = _customer_for(session, address, now)
        consent = session.get(Consent, (customer_id, SUBSCRIBER_CHANNEL))
        if consent is not None and consent.revoked_at is None:
            return False
        row = session.get(StatusSubscriber, customer_id)
        if row is not None and row.requested_at > now - RESEND_AFTER:
            return False
        row = row or StatusSubscriber(customer_id=customer_id, requested_at=now)
        row.requested_at, row.confirmed_at = now, None
        session.add(row)
        session.add(
            Delivery(
                idempotency_key=f"{CONFIRM_KEY}{customer_id}:{int(now.timestamp())}",
                draft_id=0,
                customer_id=customer_id,
                channel=SUBSCRIBER_CHANNEL,
                next_attempt_at=now,
                created_at=now,
            )
        )
        return True


def _customer_for(session: Session, address: str, now: datetime) -> int:
    table = Customer.__table__  # type: ignore[attr-defined]
    external_id = external_id_of(address)
    session.execute(
        insert_for(session, table)
        .values(
            external_id=external_id,
            email=address,
            locale="en",
            timezone="UTC",
            tags=" status-subscriber ",
            lifetime_value=0.0,
            updated_at=now,
        )
        .on_conflict_do_nothing(index_elements=["external_id"])
    )
    found = session.exec(select(Customer.id).where(Customer.external_id == external_id)).one()
    return int(found or 0)


def confirm(engine: Engine, *, token: str, secret: str, now: datetime) -> bool:
    """Grant consent from a confirmation link; True when it was not in force before.

    `BadToken` for a forged or damaged link, or one older than 48 hours.
    """
    parts = token.strip().split(".")
    customer_id = parse_id(parts[0]) if len(parts) == 3 else None
    seconds = parse_id(parts[1]) if len(parts) == 3 else None
    if customer_id is None or seconds is None:
        raise BadToken("this confirmation link is damaged: copy the whole link from the email")
    requested_at = datetime.fromtimestamp(seconds, tz=now.tzinfo)
    expected = confirm_token(secret, customer_id, requested_at)
    if not hmac.compare_digest(expected.encode(), token.strip().encode()):
        raise BadToken("this confirmation link is not valid: copy the whole link from the email")
    if now - requested_at > CONFIRM_VALID:
        raise BadToken("this confirmation link has expired: subscribe again on the status page")
    with session_scope(engine) as session:
        row = session.get(StatusSubscriber, customer_id)
        if row is None or session.get(Customer, customer_id) is None:
            raise BadToken("this subscription no longer exists: subscribe again")
        consent = session.get(Consent, (customer_id, SUBSCRIBER_CHANNEL))
        if consent is not None and consent.revoked_at is None:
            return False
        if row.confirmed_at is not None:  # a link opens a subscription once, never after an
            raise BadToken(  # unsubscribe: that would take back what the person chose
                "this link was already used, and the subscription was cancelled since: "
                "subscribe again on the status page"
            )
        method = "double opt-in: confirmed the link emailed by the status page"
        consent = consent or Consent(
            customer_id=customer_id, channel=SUBSCRIBER_CHANNEL, granted_at=now, method=method
        )
        consent.granted_at, consent.method, consent.revoked_at = now, method, None
        row.confirmed_at = now
        session.add_all([consent, row])
        consent_history.record(
            session,
            customer_id=customer_id,
            channel=SUBSCRIBER_CHANNEL,
            change="granted",
            how="subscribe",
            who=f"customer:{customer_id} (status page confirmation link)",
            effective_at=now,
            recorded_at=now,
            method=method,
        )
        audit.append(
            session,
            actor=f"customer:{customer_id}",
            action="opt-in",
            subject=f"customer:{customer_id}",
            detail={"channel": SUBSCRIBER_CHANNEL, "how": "subscribe"},
            now=now,
        )
        return True


def forget_unconfirmed(engine: Engine, *, now: datetime) -> int:
    """Delete the addresses whose confirmation link expired unused: their customers row,
    subscriber row and outbox rows. An address that was ever confirmed stays (its consent
    history is the proof of what was allowed). Returns how many were forgotten."""
    customers = Customer.__table__  # type: ignore[attr-defined]
    subscribers = StatusSubscriber.__table__  # type: ignore[attr-defined]
    deliveries = Delivery.__table__  # type: ignore[attr-defined]
    consents = Consent.__table__  # type: ignore[attr-defined]
    with session_scope(engine) as session:
        ids = list(
            session.execute(
                select(subscribers.c.customer_id)
                .where(
                    subscribers.c.confirmed_at.is_(None),
                    subscribers.c.requested_at < now - CONFIRM_VALID,
                    ~exists().where(consents.c.customer_id == subscribers.c.customer_id),
                )
                .limit(1000)
            ).scalars()
        )
        if not ids:
            return 0
        session.execute(
            delete(deliveries).where(
                deliveries.c.customer_id.in_(ids), deliveries.c.channel == SUBSCRIBER_CHANNEL
            )
        )
        session.execute(delete(subscribers).where(subscribers.c.customer_id.in_(ids)))
        session.execute(
            delete(customers).where(
                customers.c.id.in_(ids), customers.c.external_id.like(f"{SUBSCRIBER_PREFIX}%")
            )
        )
    return len(ids)


def subscriber_rows(session: Session, *, draft: Draft) -> list[tuple[str, int, str]]:
    """(idempotency key, customer id, channel) for each subscriber whose consent is in force."""
    ids = session.exec(
        select(StatusSubscriber.customer_id)
        .join(Consent, col(Consent.customer_id) == col(StatusSubscriber.customer_id))
        .where(Consent.channel == SUBSCRIBER_CHANNEL, col(Consent.revoked_at).is_(None))
        .order_by(col(StatusSubscriber.customer_id))
    ).all()
    return [
        (
            f"{draft.incident_id}:status:{draft.step_id}:subscriber:{cid}",
            int(cid),
            SUBSCRIBER_CHANNEL,
        )
        for cid in ids
    ]


def subscriber_message(
    session: Session, *, setup: Setup, delivery: Delivery, now: datetime
) -> Verdict:
    """The sender's verdict and message for one ``status_email`` outbox row."""
    customer = session.get(Customer, delivery.customer_id)
    subscriber = session.get(StatusSubscriber, delivery.customer_id)
    if customer is None or subscriber is None or not customer.email:
        return "suppress", None, "subscriber or address no longer exists", None
    unsubscribe = setup.unsubscribe_url(delivery.customer_id, SUBSCRIBER_CHANNEL)
    consent = session.get(Consent, (customer.id, SUBSCRIBER_CHANNEL))
    if delivery.idempotency_key.startswith(CONFIRM_KEY):
        if consent is not None and consent.revoked_at is None:
            return "suppress", None, "already confirmed", None
        link = confirm_url(setup, delivery.customer_id, subscriber.requested_at)
        return "send", _confirmation(setup, delivery, customer.email, link, unsubscribe), "", None
    draft = session.get(Draft, delivery.draft_id)
    if draft is None or draft.status != "approved" or draft.approved_hash != draft.content_hash:
        return "hold", None, "draft not approved as it is now", None
    verdict = decide(
        consent_granted=consent is not None,
        consent_revoked=consent is not None and consent.revoked_at is not None,
        sent_recently=_sent_recently(session, setup, delivery.customer_id, now),
        critical=draft.critical,
        timezone=customer.timezone,
        now=now,
        config=setup.sending,
        channel=SUBSCRIBER_CHANNEL,
    )
    if verdict.kind != "send":
        return verdict.kind, None, verdict.reason, verdict.until
    from playbooks.service import render_status

    incident = session.get(Incident, draft.incident_id)
    step = setup.playbook(draft.playbook).step(draft.step_id)
    if incident is None or not isinstance(step, StatusPageStep):
        return "suppress", None, "incident or status page step no longer exists", None
    rendered = render_status(setup, draft=draft, incident=incident)
    state = LABEL.get(step.status, step.status)
    page = f"{setup.public_url.rstrip('/')}/status"
    text = (
        f"{step.component}: {state}\n\n{rendered.text}\n\nStatus page: {page}\n\n"
        f"You get this because you subscribed on the status page. Unsubscribe: {unsubscribe}"
    )
    html = (
        f"<p><strong>{escape(step.component)}: {escape(state)}</strong></p>"
        f"<p>{escape(rendered.text)}</p>"
        f'<p><a href="{escape(page)}">Status page</a></p>'
        f'<p>You get this because you subscribed on the status page. <a href="'
        f'{escape(unsubscribe)}">Unsubscribe</a></p>'
    )
    message = OutgoingMessage(
        idempotency_key=delivery.idempotency_key,
        to=customer.email,
        subject=f"[{setup.status_page_title}] {state}: {rendered.subject}",
        text=text,
        html=html,
        unsubscribe_url=unsubscribe,
    )
    return "send", message, "", None


def _sent_recently(session: Session, setup: Setup, customer_id: int, now: datetime) -> int:
    """Messages sent to the subscriber within the cap's window; the confirmation is not one."""
    window = now - timedelta(hours=setup.sending.frequency_cap.per_hours)
    count = session.execute(
        select(func.count())
        .select_from(Delivery)
        .where(
            Delivery.customer_id == customer_id,
            Delivery.status == "sent",
            col(Delivery.sent_at) >= window,
            col(Delivery.idempotency_key).not_like(f"{CONFIRM_KEY}%"),
        )
    ).scalar_one()
    return int(count)


def _confirmation(
    setup: Setup, delivery: Delivery, address: str, link: str, unsubscribe: str
) -> OutgoingMessage:
    title = setup.status_page_title
    text = (
        f"Someone, probably you, asked for {title} updates by email at this address.\n\n"
        f"Confirm within 48 hours: {link}\n\n"
        "If it was not you, ignore this email: nothing will be sent without the confirmation."
    )
    html = (
        f"<p>Someone, probably you, asked for {escape(title)} updates by email at this "
        f'address.</p><p><a href="{escape(link)}">Confirm the subscription</a> within 48 hours.'
        "</p><p>If it was not you, ignore this email: nothing will be sent without the "
        "confirmation.</p>"
    )
    return OutgoingMessage(
        idempotency_key=delivery.idempotency_key,
        to=address,
        subject=f"Confirm your subscription to {title}",
        text=text,
        html=html,
        unsubscribe_url=unsubscribe,
    )
