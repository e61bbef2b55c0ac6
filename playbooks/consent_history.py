"""The consent history: every grant and withdrawal, who made it, how, for which channel.

``customer_consents`` holds what is in force now and the sender reads it before every message;
``consent_changes`` is append-only and says how it came to be. Every path that changes consent
writes both in one transaction: an import or the API (`playbooks.customers.upsert`), the
unsubscribe link, an SMS STOP reply and an admin (`playbooks.customers.revoke` and `grant`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlalchemy import Engine
from sqlmodel import Session, col, select

from playbooks.models import ConsentChange, Customer
from streams.cleaning import parse_id

# subscribe: confirmed through the link the status page's subscription form sent
How = Literal["import", "api", "unsubscribe", "stop", "admin", "subscribe"]
HOW: tuple[How, ...] = ("import", "api", "unsubscribe", "stop", "admin", "subscribe")


class UnknownCustomer(LookupError):
    """No customer has this id; one line."""


def record(
    session: Session,
    *,
    customer_id: int,
    channel: str,
    change: Literal["granted", "withdrawn"],
    how: How,
    who: str,
    effective_at: datetime,
    recorded_at: datetime,
    method: str | None = None,
) -> None:
    """Append one change in the caller's transaction (the one that changes the consent)."""
    session.add(
        ConsentChange(
            customer_id=customer_id,
            channel=channel,
            change=change,
            how=how,
            who=who[:200],
            effective_at=effective_at,
            method=method[:200] if method else None,
            recorded_at=recorded_at,
        )
    )


@dataclass(frozen=True)
class History:
    customer_id: int
    external_id: str
    changes: list[ConsentChange]


def resolve_customer(engine: Engine, reference: str) -> int:
    """A customer's id from their external id, or from the id itself; `UnknownCustomer`."""
    with Session(engine) as session:
        by_external = session.exec(
            select(Customer.id).where(Customer.external_id == reference)
        ).first()
        if by_external is not None:
            return int(by_external)
        number = parse_id(reference)
        if number is not None and session.get(Customer, number) is not None:
            return number
    raise UnknownCustomer(f"no customer with id or external id {reference!r}")


def history(engine: Engine, *, customer_id: int) -> History:
    """Every change of one customer's consent, oldest first; `UnknownCustomer` if none."""
    with Session(engine) as session:
        customer = session.get(Customer, customer_id)
        if customer is None:
            raise UnknownCustomer(f"no customer with id {customer_id}")
        changes = list(
            session.exec(
                select(ConsentChange)
                .where(ConsentChange.customer_id == customer_id)
                .order_by(col(ConsentChange.effective_at), col(ConsentChange.id))
            ).all()
        )
    return History(customer_id, customer.external_id, changes)


def in_force(
    session: Session, *, customer_id: int, channel: str, at: datetime
) -> ConsentChange | None:
    """The grant that allowed a message on ``channel`` at ``at``: the last change recorded by
    then, when it is a grant; None when there was none or it had been withdrawn."""
    last = session.exec(
        select(ConsentChange)
        .where(
            ConsentChange.customer_id == customer_id,
            ConsentChange.channel == channel,
            col(ConsentChange.recorded_at) <= at,
        )
        .order_by(col(ConsentChange.recorded_at).desc(), col(ConsentChange.id).desc())
        .limit(1)
    ).first()
    return last if last is not None and last.change == "granted" else None


def describe(change: ConsentChange) -> str:
    """One line: ``2026-01-05 10:00 UTC email granted by import (import:cli:ana, signup form)``."""
    method = f", {change.method}" if change.method else ""
    return (
        f"{change.effective_at:%Y-%m-%d %H:%M} UTC {change.channel} {change.change} "
        f"by {change.how} ({change.who}{method}); recorded {change.recorded_at:%Y-%m-%d %H:%M} UTC"
    )
